"""Every import error that names a line names the file's own line, as an editor numbers it.

A bad amount, date or field deep in an MT940/MT942, BAI2 or OFX file, in the
first statement or a later one, with CRLF or LF line ends, after :86:
continuation lines, 88 continuation records or blank lines: the message says
``<file>: line <n>:`` with the line the bank wrote it on, and nothing is imported.
"""

import pytest
from django.core.management import CommandError, call_command

from banking.models import BankStatement, StatementLine
from banking.statement_import import statement_import
from banking.tests.factories import BankAccountFactory
from banking.tests.statement_files import ofx_with, sample
from cnperp.exceptions import DomainError

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"

# One MT940 statement: :61: lines on lines 5, 7 and 9, :62F: on line 11.
MT940 = [
    ":20:STMT1",
    f":25:{IBAN}",
    ":28C:00001/001",
    ":60F:C251001EUR1000,00",
    ":61:2510011001D1,00NTRFNONREF//B1",
    ":86:Fee one",
    ":61:2510011001D2,00NTRFNONREF//B2",
    ":86:Fee two",
    ":61:2510011001D3,00NTRFNONREF//B3",
    ":86:Fee three",
    ":62F:C251001EUR994,00",
    "-",
]
# A second statement after the first: its :61: lines on lines 16 and 20 (after three :86: lines).
SECOND_STATEMENT = [
    ":20:STMT2",
    f":25:{IBAN}",
    ":28C:00002/001",
    ":60F:C251002EUR994,00",
    ":61:2510021002D1,00NTRFNONREF//B4",
    ":86:Fee four",
    "continued on a second line",
    "and a third",
    ":61:2510021002D2,00NTRFNONREF//B5",
    ":86:Fee five",
    ":62F:C251002EUR991,00",
    "-",
]
# An MT942 interim report: :61: lines on lines 6 and 8, :90D: on line 10.
MT942 = [
    ":20:REPORT1",
    f":25:{IBAN}",
    ":28C:1/1",
    ":34F:EUR0,",
    ":13D:2510011200+0100",
    ":61:2510011001D1,00NTRFNONREF//B1",
    ":86:Fee one",
    ":61:2510011001D2,00NTRFNONREF//B2",
    ":86:Fee two",
    ":90D:2EUR3,00",
    ":90C:0EUR0,",
    "-",
]


def swift(lines, changes, *, end="\r\n", before=()):
    """Return ``lines`` with ``changes`` ({file line: new text}) made, ``before`` lines ahead of them."""
    lines = [*before, *lines]
    for number, text in changes.items():
        lines[number - 1] = text
    return (end.join(lines) + end).encode()


