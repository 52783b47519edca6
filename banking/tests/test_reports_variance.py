"""Variance report: book against statement, unreconciled items by age, branch cash, flags."""

import datetime
import itertools
import random
from decimal import Decimal

import pytest
from django.test import override_settings

from banking import reports
from banking.choices import (
    BalanceStatus,
    CashSubmissionStatus,
    Direction,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
)
from banking.tests.factories import (
    BankReconciliationFactory,
    BankStatementFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
)
from banking.tests.report_data import COST_CENTERS, PROJECTS, ZERO, account, build_book
from dimensions.tests.factories import BranchFactory

pytestmark = pytest.mark.django_db

END = datetime.date(2025, 10, 31)


def _signed(txn):
    return txn["amount"] if txn["direction"] == Direction.IN else -txn["amount"]


def _bucket(day):
    age = (END - day).days
    return "0-30" if age <= 30 else "31-60" if age <= 60 else "61-90" if age <= 90 else "90+"


@pytest.fixture
def variance_book():
    """The seeded book, statements, a snapshot, unreconciled items and branch cash."""
    build_book()
    october = {
        account: reports.cash_position_get(bank_account_id=account, period="2025-10")["totals"][
            "closing_balance"
        ]
        for account in ("ba-op", "ba-sav")
    }
    # ba-op's bank says 6,000.00 more than the books (over the 5,000 threshold); ba-sav 12.50 more.
    BankStatementFactory(bank_account=account("ba-op"), closing_balance=october["ba-op"] + Decimal("6000.00"))
    BankStatementFactory(bank_account=account("ba-sav"), closing_balance=october["ba-sav"] + Decimal("12.50"))
    BankReconciliationFactory(
        id="rec-sav-10",
        bank_account=account("ba-sav"),
        status=ReconciliationState.FINALIZED,
        balance_status=BalanceStatus.WITHIN_THRESHOLD,
    )
    rng = random.Random(7)
    open_items = []
    combos = list(itertools.product(COST_CENTERS, PROJECTS))
    for number in range(60):
        day = END - datetime.timedelta(days=rng.randrange(0, 200))
        status = rng.choice(
            [ReconciliationStatus.UNRECONCILED] * 3
            + [ReconciliationStatus.RECONCILED, ReconciliationStatus.MATCHED]
        )
        posting = rng.choice(
            [PostingStatus.POSTED, PostingStatus.POSTED, PostingStatus.DRAFT, PostingStatus.REVERSED]
        )
        cost_center, project = combos[number % len(combos)]
        direction = rng.choice([Direction.IN, Direction.OUT])
        amount = Decimal(rng.randint(1000, 400000)).scaleb(-2)
        BankTransactionFactory(
            id=f"bt-open-{number:03d}",
            bank_account=account("ba-op"),
            direction=direction,
            amount=amount,
            transaction_date=day,
            reconciliation_status=status,
            posting_status=posting,
            cost_center_id=cost_center,
            project_id=project,
        )
        if status == ReconciliationStatus.UNRECONCILED and posting != PostingStatus.REVERSED:
            open_items.append(
                {"date": day, "amount": amount, "direction": direction, "cost_center": cost_center}
            )
    # Not counted: after the month, and on the other account.
    BankTransactionFactory(
        id="bt-later", bank_account=account("ba-op"), transaction_date=datetime.date(2025, 11, 2)
    )
    BankTransactionFactory(
        id="bt-savings", bank_account=account("ba-sav"), transaction_date=datetime.date(2025, 10, 2)
    )

    north, south, east = (
        BranchFactory(id=b, code=b.upper(), name=b.title()) for b in ("north", "south", "east")
    )
    submissions = [
        # north: 10,000.00 expected, 3,000.00 deposited -> 7,000.00 short, flagged
        {
            "branch": north,
            "expected_amount": Decimal("6000.00"),
            "deposited_amount": Decimal("2000.00"),
            "cost_center_id": "cc-a",
        },
        {"branch": north, "expected_amount": Decimal("4000.00"), "deposited_amount": Decimal("1000.00")},
        # south: exact, plus one still on its way (pending)
        {
            "branch": south,
            "expected_amount": Decimal("2500.00"),
            "deposited_amount": Decimal("2500.00"),
            "cost_center_id": "cc-b",
        },
        {
            "branch": south,
            "expected_amount": Decimal("800.00"),
            "deposited_amount": None,
            "cost_center_id": "cc-b",
        },
        # east: cancelled, and one in September: neither counts
        {
            "branch": east,
            "expected_amount": Decimal("9999.00"),
            "deposited_amount": Decimal("1.00"),
            "status": CashSubmissionStatus.CANCELLED,
        },
        {
            "branch": east,
            "expected_amount": Decimal("9999.00"),
            "deposited_amount": Decimal("1.00"),
            "submission_date": datetime.date(2025, 9, 30),
        },
    ]
    for number, fields in enumerate(submissions):
        CashSubmissionFactory(id=f"cs-{number}", bank_account=account("ba-op"), **fields)
    return {"closing": october, "open_items": open_items}


