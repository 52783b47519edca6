"""Cash position: the report's numbers equal sums over the book's own GL lines."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod
from accounting.tests.factories import JournalEntryFactory
from banking import reports
from banking.tests.factories import BankStatementFactory
from banking.tests.report_data import (
    DIMENSIONS,
    ZERO,
    account,
    bank_lines,
    build_book,
    expected_dimension,
    flows,
    in_month,
)
from cnperp.exceptions import DomainError, NotFoundError

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    return build_book()


def _opening(lines, day):
    return sum((line.debit - line.credit for line in lines if line.entry_date < day), ZERO)


def test_cash_position_of_one_account_equals_the_sums_over_its_gl_lines(book):
    # Given the seeded book
    lines = bank_lines(book, ["ba-op"])
    month = in_month(lines, "2025-10")

    # When the cash position of ba-op for October is asked for
    result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    # Then opening, inflows, outflows and closing are the sums over the GL lines
    opening = _opening(lines, datetime.date(2025, 10, 1))
    expected = flows(month)
    totals = result["totals"]
    assert totals["opening_balance"] == opening
    assert totals["inflow"] == expected["inflow"]
    assert totals["outflow"] == expected["outflow"]
    assert totals["closing_balance"] == opening + expected["inflow"] - expected["outflow"]
    assert totals["line_count"] == expected["count"]
    assert totals["statement_closing_balance"] is None
    assert result["bank_account_id"] == "ba-op"
    assert result["currency"] == "USD"


def test_the_daily_series_covers_every_day_and_ends_at_the_closing_balance(book):
    lines = bank_lines(book, ["ba-op"])

    result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    daily = result["daily"]
    assert [row["date"] for row in daily] == [datetime.date(2025, 10, d) for d in range(1, 32)]
    balance = _opening(lines, datetime.date(2025, 10, 1))
    for row in daily:
        day_lines = [line for line in lines if line.entry_date == row["date"]]
        balance += flows(day_lines)["net"]
        assert (row["inflow"], row["outflow"], row["count"]) == (
            flows(day_lines)["inflow"],
            flows(day_lines)["outflow"],
            len(day_lines),
        )
        assert row["closing_balance"] == balance
    assert daily[-1]["closing_balance"] == result["totals"]["closing_balance"]


def test_movements_per_dimension_equal_the_lines_sums_with_parents_rolled_up(book):
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")

    result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    for dimension in DIMENSIONS:
        expected = expected_dimension(month, dimension)
        rows = {row["key"]: row for row in result["by_dimension"][dimension]}
        assert set(rows) == set(expected)
        for key, (own, total) in expected.items():
            row = rows[key]
            assert (row["inflow"], row["outflow"], row["net"], row["count"]) == (
                own["inflow"],
                own["outflow"],
                own["net"],
                own["count"],
            ), (dimension, key)
            assert (row["total_inflow"], row["total_outflow"], row["total_count"]) == (
                total["inflow"],
                total["outflow"],
                total["count"],
            ), (dimension, key)
        # Every line is counted once among the own amounts, "unassigned" included.
        assert sum(row["count"] for row in rows.values()) == len(month)


def test_a_parent_comes_before_its_children_and_unassigned_last(book):
    result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    keys = [row["key"] for row in result["by_dimension"]["cost_center"]]
    assert keys == ["cc-root", "cc-a", "cc-b", "cc-solo", "unassigned"]
    levels = {row["key"]: row["level"] for row in result["by_dimension"]["cost_center"]}
    assert levels == {"cc-root": 0, "cc-a": 1, "cc-b": 1, "cc-solo": 0, "unassigned": 0}


def test_all_accounts_when_no_account_is_named(book):
    lines = bank_lines(book, ["ba-op", "ba-sav"])

    result = reports.cash_position_get(period="2025-10")

    assert result["bank_account_id"] is None
    assert [row["bank_account_id"] for row in result["accounts"]] == ["ba-op", "ba-sav"]
    expected = flows(in_month(lines, "2025-10"))
    assert result["totals"]["inflow"] == expected["inflow"]
    assert result["totals"]["outflow"] == expected["outflow"]
    assert result["totals"]["opening_balance"] == _opening(lines, datetime.date(2025, 10, 1))
    per_account = sum((row["closing_balance"] for row in result["accounts"]), ZERO)
    assert result["totals"]["closing_balance"] == per_account


def test_the_statement_closing_balance_shows_where_a_statement_covers_the_month(book):
    # Given a statement of ba-op for October closing 12.50 above the books
    books = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"]["closing_balance"]
    BankStatementFactory(bank_account=account("ba-op"), closing_balance=books + Decimal("12.50"))

    # When
    totals = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"]

    # Then
    assert totals["statement_closing_balance"] == books + Decimal("12.50")
    assert totals["statement_difference"] == Decimal("12.50")


def test_a_month_without_lines_carries_the_balance_and_has_no_movements(book):
    lines = bank_lines(book, ["ba-op"])

    result = reports.cash_position_get(bank_account_id="ba-op", period="2026-03")

    everything = sum((line.debit - line.credit for line in lines), ZERO)
    assert result["totals"]["opening_balance"] == everything
    assert result["totals"]["closing_balance"] == everything
    assert (result["totals"]["inflow"], result["totals"]["outflow"], result["totals"]["line_count"]) == (
        ZERO,
        ZERO,
        0,
    )
    assert all(row["net"] == ZERO for row in result["daily"])
    assert result["by_dimension"] == {"cost_center": [], "project": [], "department": []}


def test_a_reversal_in_the_month_shows_as_a_movement_on_the_other_side(book):
    # Given the two reversals dated 28 October (one of September, one of October)
    reversals = [line for line in bank_lines(book, ["ba-op"]) if line.reversal]
    assert len(reversals) == 2

    result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    day = next(row for row in result["daily"] if row["date"] == datetime.date(2025, 10, 28))
    on_the_day = [
        line for line in bank_lines(book, ["ba-op"]) if line.entry_date == datetime.date(2025, 10, 28)
    ]
    assert day["inflow"] == flows(on_the_day)["inflow"]
    assert day["outflow"] == flows(on_the_day)["outflow"]
    # The September line's reversal moves October's cash, not September's closing balance.
    september = reports.cash_position_get(bank_account_id="ba-op", period="2025-09")["totals"]
    assert september["closing_balance"] == result["totals"]["opening_balance"]


def test_an_unknown_account_is_not_found_and_a_bad_period_names_the_period(book):
    with pytest.raises(NotFoundError) as missing:
        reports.cash_position_get(bank_account_id="ba-nope", period="2025-10")
    assert missing.value.field == "bank_account_id"

    with pytest.raises(DomainError) as bad:
        reports.cash_position_get(bank_account_id="ba-op", period="2025-13")
    assert bad.value.field == "period"


def _close(period_id, moment):
    AccountingPeriod.objects.filter(pk=period_id).update(status=PeriodStatus.CLOSED, closed_at=moment)


def test_closed_months_give_the_same_opening_balance_cold_and_warm(book):
    # Given September closed by the controller
    lines = bank_lines(book, ["ba-op"])
    _close("2025-09", datetime.datetime(2025, 10, 5, 9, 0, tzinfo=datetime.UTC))
    expected = _opening(lines, datetime.date(2025, 11, 1))

    # When November's cash position is asked for twice (the second from the cache)
    first = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]
    second = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]

    # Then both equal the sum over every line before November
    assert first["opening_balance"] == second["opening_balance"] == expected


def test_a_month_reopened_posted_into_and_closed_again_is_summed_afresh(book):
    # Given September closed, and November's opening read (and cached)
    _close("2025-09", datetime.datetime(2025, 10, 5, 9, 0, tzinfo=datetime.UTC))
    before = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]["opening_balance"]

    # When September is reopened, takes a 250.00 deposit and is closed again later
    AccountingPeriod.objects.filter(pk="2025-09").update(status=PeriodStatus.OPEN, closed_at=None)
    JournalEntryFactory(
        posting__entry_date=datetime.date(2025, 9, 30),
        posting__period=AccountingPeriod.objects.get(pk="2025-09"),
        account_id=book.gl["ba-op"],
        debit=Decimal("250.00"),
    )
    _close("2025-09", datetime.datetime(2025, 10, 6, 9, 0, tzinfo=datetime.UTC))

    # Then November's opening includes it
    after = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]["opening_balance"]
    assert after == before + Decimal("250.00")


def test_with_every_earlier_month_closed_the_days_give_the_month_its_totals(book):
    # Given October and every month before it closed
    lines = bank_lines(book, ["ba-op"])
    month = in_month(lines, "2025-10")
    for number, period in enumerate(
        AccountingPeriod.objects.filter(end_date__lte=datetime.date(2025, 10, 31)).order_by("pk")
    ):
        _close(period.pk, datetime.datetime(2025, 11, 5, 9, number, tzinfo=datetime.UTC))
    reports.cash_position_get(bank_account_id="ba-op", period="2025-10")  # the closed months, cached

    # When October's cash position is asked for again
    with CaptureQueriesContext(connection) as queries:
        result = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    # Then its figures are still the sums over the GL lines, the daily series included
    expected = flows(month)
    opening = _opening(lines, datetime.date(2025, 10, 1))
    assert result["totals"]["opening_balance"] == opening
    assert (result["totals"]["inflow"], result["totals"]["outflow"]) == (
        expected["inflow"],
        expected["outflow"],
    )
    assert result["totals"]["line_count"] == expected["count"]
    assert sum(day["count"] for day in result["daily"]) == expected["count"]
    assert result["daily"][-1]["closing_balance"] == result["totals"]["closing_balance"]
    # And the closed October's dimensional groups were checked against the days' line count,
    # without a separate count of its lines
    counts = [
        q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"] and "journal_entries" in q["sql"]
    ]
    assert counts == []


def _line(gl_account, day, period_id, debit):
    JournalEntryFactory(
        posting__entry_date=day,
        posting__period=AccountingPeriod.objects.get(pk=period_id),
        account_id=gl_account,
        entry_date=day,
        debit=Decimal(debit),
    )


def test_a_line_dated_before_the_first_period_stays_in_the_opening_balance_when_months_close(book):
    # Given a line dated before the first period (a migrated opening balance, say)
    _line(book.gl["ba-op"], datetime.date(2025, 8, 20), "2025-09", "100.00")
    expected = _opening(bank_lines(book, ["ba-op"]), datetime.date(2025, 11, 1)) + Decimal("100.00")
    before = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]
    assert before["opening_balance"] == expected

    # When every month before November is closed
    for number, period in enumerate(AccountingPeriod.objects.filter(end_date__lt=datetime.date(2025, 11, 1))):
        _close(period.pk, datetime.datetime(2025, 11, 2, 9, number, tzinfo=datetime.UTC))

    # Then November's opening still counts every line before it, cold and from the cache, and the
    # variance report (which reads the month with the history) agrees
    for _ in range(2):
        totals = reports.cash_position_get(bank_account_id="ba-op", period="2025-11")["totals"]
        assert totals["opening_balance"] == expected
        variance = reports.variance_report_get(bank_account_id="ba-op", period="2025-11")
        assert variance["totals"]["book_closing_balance"] == totals["closing_balance"]