MT940_CASES = {
    "amount-third-line-crlf": (
        swift(MT940, {9: ":61:2510011001D10,005NTRFNONREF//B3"}),
        9,
        "has more than 2 decimal places",
    ),
    "amount-first-line-lf": (
        swift(MT940, {5: ":61:2510011001D10,005NTRFNONREF//B1"}, end="\n"),
        5,
        "has more than 2 decimal places",
    ),
    "amount-second-line": (
        swift(MT940, {7: ":61:2510011001D10,005NTRFNONREF//B2"}),
        7,
        "has more than 2 decimal places",
    ),
    "amount-too-long": (
        swift(MT940, {9: ":61:2510011001D1234567890123,45NTRFNONREF//B3"}),
        9,
        "longer than the 15 characters",
    ),
    "date-not-a-day": (swift(MT940, {7: ":61:2513011001D2,00NTRFNONREF//B2"}), 7, "is not a date"),
    "unreadable-statement-line": (
        swift(MT940, {9: ":61:25100X1001D3,00NTRFNONREF//B3"}),
        9,
        "Unreadable MT940 tag",
    ),
    "unknown-field": (swift(MT940, {8: ":99X:Fee two"}), 8, 'The field ":99X:" is no MT940'),
    "opening-balance": (swift(MT940, {4: ":60F:C251001EUR1000,005"}), 4, 'balance "1000.005"'),
    "closing-balance": (swift(MT940, {11: ":62F:C251001EUR994,001"}), 11, 'balance "994.001"'),
    "closing-balance-date": (swift(MT940, {11: ":62F:C251301EUR994,00"}), 11, ':62F: date "251301"'),
    "second-statement-crlf": (
        swift([*MT940, *SECOND_STATEMENT], {21: ":61:2510021002D2,005NTRFNONREF//B5"}),
        21,
        'amount "-2.005"',
    ),
    "second-statement-lf": (
        swift([*MT940, *SECOND_STATEMENT], {21: ":61:2510021002D2,005NTRFNONREF//B5"}, end="\n"),
        21,
        'amount "-2.005"',
    ),
    "second-statement-opening-balance": (
        swift([*MT940, *SECOND_STATEMENT], {16: ":60F:C251002EUR994,009"}),
        16,
        'balance "994.009"',
    ),
    "after-swift-header": (
        swift(MT940, {11: ":61:2510011001D3,005NTRFNONREF//B3"}, before=["{1:F01BANKDEFFXXXX}", "{4:"]),
        11,
        'amount "-3.005"',
    ),
    "mt942-amount": (swift(MT942, {8: ":61:2510011001D2,005NTRFNONREF//B2"}), 8, 'amount "-2.005"'),
    "mt942-totals-disagree": (swift(MT942, {10: ":90D:2EUR4,00"}), 10, "an entry is missing or altered"),
    "mt942-total-amount": (swift(MT942, {10: ":90D:2EUR3,001"}), 10, ':90D: total "3.001"'),
}


def refused(bank_account, content, file_name):
    """Return the import's error message for ``content``, checking that nothing was imported."""
    with pytest.raises(DomainError) as raised:
        statement_import(bank_account=bank_account, content=content, file_name=file_name, user=None)

    assert raised.value.field == "file"
    assert BankStatement.objects.count() == 0
    assert StatementLine.objects.count() == 0
    return raised.value.message


@pytest.mark.parametrize(("content", "line", "message"), MT940_CASES.values(), ids=MT940_CASES.keys())
def test_an_mt940_error_names_the_line_of_the_file(content, line, message):
    # given an MT940/MT942 file with one bad field on a known line
    bank_account = BankAccountFactory(id="ba-mt940", iban=IBAN, account_number="", currency="EUR")

    # when it is imported
    error = refused(bank_account, content, "bad.sta")

    # then the error names that line of the file
    assert error.startswith(f"bad.sta: line {line}: "), error
    assert message in error


def test_the_command_names_the_line_of_a_bad_amount_in_an_mt940_file(tmp_path):
    # given an MT940 file whose third :61: line, file line 9, has an amount of three decimals
    BankAccountFactory(id="ba-mt940", iban=IBAN, account_number="", currency="EUR")
    path = tmp_path / "bad2.sta"
    path.write_bytes(swift(MT940, {9: ":61:2510011001D10,005NTRFNONREF//B3"}))

    # when manage.py import_statement reads it, then it names line 9 and imports nothing
    with pytest.raises(CommandError, match=r'bad2\.sta: line 9: The amount "-10\.005" has more than 2'):
        call_command("import_statement", str(path), "--account", "ba-mt940")
    assert (BankStatement.objects.count(), StatementLine.objects.count()) == (0, 0)


def ofx(changes, *, end="\n", transactions=5):
    """Return an OFX file of ``transactions`` seven-line transactions, with ``changes`` made.

    Transaction n (from 0) is on lines 8 + 7n to 14 + 7n, its <TRNAMT> on line 11 + 7n; the
    <LEDGERBAL> after the last. ``end`` is the line end (LF, CRLF, or CR alone).
    """
    lines = ofx_with(transactions).decode().split("\n")
    for number, text in changes.items():
        lines[number - 1] = text
    return end.join(lines).encode()


