"""October 2025 on account ``ba-op``, booked and posted, and its bank statement as a camt.053 file.

Books (posted through the posting service): a customer receipt of 1,250.00
(end-to-end id ``E2E-INV-1001``), a withdrawal of 200.00 and a card payment of
75.40 without any reference, and two branch deposits of 350.00 and 450.00.

Statement (opening 0.00, closing 1,762.10): the receipt with its end-to-end id
(the matcher confirms it), the withdrawal and the card payment a day or two
later with nothing but the amount (the matcher suggests them), one lodgement of
800.00 that the two branch deposits add up to (matched by hand), and a bank
fee of 12.50 nobody booked (recorded from the line). Once the fee is posted,
the books say 1,762.10 too: a zero variance.

For the cash dashboard, the savings account ``ba-sav`` receives 5,000.00 on the
roll-out project and sends 1,500.00 to ``ba-op`` on 30 October, still in transit.
"""

import datetime
from decimal import Decimal

from accounting.tests.factories import AccountingPeriodFactory
from banking.posting import bank_transaction_post
from banking.services import bank_transaction_create, bank_transfer_create
from banking.tests.posting_setup import ledger_setup

IBAN = "GB33BUKB20201555555555"
PERIOD = "2025-10"
STATEMENT_CLOSING = Decimal("1762.10")


def d(day):
    return datetime.date(2025, 10, day)


def books():
    """Create the ledger, ``ba-op`` with its IBAN, and post October's five transactions; return the setup."""
    for period in ("2025-09", "2025-10", "2025-11"):
        AccountingPeriodFactory(id=period)
    setup = ledger_setup()
    account = setup["op"]
    account.iban = IBAN
    account.save()
    user = setup["user"]
    documents = [
        (
            "bt-receipt",
            "deposit",
            "1250.00",
            d(3),
            {"end_to_end_id": "E2E-INV-1001", "counterparty_name": "Acme Ltd"},
        ),
        ("bt-withdrawal", "withdrawal", "200.00", d(10), {}),
        ("bt-card", "card_payment", "75.40", d(14), {}),
        ("bt-north", "deposit", "350.00", d(20), {"counterparty_name": "North branch"}),
        ("bt-south", "deposit", "450.00", d(21), {"counterparty_name": "South branch"}),
    ]
    for key, kind, amount, day, extra in documents:
        bank_transaction_create(
            user=user,
            id=key,
            bank_account_id=account.pk,
            transaction_type=kind,
            amount=Decimal(amount),
            transaction_date=day,
            cost_center_id=setup["cc"].pk,
            **extra,
        )
        bank_transaction_post(transaction_id=key, user=user)
    # The savings account, for the dashboard: a posted deposit on the roll-out project and a
    # transfer to the operating account still in transit at the month's end (its sending
    # leg is a draft on savings, so the operating account's month is untouched).
    bank_transaction_create(
        user=user,
        id="bt-savings",
        bank_account_id=setup["sav"].pk,
        transaction_type="deposit",
        amount=Decimal("5000.00"),
        transaction_date=d(2),
        project_id=setup["project"].pk,
        department_id=setup["department"].pk,
    )
    bank_transaction_post(transaction_id="bt-savings", user=user)
    bank_transfer_create(
        user=user,
        id="tr-topup",
        from_bank_account_id=setup["sav"].pk,
        to_bank_account_id=account.pk,
        amount=Decimal("1500.00"),
        initiated_date=d(30),
        reference="TOP-UP-10",
    )
    return setup


def _entry(amount, sign, day, *, reference, end_to_end="NOTPROVIDED", name="", text=""):
    party = "Dbtr" if sign == "CRDT" else "Cdtr"
    return (
        f'<Ntry><Amt Ccy="USD">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>2025-10-{day:02d}</Dt></BookgDt><ValDt><Dt>2025-10-{day:02d}</Dt></ValDt>"
        f"<AcctSvcrRef>{reference}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>"
        f"<RltdPties><{party}><Nm>{name}</Nm></{party}></RltdPties>"
        f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def _balance(code, amount):
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="USD">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-10-31</Dt></Dt></Bal>'
    )


def statement_file():
    """Return October's statement of ``ba-op`` as camt.053 bytes (five lines, balances that add up)."""
    entries = [
        _entry("1250.00", "CRDT", 4, reference="BNK-0001", end_to_end="E2E-INV-1001", name="ACME LTD"),
        _entry("200.00", "DBIT", 11, reference="BNK-0002", text="CASH WITHDRAWAL"),
        _entry("75.40", "DBIT", 16, reference="BNK-0003", text="CARD PURCHASE"),
        _entry("800.00", "CRDT", 22, reference="BNK-0004", text="LODGEMENT"),
        _entry("12.50", "DBIT", 31, reference="BNK-0005", text="ACCOUNT SERVICE FEE"),
    ]
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>MONTH-END-1</MsgId><CreDtTm>2025-10-31T20:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>STMT-2025-10</Id>"
        "<FrToDt><FrDtTm>2025-10-01T00:00:00</FrDtTm><ToDtTm>2025-10-31T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>USD</Ccy></Acct>"
        f"{_balance('OPBD', '0.00')}{_balance('CLBD', STATEMENT_CLOSING)}{''.join(entries)}"
        "</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()
