"""Dimensional analysis: per dimension, rolled up, and per combination, equal to the lines' sums."""

import datetime
import itertools
from decimal import Decimal

import pytest

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod
from accounting.tests.factories import JournalEntryFactory
from banking import reports
from banking.tests.report_data import (
    COST_CENTERS,
    DEPARTMENTS,
    DIMENSIONS,
    PROJECTS,
    bank_lines,
    build_book,
    expected_dimension,
    flows,
    in_month,
)
from cnperp.exceptions import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    return build_book()


def _combination_key(line, names):
    return tuple(getattr(line, name) or "unassigned" for name in names)


def test_totals_and_every_dimension_equal_the_lines_sums(book):
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")

    result = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")

    assert result["totals"] == flows(month)
    for dimension in DIMENSIONS:
        expected = expected_dimension(month, dimension)
        rows = {row["key"]: row for row in result["by_dimension"][dimension]}
        assert set(rows) == set(expected)
        for key, (own, total) in expected.items():
            assert {m: rows[key][m] for m in own} == own, (dimension, key)
            assert {m: rows[key][f"total_{m}"] for m in total} == total, (dimension, key)


def test_a_parent_is_rolled_up_from_its_children(book):
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")

    rows = {
        row["key"]: row
        for row in reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")[
            "by_dimension"
        ]["cost_center"]
    }

    children = ("cc-root", "cc-a", "cc-b")
    assert rows["cc-root"]["total_inflow"] == sum(rows[key]["inflow"] for key in children)
    assert rows["cc-root"]["total_count"] == sum(
        1 for line in month if line.cost_center in ("cc-root", "cc-a", "cc-b")
    )
    assert rows["cc-a"]["parent"] == "cc-root"


def test_every_combination_including_unassigned_is_reported_by_default(book):
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")

    result = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")

    names = list(DIMENSIONS)
    assert result["group_by"] == names
    got = {tuple(row[name] for name in names): row for row in result["combinations"]}
    every = {
        tuple(v or "unassigned" for v in combo)
        for combo in itertools.product(COST_CENTERS, PROJECTS, DEPARTMENTS)
    }
    assert set(got) == every == {_combination_key(line, names) for line in month}
    for key, row in got.items():
        expected = flows([line for line in month if _combination_key(line, names) == key])
        assert {m: row[m] for m in expected} == expected, key


def test_group_by_two_dimensions_sums_over_the_third(book):
    month = in_month(bank_lines(book, ["ba-op", "ba-sav"]), "2025-10")
    names = ["cost_center", "project"]

    result = reports.dimensional_analysis_get(period="2025-10", group_by="cost_center,project")

    assert result["group_by"] == names
    assert len(result["combinations"]) == len(COST_CENTERS) * len(PROJECTS)
    for row in result["combinations"]:
        key = (row["cost_center"], row["project"])
        expected = flows([line for line in month if _combination_key(line, names) == key])
        assert {m: row[m] for m in expected} == expected, key
        assert "department" not in row
    unassigned = next(r for r in result["combinations"] if r["cost_center"] == "unassigned")
    assert unassigned["cost_center_name"] == "Unassigned"


def test_a_reversed_line_and_its_reversal_cancel_within_their_combination(book):
    # Given the October line reversed on 28 October: both lines carry the same dimensions
    reversal = next(
        line for line in bank_lines(book, ["ba-op"]) if line.reversal and line.entry_date.day == 28
    )
    names = list(DIMENSIONS)
    key = _combination_key(reversal, names)
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")
    same = [line for line in month if _combination_key(line, names) == key]

    row = next(
        r
        for r in reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")["combinations"]
        if tuple(r[name] for name in names) == key
    )

    # Then the combination counts both lines, and its net is the sum over all its lines
    assert row["count"] == len(same)
    assert row["net"] == flows(same)["net"]


def test_an_empty_month_has_zero_totals_and_no_rows(book):
    result = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2024-01")

    assert result["totals"]["count"] == 0
    assert result["combinations"] == []
    assert all(rows == [] for rows in result["by_dimension"].values())


@pytest.mark.parametrize(
    "group_by", ["branch", "cost_center,cost_center", "cost_center,", "project;department"]
)
def test_a_bad_group_by_is_refused_naming_group_by(group_by):
    with pytest.raises(DomainError) as refused:
        reports.parse_group_by(group_by)
    assert refused.value.field == "group_by"


def _close(period_id, moment):
    AccountingPeriod.objects.filter(pk=period_id).update(status=PeriodStatus.CLOSED, closed_at=moment)


def _by_key(result, dimension):
    return {
        row["key"]: (row["inflow"], row["outflow"], row["count"]) for row in result["by_dimension"][dimension]
    }


def test_a_closed_month_answers_the_same_figures_cold_and_from_the_cache(book):
    # Given October closed by the controller (a moment no other test uses)
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")
    _close("2025-10", datetime.datetime(2025, 11, 4, 7, 31, 17, tzinfo=datetime.UTC))

    # When the analysis is asked for twice (the second answered from the closed month's cache)
    first = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")
    second = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")

    # Then both equal the lines' sums
    assert first["totals"] == second["totals"] == flows(month)
    for dimension in DIMENSIONS:
        assert _by_key(first, dimension) == _by_key(second, dimension)
    assert first["combinations"] == second["combinations"]


def test_a_closed_month_that_gains_a_line_is_grouped_afresh(book):
    # Given October closed and its analysis cached
    moment = datetime.datetime(2025, 11, 4, 7, 32, 41, tzinfo=datetime.UTC)
    _close("2025-10", moment)
    before = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")["totals"]

    # When October is reopened, takes a 250.00 deposit (unassigned) and is closed again
    AccountingPeriod.objects.filter(pk="2025-10").update(status=PeriodStatus.OPEN, closed_at=None)
    JournalEntryFactory(
        posting__entry_date=datetime.date(2025, 10, 30),
        posting__period=AccountingPeriod.objects.get(pk="2025-10"),
        account_id=book.gl["ba-op"],
        debit=Decimal("250.00"),
    )
    _close("2025-10", moment + datetime.timedelta(days=1))
    reopened = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")

    # Then the deposit is in the figures, in the unassigned bucket of every dimension
    assert reopened["totals"]["inflow"] == before["inflow"] + Decimal("250.00")
    assert reopened["totals"]["count"] == before["count"] + 1
    unassigned = {row["key"]: row for row in reopened["by_dimension"]["project"]}["unassigned"]
    assert unassigned["inflow"] >= Decimal("250.00")


def test_a_closed_month_is_not_answered_stale_even_under_the_same_closing_moment(book):
    # Given October closed and cached
    moment = datetime.datetime(2025, 11, 4, 7, 33, 59, tzinfo=datetime.UTC)
    _close("2025-10", moment)
    before = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"]

    # When a line appears in it without the period being reopened (as an operator's repair would)
    JournalEntryFactory(
        posting__entry_date=datetime.date(2025, 10, 29),
        posting__period=AccountingPeriod.objects.get(pk="2025-10"),
        account_id=book.gl["ba-op"],
        credit=Decimal("40.00"),
    )
    after = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")

    # Then the month's figures and its dimension tables both include it
    assert after["totals"]["outflow"] == before["outflow"] + Decimal("40.00")
    dimension_outflow = sum(row["outflow"] for row in after["by_dimension"]["cost_center"])
    assert dimension_outflow == after["totals"]["outflow"]
