"""The bulk writer's literals read back exactly as written, whatever the text holds."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from banking.choices import PostingStatus
from cnperp.bulk_sql import rows_insert

pytestmark = pytest.mark.django_db

HOSTILE_TEXTS = [
    "plain",
    "O'Brien & Sons",
    'double "quotes"',
    "back\\slash at the end\\",
    "'); DROP TABLE journal_entries; --",
    "Überweisung Café Zürich — 5 €",
    "emoji 💶 and CJK 銀行",
    "line\nbreak\ttab\rreturn",
    "percent %s %(name)s",
    "",
    PostingStatus.POSTED,  # a choices enum is written as its value
]


@pytest.fixture
def scratch_table():
    # A temporary table: no implicit commit on MariaDB, gone with the connection.
    money = "DECIMAL(18,2)" if connection.vendor == "mysql" else "DECIMAL"
    text = "VARCHAR(255) CHARACTER SET utf8mb4" if connection.vendor == "mysql" else "TEXT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE bulk_scratch (id INTEGER PRIMARY KEY, label {text}, "
            f"amount {money}, day DATE, moment DATETIME, flag BOOLEAN, owner {text})"
        )
    yield "bulk_scratch"
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TEMPORARY TABLE bulk_scratch" if connection.vendor == "mysql" else "DROP TABLE bulk_scratch"
        )


def _read(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, label, amount, day, moment, flag, owner FROM {table} ORDER BY id")
        return list(cursor.fetchall())


def test_every_value_reads_back_as_written(scratch_table):
    day = datetime.date(2025, 10, 31)
    moment = datetime.datetime(2025, 10, 31, 23, 59, 58)
    rows = [
        (
            n,
            text,
            Decimal("-1234567.89") if n % 2 else Decimal("0.01"),
            day,
            moment,
            n % 3 == 0,
            None if n % 4 else "u1",
        )
        for n, text in enumerate(HOSTILE_TEXTS)
    ]
    columns = ("id", "label", "amount", "day", "moment", "flag", "owner")
    # Small chunks and a repeated column exercise both the chunking and the memo.
    rows_insert(scratch_table, columns, rows, repeated=(3, 4, 6), chunk_rows=3)

    back = _read(scratch_table)
    assert len(back) == len(rows)
    for written, read in zip(rows, back, strict=True):
        assert read[0] == written[0]
        assert read[1] == written[1]
        assert Decimal(str(read[2])) == written[2]
        assert str(read[3])[:10] == day.isoformat()
        assert str(read[4])[:19] == "2025-10-31 23:59:58"
        assert bool(read[5]) is written[5]
        assert read[6] == written[6]


def test_no_rows_writes_nothing(scratch_table):
    rows_insert(scratch_table, ("id",), [])
    assert _read(scratch_table) == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, TypeError),  # money is never a float
        (Decimal("NaN"), ValueError),
        (datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC), ValueError),
    ],
)
def test_values_a_column_cannot_take_are_refused_and_nothing_is_written(scratch_table, value, error):
    if connection.vendor != "mysql":
        pytest.skip("SQLite takes the values as parameters; the literal writer runs on MariaDB/MySQL")
    with pytest.raises(error):
        rows_insert(scratch_table, ("id", "amount"), [(1, Decimal("1.00")), (2, value)])
    assert _read(scratch_table) == []


def test_a_chunk_larger_than_the_statement_limit_is_cut_and_every_row_arrives(scratch_table, monkeypatch):
    from cnperp import bulk_sql

    # A tiny limit stands in for max_allowed_packet: rows of 100 characters, 250 a statement.
    monkeypatch.setattr(bulk_sql, "MAX_STATEMENT_CHARS", 250)
    rows = [(n, "'" * 100, Decimal("1.00"), None, None, False, None) for n in range(12)]
    rows_insert(scratch_table, ("id", "label", "amount", "day", "moment", "flag", "owner"), rows)
    back = _read(scratch_table)
    assert [row[0] for row in back] == list(range(12))
    assert all(row[1] == "'" * 100 for row in back)