def test_book_against_statement_per_account_with_status_and_flag(variance_book):
    result = reports.variance_report_get(period="2025-10")

    lines = {line["bank_account_id"]: line for line in result["accounts"]}
    op, sav = lines["ba-op"], lines["ba-sav"]
    assert op["book_closing_balance"] == variance_book["closing"]["ba-op"]
    assert op["variance"] == Decimal("6000.00")
    assert op["flagged"] is True
    # No snapshot for ba-op: the status is computed against BANKING_RECONCILIATION_THRESHOLD.
    assert (op["reconciliation_status"], op["balance_status"]) == (
        "not_started",
        BalanceStatus.OUT_OF_BALANCE,
    )
    assert sav["variance"] == Decimal("12.50")
    assert sav["flagged"] is False
    assert (sav["reconciliation_status"], sav["reconciliation_id"]) == ("finalized", "rec-sav-10")
    assert result["threshold"] == Decimal("5000.00")


def test_unreconciled_items_fall_in_their_age_buckets(variance_book):
    items = variance_book["open_items"]

    result = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["unreconciled"]

    for bucket in result["buckets"]:
        mine = [i for i in items if _bucket(i["date"]) == bucket["bucket"]]
        assert bucket["count"] == len(mine), bucket["bucket"]
        assert bucket["amount"] == sum((_signed(i) for i in mine), ZERO), bucket["bucket"]
    assert [b["bucket"] for b in result["buckets"]] == ["0-30", "31-60", "61-90", "90+"]
    assert result["count"] == len(items)
    assert result["amount"] == sum((_signed(i) for i in items), ZERO)


def test_unreconciled_items_by_cost_centre_with_unassigned(variance_book):
    items = variance_book["open_items"]

    rows = {
        row["key"]: row
        for row in reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["unreconciled"][
            "by_dimension"
        ]["cost_center"]
    }

    for key in {i["cost_center"] or "unassigned" for i in items}:
        mine = [i for i in items if (i["cost_center"] or "unassigned") == key]
        assert rows[key]["count"] == len(mine)
        assert rows[key]["amount"] == sum((_signed(i) for i in mine), ZERO)
        old = [i for i in mine if _bucket(i["date"]) == "90+"]
        assert rows[key]["count_90_plus"] == len(old)


def test_cash_submission_variances_per_branch_are_flagged_above_the_threshold(variance_book):
    result = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    branches = {row["branch_id"]: row for row in result["cash_submissions"]["by_branch"]}
    assert set(branches) == {"north", "south"}
    north, south = branches["north"], branches["south"]
    assert (north["expected"], north["deposited"], north["variance"], north["flagged"]) == (
        Decimal("10000.00"),
        Decimal("3000.00"),
        Decimal("-7000.00"),
        True,
    )
    assert (south["expected"], south["deposited"], south["variance"], south["flagged"]) == (
        Decimal("3300.00"),
        Decimal("2500.00"),
        Decimal("0.00"),
        False,
    )
    assert (south["pending_count"], south["pending_expected"]) == (1, Decimal("800.00"))
    by_cost_center = {row["key"]: row for row in result["cash_submissions"]["by_dimension"]["cost_center"]}
    assert by_cost_center["cc-a"]["variance"] == Decimal("-4000.00")
    assert by_cost_center["unassigned"]["variance"] == Decimal("-3000.00")
    assert by_cost_center["cc-root"]["total_variance"] == Decimal("-4000.00")
    assert by_cost_center["cc-root"]["total_deposited"] == Decimal("4500.00")


def test_alerts_list_every_flagged_line(variance_book):
    result = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    assert [(a["kind"], a["branch_id"], a["variance"]) for a in result["alerts"]] == [
        ("book_vs_statement", None, Decimal("6000.00")),
        ("cash_submission", "north", Decimal("-7000.00")),
    ]
    assert result["totals"]["alert_count"] == 2


@override_settings(BANKING_VARIANCE_ALERT_THRESHOLD=Decimal("10000.00"))
def test_a_higher_threshold_flags_nothing(variance_book):
    result = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    assert result["alerts"] == []
    assert result["threshold"] == Decimal("10000.00")


def test_an_empty_month_has_no_variance_and_nothing_open():
    build_book()

    result = reports.variance_report_get(bank_account_id="ba-sav", period="2025-10")

    assert result["accounts"][0]["variance"] is None
    assert result["accounts"][0]["balance_status"] == BalanceStatus.NO_STATEMENT
    assert result["unreconciled"]["count"] == 0
    assert result["cash_submissions"]["by_branch"] == []
    assert result["alerts"] == []


def test_a_parent_is_flagged_on_its_childrens_open_items_as_for_branch_cash():
    # Each child's open items stay under the 5,000.00 threshold; together, under their parent,
    # they do not. Branch cash flagged such a parent; the unreconciled items did not.
    build_book()
    for child in ("cc-a", "cc-b"):
        BankTransactionFactory(
            bank_account=account("ba-op"),
            amount=Decimal("3000.00"),
            direction=Direction.IN,
            transaction_date=datetime.date(2025, 10, 30),
            cost_center_id=child,
            posting_status=PostingStatus.DRAFT,
        )

    rows = {
        row["key"]: row
        for row in reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["unreconciled"][
            "by_dimension"
        ]["cost_center"]
    }

    root = rows["cc-root"]
    assert abs(root["amount"]) <= Decimal("5000.00")  # its own items alone would not flag it
    assert root["total_amount_0_30"] == Decimal("6000.00") + root["amount_0_30"]
    assert root["flagged"] is True
