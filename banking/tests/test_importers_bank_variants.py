"""Statement files as banks write them: each read as the format's specification says.

Each test builds a small file inline; each failed before its fix, when:

- MT940: the statement-level ``:86:`` (information to the account owner, after
  ``:62F:``/``:64:``) was glued onto the last line's details;
- MT940: ``:25:`` with the currency after the account (``...EUR``) was taken
  for another account's file;
- MT940: ``:86:`` details longer than nine 65-character chunks were cut;
- MT940: a line on a continuation page whose reference equals one on the page
  before was dropped as a repeat of it;
- camt: an entry with two ``NtryDtls`` blocks was read from the first only.
"""

from decimal import Decimal

import pytest

from banking.importers import parse_statements
from banking.models import StatementLine
from banking.statement_import import statement_import
from banking.tests.factories import BankAccountFactory
from banking.tests.statement_files import camt_file, camt_statement

D = Decimal
IBAN = "DE89370400440532013000"


def account(**fields):
    defaults = {"id": "ba-review", "iban": IBAN, "account_number": "", "currency": "EUR"}
    return BankAccountFactory(**{**defaults, **fields})


def run(bank_account, content, file_name="statement.sta"):
    return statement_import(bank_account=bank_account, content=content, file_name=file_name, user=None)


def mt940(*lines):
    return ("\r\n".join(lines) + "\r\n-\r\n").encode()


# --- MT940 -------------------------------------------------------------------


def test_mt940_statement_level_86_after_the_closing_balance_is_not_part_of_the_last_line():
    # SWIFT MT940: field 86 after 62a/64/65 is "Information to Account Owner" for the
    # whole message (ING writes its totals there), not details of the last :61:.
    content = mt940(
        ":20:STMT",
        f":25:{IBAN}",
        ":28C:1/1",
        ":60F:C240102EUR100,00",
        ":61:2401020102C50,00NTRFNONREF//B1",
        ":86:166?00GUTSCHRIFT?20EREF+E2E-1?21SVWZ+Invoice 1?32ACME GMBH",
        ":62F:C240102EUR150,00",
        ":64:C240102EUR150,00",
        ":86:New fees from March",
    )

    _, (statement,) = parse_statements(content, format="mt940")
    line = statement.lines[0]

    assert line.counterparty_name == "ACME GMBH"
    assert "New fees" not in line.narrative


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identification", "fields"),
    [
        # ING / Deutsche Bank NL: the IBAN followed by the account's currency.
        ("NL08DEUT0319809633EUR", {"iban": "NL08DEUT0319809633"}),
        # German bank code/account number followed by the currency (mt-940's betterplace suite).
        ("51210600/9223382012EUR", {"iban": "", "account_number": "9223382012"}),
    ],
)
def test_mt940_account_identification_followed_by_its_currency_is_this_account(identification, fields):
    ba = account(**fields)
    content = mt940(
        ":20:STMT",
        f":25:{identification}",
        ":28C:1/1",
        ":60F:C251001EUR100,00",
        ":61:2510011001C50,00NTRFNONREF//B1",
        ":86:Payment",
        ":62F:C251001EUR150,00",
    )

    result = run(ba, content)

    assert len(result.statements) == 1
    assert StatementLine.objects.filter(bank_account=ba).count() == 1


def test_mt940_long_86_details_are_read_whole():
    # 11 lines of 65 characters: the mt-940 library cuts :86: after nine chunks of
    # 65 characters unless its unbounded_details option is on (MultiCash writes up
    # to 20 lines, Wise and others longer single lines).
    rows = [f"Line {number:02d} " + "x" * 57 for number in range(1, 12)]
    content = mt940(
        ":20:STMT",
        f":25:{IBAN}",
        ":28C:1/1",
        ":60F:C251001EUR100,00",
        ":61:2510011001C10,00NTRFNONREF",
        ":86:" + "\r\n".join(rows),
        ":62F:C251001EUR110,00",
    )

    _, (statement,) = parse_statements(content, format="mt940")

    assert statement.lines[0].narrative.endswith("Line 11 " + "x" * 57)


@pytest.mark.django_db
def test_mt940_same_reference_on_two_pages_of_one_statement_both_kept():
    # Two pages of statement 5 (:28C:00005/001 and /002): one statement. Two rent
    # instalments with one end-to-end reference on one day are kept when on one page
    # (":1" and ":2"); split over the pages, the second was dropped as a repeat.
    ba = account()
    line = ("2510151015D500,00NTRFNONREF", "177?00SEPA UEBERWEISUNG?20EREF+RENT-2025-10?21SVWZ+Rent")

    def page(number, opening, closing):
        return (
            "\r\n".join(
                [
                    ":20:STMT1",
                    f":25:{IBAN}",
                    f":28C:00005/{number:03d}",
                    f":{'60F' if number == 1 else '60M'}:{opening}",
                    f":61:{line[0]}",
                    f":86:{line[1]}",
                    f":{'62M' if number == 1 else '62F'}:{closing}",
                ]
            )
            + "\r\n-\r\n"
        )

    content = page(1, "C251015EUR1000,00", "C251015EUR500,00") + page(2, "C251015EUR500,00", "C251015EUR0,00")

    result = run(ba, content.encode())

    assert result.new_lines == 2
    assert StatementLine.objects.filter(bank_account=ba).count() == 2


# --- camt --------------------------------------------------------------------


def _tx(amount, sign, end_to_end, name):
    party = "Dbtr" if sign == "CRDT" else "Cdtr"
    return (
        f"<TxDtls><Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>"
        f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<RltdPties><{party}><Pty><Nm>{name}</Nm></Pty></{party}></RltdPties></TxDtls>"
    )


def test_camt_entry_with_two_entry_details_blocks_reads_both():
    # ISO 20022 camt.053 Ntry/NtryDtls is [0..*]: each block may hold a batch.
    # 100.00 + 200.00 make up the entry's 300.00 exactly, so each is a line.
    entry = (
        '<Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2025-10-15</Dt></BookgDt><ValDt><Dt>2025-10-15</Dt></ValDt>"
        f"<NtryDtls><Btch><NbOfTxs>1</NbOfTxs></Btch>{_tx('100.00', 'DBIT', 'E2E-1', 'ALPHA')}</NtryDtls>"
        f"<NtryDtls><Btch><NbOfTxs>1</NbOfTxs></Btch>{_tx('200.00', 'DBIT', 'E2E-2', 'BETA')}</NtryDtls>"
        "</Ntry>"
    )
    content = camt_file([camt_statement([entry], opening="1000.00", closing="700.00")])

    _, (statement,) = parse_statements(content, format="camt")

    assert [(line.amount, line.end_to_end_id, line.counterparty_name) for line in statement.lines] == [
        (D("-100.00"), "E2E-1", "ALPHA"),
        (D("-200.00"), "E2E-2", "BETA"),
    ]
