"""CSV statements read through bank profiles, and format detection."""

from decimal import Decimal

import pytest

from banking.choices import AmountMode
from banking.importers import csv_profile, detect_format
from banking.importers.base import StatementParseError
from banking.models import StatementCsvProfile
from banking.tests.statement_files import sample

D = Decimal


def profile(**fields):
    defaults = {
        "name": "Test bank",
        "date_column": "Date",
        "amount_column": "Amount",
        "description_column": "Description",
    }
    return StatementCsvProfile(**{**defaults, **fields})


def test_signed_amounts_with_header():
    content = b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n2025-10-02,-25.50,Fee\n"

    [statement] = csv_profile.parse(content, profile())

    assert [line.amount for line in statement.lines] == [D("100.00"), D("-25.50")]
    assert [line.narrative for line in statement.lines] == ["Deposit", "Fee"]
    assert str(statement.from_date) == "2025-10-01"
    assert str(statement.to_date) == "2025-10-02"
    assert statement.is_consistent is None


def test_split_debit_credit_comma_decimal_mark_and_semicolons():
    # given a German bank: semicolons, comma decimals, dot thousands, day-first dates
    content = (
        b"Buchung;Soll;Haben;Text;Saldo\n"
        b"01.10.2025;;1.234,56;Gehalt;2.234,56\n"
        b"02.10.2025;34,56;;Miete;2.200,00\n"
    )
    bank = profile(
        delimiter=";",
        decimal_mark=",",
        thousands_separator=".",
        date_format="%d.%m.%Y",
        amount_mode=AmountMode.SPLIT,
        date_column="Buchung",
        debit_column="Soll",
        credit_column="Haben",
        description_column="Text",
        balance_column="Saldo",
    )

    [statement] = csv_profile.parse(content, bank)

    assert [line.amount for line in statement.lines] == [D("1234.56"), D("-34.56")]
    # the running balance gives opening and closing, and they add up
    assert statement.opening_balance == D("1000.00")
    assert statement.closing_balance == D("2200.00")
    assert statement.is_consistent is True


def test_positional_columns_without_header_skip_rows_and_negated_amounts():
    content = b"Export of account 123\n\n2025-10-01;Shop;12.00\n2025-10-03;Refund;-2.00\n"
    bank = profile(
        delimiter=";",
        has_header=False,
        skip_rows=2,
        negate_amounts=True,
        date_column="0",
        description_column="1",
        amount_column="2",
    )

    [statement] = csv_profile.parse(content, bank)

    assert [line.amount for line in statement.lines] == [D("-12.00"), D("2.00")]


def test_latin1_profile_encoding_is_honoured():
    content = "Date,Amount,Description\n2025-10-01,5.00,Café\n".encode("latin-1")

    [statement] = csv_profile.parse(content, profile(encoding="latin-1"))

    assert statement.lines[0].narrative == "Café"


@pytest.mark.parametrize(
    ("content", "fields", "message"),
    [
        (b"Date,Amount,Description\n2025-10-01,1.00,a\n31/10/2025,2.00,b\n", {}, "line 3: The date"),
        (b"Date,Amount,Description\n2025-10-01,1.005,a\n", {}, "line 2: The amount"),
        (b'Date,Amount,Description\n2025-10-01,"1,00",a\n', {}, "decimal mark"),
        (b"Date,Total,Description\n2025-10-01,1.00,a\n", {}, "not in the header"),
        (b"Date,Amount,Description\n", {}, "no statement rows"),
        (b"Date,Amount,Description\n2025-10-01,,a\n", {}, "line 2: The row has no amount"),
        ("Date,Amount,Description\n2025-10-01,1.00,Café\n".encode("latin-1"), {}, "not utf-8"),
        (b"Date,Amount\n2025-10-01\n", {"description_column": ""}, "line 2: The row has 1 columns"),
    ],
    ids=[
        "bad-date",
        "decimals",
        "wrong-mark",
        "missing-column",
        "empty",
        "no-amount",
        "encoding",
        "short-row",
    ],
)
def test_bad_csv_rows_are_refused_naming_the_row(content, fields, message):
    with pytest.raises(StatementParseError) as raised:
        csv_profile.parse(content, profile(**fields))

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camt/camt053_v8.xml", "camt"),
        ("camt/camt052_example.xml", "camt"),
        ("mt940/mbank_mt942.sta", "mt940"),
        ("mt940/cmxl_mt940.sta", "mt940"),
        ("ofx/checking_ofx102_sgml.ofx", "ofx"),
        ("ofx/suncorp_ofx2_xml.ofx", "ofx"),
        ("bai2/nwb_example.bai2", "bai2"),
    ],
)
def test_format_is_detected_from_content(name, expected):
    assert detect_format(sample(name)) == expected


def test_csv_is_detected_only_with_a_profile():
    content = b"Date,Amount\n2025-10-01,1.00\n"

    assert detect_format(content, has_profile=True) == "csv"
    with pytest.raises(StatementParseError, match="not recognised"):
        detect_format(content)