OFX_CASES = {
    "amount-in-the-last-transaction": (ofx({39: "<TRNAMT>-1.005"}), 39, 'amount "-1.005"'),
    "amount-crlf": (ofx({32: "<TRNAMT>-1.005"}, end="\r\n"), 32, 'amount "-1.005"'),
    "amount-cr-alone": (ofx({25: "<TRNAMT>-1.005"}, end="\r"), 25, 'amount "-1.005"'),
    "amount-not-a-number": (ofx({18: "<TRNAMT>abc"}), 18, 'amount "abc" is not a number'),
    "posting-date": (ofx({38: "<DTPOSTED>2025101"}), 38, '"2025101" is not an OFX date'),
    "second-amount": (ofx({40: "<TRNAMT>-2.00"}), 40, "more than one <TRNAMT>"),
    "ledger-balance": (
        ofx({}).replace(b"<BALAMT>0", b"<BALAMT>0.001"),
        43,
        'ledger balance "0.001"',
    ),
}


@pytest.mark.parametrize(("content", "line", "message"), OFX_CASES.values(), ids=OFX_CASES.keys())
def test_an_ofx_error_names_the_line_of_the_element(content, line, message):
    # given an OFX file with one bad value deep in it
    bank_account = BankAccountFactory(id="ba-ofx", iban="", account_number="1", currency="EUR")

    # when it is imported, then the error names the line of that element, not of its <STMTTRN>
    error = refused(bank_account, content, "bad.ofx")

    assert error.startswith(f"bad.ofx: line {line}: "), error
    assert message in error


# SVB's BAI2 sample: two groups of one account each; the second account's 16 record on line 16, its
# 49 trailer on line 18, the file's 99 trailer on line 20.
SVB = sample("bai2/svb_us_example.bai2").decode().splitlines()


def bai2(changes, *, end="\n", blank_after=None):
    """Return the SVB sample with ``changes`` made and, after line ``blank_after``, two blank lines."""
    lines = list(SVB)
    for number, text in changes.items():
        lines[number - 1] = text
    if blank_after is not None:
        lines[blank_after:blank_after] = ["", "   "]
    return (end.join(lines) + end).encode()


BAI2_CASES = {
    "amount-not-a-number": (bai2({16: "16,142,9058x0,,150675,/"}), 16, 'amount "9058x0" is not a number'),
    "amount-crlf": (bai2({7: "16,142,49O196,,172629,/"}, end="\r\n"), 7, 'amount "49O196"'),
    "signed-amount-after-blank-lines": (
        bai2({16: "16,142,-905800,,150675,/"}, blank_after=1),
        18,
        'amount "-905800" has a sign',
    ),
    "non-monetary-with-an-amount": (bai2({16: "16,890,905800,,150675,/"}), 16, "type 890"),
    "unsupported-type-code": (bai2({16: "16,999,905800,,150675,/"}), 16, "Type code '999'"),
    "unknown-record-code": (bai2({16: "17,142,905800,,150675,/"}), 16, '"17" is no BAI2 record code'),
    "account-control-total": (bai2({18: "49,143145939,7/"}), 18, "control total (49)"),
    "file-record-count": (bai2({20: "99,282030196,2,21"}), 20, "file record count (99)"),
    "file-record-count-after-blank-lines": (
        bai2({20: "99,282030196,2,21"}, blank_after=10),
        22,
        "file record count (99)",
    ),
}


@pytest.mark.parametrize(("content", "line", "message"), BAI2_CASES.values(), ids=BAI2_CASES.keys())
def test_a_bai2_error_names_the_line_of_the_record(content, line, message):
    # given a BAI2 file with one bad record deep in it
    bank_account = BankAccountFactory(id="ba-svb", iban="", account_number="1234567890", currency="USD")

    # when it is imported, then the error names the file's line of that record
    error = refused(bank_account, content, "bad.bai2")

    assert error.startswith(f"bad.bai2: line {line}: "), error
    assert message in error
