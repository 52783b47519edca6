"""The BAI2 parser and our own totals checks.

Real files from ministryofjustice/bai2's tests (MIT), copied unchanged into
``samples/bai2``; see samples/README.md and samples/LICENSES.
"""

from decimal import Decimal

import pytest

from banking.importers import bai2
from banking.importers.base import StatementParseError
from banking.tests.statement_files import sample

D = Decimal


def test_two_days_become_two_statements_with_implied_decimals():
    # given SVB's file of two days, whose last record lacks its "/"
    statements = bai2.parse(sample("bai2/svb_us_example.bai2"))

    assert [(s.opening_balance, s.closing_balance) for s in statements] == [
        (D("347269.79"), D("352171.75")),
        (D("352171.75"), D("361229.75")),
    ]
    assert [[line.amount for line in s.lines] for s in statements] == [[D("4901.96")], [D("9058.00")]]
    assert all(s.is_consistent for s in statements)
    assert statements[0].account_identifier == "1234567890"


def test_continuation_records_and_debits_in_gbp():
    [statement] = bai2.parse(sample("bai2/nwb_example.bai2"))

    assert statement.currency == "GBP"
    assert [line.amount for line in statement.lines] == [
        D("-9.71"),
        D("-1.00"),
        D("-1.23"),
        D("-15.71"),
        D("0.89"),
    ]
    assert statement.lines[4].narrative.endswith("CLIE NT SECCY AC TFR")
    assert statement.is_consistent is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b"16,142,490196,", b"16,142,490197,"), "account 1234567890 control total"),
        ((b"49,138884258,7/", b"49,138884258,8/"), "record count"),
        ((b"98,138884258,1,9/", b"98,138884259,1,9/"), "group 1 control total"),
        ((b"99,282030196,2,20", b"99,282030196,3,20"), "file group count"),
    ],
)
def test_control_totals_and_record_counts_are_checked(change, message):
    content = sample("bai2/svb_us_example.bai2").replace(*change)

    with pytest.raises(StatementParseError) as raised:
        bai2.parse(content)

    assert message in str(raised.value)


def test_truncated_file_is_refused():
    content = sample("bai2/svb_us_example.bai2")
    with pytest.raises(StatementParseError, match="truncated"):
        bai2.parse(content[: content.index(b"98,")])


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            (b"02,9876543,NWBKGB2L,1,091216,", b"02,9876543,NWBKGB2L,1,091316,"),
            2,
            '02 record\'s as-of date "091316"',
        ),
        ((b"01,NWBKGB2L,9876543,100215,", b"01,NWBKGB2L,9876543,1002151,"), 1, "01 record's creation date"),
    ],
)
def test_a_date_that_is_no_day_is_refused_naming_its_line_and_field(change, line, message):
    # The library's own words were "Malformed BAI2 record: ValueError('unconverted data remains: 1')".
    content = sample("bai2/nwb_example.bai2").replace(*change)

    with pytest.raises(StatementParseError) as raised:
        bai2.parse(content)

    assert raised.value.line == line
    assert message in raised.value.message
    assert "is not a date (YYMMDD)" in raised.value.message
