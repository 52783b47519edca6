"""The MT940/MT942 parser on real files and hand-made ones.

Real files from wolph/mt940's test suite, copied unchanged into
``samples/mt940``: betterplace (Apache-2.0), cmxl (MIT), mBank (BSD-3); see
samples/README.md and samples/LICENSES.
"""

from decimal import Decimal

import pytest

from banking.importers import mt940
from banking.importers.base import StatementParseError
from banking.tests.statement_files import mt940_file, sample

D = Decimal


def test_betterplace_file_holds_26_statements_that_all_reconcile_with_reversals_signed():
    # given a file of 26 statements with RC (reversal of credit) lines
    statements = mt940.parse(sample("mt940/betterplace_sepa_mt9401.sta"))

    # then every statement adds up, because RC is money out
    assert len(statements) == 26
    assert sum(len(s.lines) for s in statements) == 97
    assert all(s.is_consistent is True for s in statements)
    first = statements[0]
    reversal = [line for line in first.lines if line.is_reversal]
    assert [line.amount for line in reversal] == [D("-204.88")]
    assert first.opening_balance == D("-1234718.36")
    assert first.closing_balance == D("-1237628.23")


def test_betterplace_german_subfields_give_counterparty_and_end_to_end_id():
    statements = mt940.parse(sample("mt940/betterplace_sepa_mt9401.sta"))

    line = statements[1].lines[0]
    assert line.amount == D("15000.05")
    assert line.end_to_end_id == "EndToEndIdTFNR2000400001"
    assert line.counterparty_iban == "DE42100100100043921105"
    assert line.counterparty_name.startswith("Richter Renate")
    assert line.transaction_code == "NTRF/166"


def test_cmxl_file_holds_three_consistent_statements():
    statements = mt940.parse(sample("mt940/cmxl_mt940.sta"))

    assert [len(s.lines) for s in statements] == [11, 2, 3]
    assert [s.account_identifier for s in statements] == [
        "45050050/76198810",
        "10020030/1234567",
        "BPHKPLPK/320000546101",
    ]
    assert all(s.is_consistent is True for s in statements)
    assert statements[0].opening_balance == D("84349.74")
    assert statements[0].closing_balance == D("84437.04")


def test_mt942_has_no_balances_and_control_characters_are_stripped():
    # given mBank's MT942 wrapped in SOH/ETX
    [statement] = mt940.parse(sample("mt940/mbank_mt942.sta"))

    assert statement.format == "mt942"
    assert statement.opening_balance is None
    assert statement.closing_balance is None
    assert statement.is_consistent is None
    assert [line.amount for line in statement.lines] == [D("0.01")] * 3
    assert statement.account_identifier == "PL29114010810000267002001002"


def test_reversal_of_a_debit_is_money_back_in():
    content = mt940_file(
        [("2510021002RD25,00NTRFNONREF//B1", "Storno"), ("2510021002D5,00NCHGNONREF//B2", "Fee")],
        closing="C251002EUR1020,00",
    )

    [statement] = mt940.parse(content)

    assert [(line.amount, line.is_reversal) for line in statement.lines] == [
        (D("25.00"), True),
        (D("-5.00"), False),
    ]
    assert statement.is_consistent is True


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b":20:X\r\n:25:DE1\r\n:28C:1/1\r\n:60F:C251001EUR1,00\r\n:61:2510", "lacks its opening"),
        (mt940_file([("2510021002C1,005NTRFNONREF//B1", "x")], closing="C251002EUR2,00"), "decimal places"),
        (b"hello world", "No MT940"),
        (mt940_file([("2510021002C5,00NTRFNONREF//B1", "Caf\xe9")]).replace(b"\xc3\xa9", b"\xe9"), "UTF-8"),
        (b":20:X\r\n:28C:1/1\r\n:60F:C251001EUR1,00\r\n:62F:C251001EUR1,00\r\n", "account identification"),
    ],
    ids=["truncated", "too-many-decimals", "not-mt940", "latin-1", "no-account"],
)
def test_bad_mt940_files_are_refused(content, message):
    with pytest.raises(StatementParseError) as raised:
        mt940.parse(content)

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ((b":60F:C131016", b":60F:C131316"), 4, ':60F: date "131316"'),
        ((b":61:131017D6800", b":61:131032D6800"), 5, ':61: date "131032"'),
    ],
)
def test_a_date_that_is_no_day_is_refused_naming_its_line(change, line, message):
    # The library's own words were 'line 1: Unreadable MT940 tag near "month must be in 1..12"'.
    content = sample("mt940/cmxl_mt940.sta").replace(*change, 1)

    with pytest.raises(StatementParseError) as raised:
        mt940.parse(content)

    assert raised.value.line == line
    assert message in raised.value.message
