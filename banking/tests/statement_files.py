"""Small statement files written by hand for the import tests: fixed data, one
builder per format, so each test shows the few fields it is about."""

from pathlib import Path

# Real files from public parser test suites, copied unchanged with their
# licences (samples/LICENSES, samples/README.md says where each comes from).
SAMPLES = Path(__file__).resolve().parent / "samples"

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"


def sample(name):
    return (SAMPLES / name).read_bytes()


def camt_entry(
    amount,
    *,
    sign="CRDT",
    date="2025-10-15",
    reference="",
    end_to_end="",
    name="",
    text="",
    reversal=False,
    status="BOOK",
    details=None,
    date_tag="Dt",
    status_as_code=False,
):
    """Return one <Ntry>; ``details`` is a list of (amount, sign, end_to_end) for a batch."""
    status_xml = f"<Sts><Cd>{status}</Cd></Sts>" if status_as_code else f"<Sts>{status}</Sts>"
    if details is None:
        party = "Dbtr" if sign == "CRDT" else "Cdtr"
        detail_xml = (
            "<NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{end_to_end or 'NOTPROVIDED'}</EndToEndId></Refs>"
            f"<RltdPties><{party}><Nm>{name}</Nm></{party}></RltdPties>"
            f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls>"
        )
    else:
        detail_xml = f"<NtryDtls><Btch><NbOfTxs>{len(details)}</NbOfTxs></Btch>"
        for detail_amount, detail_sign, detail_e2e in details:
            amount_xml = f'<Amt Ccy="EUR">{detail_amount}</Amt>' if detail_amount is not None else ""
            detail_xml += (
                f"<TxDtls><Refs><EndToEndId>{detail_e2e}</EndToEndId></Refs>{amount_xml}"
                f"<CdtDbtInd>{detail_sign}</CdtDbtInd></TxDtls>"
            )
        detail_xml += "</NtryDtls>"
    reference_xml = f"<AcctSvcrRef>{reference}</AcctSvcrRef>" if reference else ""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<RvslInd>{'true' if reversal else 'false'}</RvslInd>{status_xml}"
        f"<BookgDt><{date_tag}>{date}{'T10:00:00' if date_tag == 'DtTm' else ''}</{date_tag}></BookgDt>"
        f"<ValDt><Dt>{date}</Dt></ValDt>{reference_xml}{detail_xml}</Ntry>"
    )


def camt_statement(
    entries, *, statement_id="STMT-1", iban="DE89370400440532013000", opening="1000.00", closing=None,
    opening_code="OPBD", container="Stmt",
):  # fmt: skip
    balances = ""
    if opening is not None:
        balances += _balance(opening_code, opening)
    if closing is not None:
        balances += _balance("CLBD", closing)
    return (
        f"<{container}><Id>{statement_id}</Id>"
        "<FrToDt><FrDtTm>2025-10-01T00:00:00</FrDtTm><ToDtTm>2025-10-31T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balances}{''.join(entries)}</{container}>"
    )


def _balance(code, amount):
    sign = "DBIT" if str(amount).startswith("-") else "CRDT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{str(amount).lstrip("-")}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        "<Dt><Dt>2025-10-31</Dt></Dt></Bal>"
    )


def camt_file(statements, *, kind="053", version="08", message="BkToCstmrStmt", namespace=None):
    namespace = namespace if namespace is not None else CAMT_NS.format(kind=kind, version=version)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document{xmlns}><{message}>'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2025-10-31T20:00:00</CreDtTm></GrpHdr>"
        f"{''.join(statements)}</{message}></Document>\n"
    ).encode()


def mt940_file(
    lines, *, account="DE89370400440532013000", opening="C251001EUR1000,00", closing=None, ref="STMT1"
):
    """Return an MT940 statement; ``lines`` are (":61:" body, ":86:" text) pairs."""
    body = [f":20:{ref}", f":25:{account}", ":28C:00001/001", f":60F:{opening}"]
    for statement_line, details in lines:
        body.append(f":61:{statement_line}")
        body.append(f":86:{details}")
    if closing:
        body.append(f":62F:{closing}")
    return ("\r\n".join(body) + "\r\n-\r\n").encode()


def ofx_with(transactions):
    """An OFX 1.x (SGML) file of ``transactions`` debits of 1.00, seven lines each, for size tests."""
    body = "".join(
        f"<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20251015\n<TRNAMT>-1.00\n<FITID>{i}\n<NAME>X\n</STMTTRN>\n"
        for i in range(transactions)
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR\n"
        "<BANKACCTFROM><ACCTID>1\n</BANKACCTFROM><BANKTRANLIST><DTSTART>20251001\n<DTEND>20251031\n"
        f"{body}</BANKTRANLIST><LEDGERBAL><BALAMT>0\n</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()
