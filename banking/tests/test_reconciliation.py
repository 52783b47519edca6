"""The reconciliation result, snapshots and sign-off, through the services."""

from decimal import Decimal

import pytest
from django.test import override_settings

from accounting.tests.factories import UserFactory
from banking.choices import BalanceStatus, ReconciliationState, ReconciliationStatus
from banking.matching import match_run
from banking.models import BankReconciliation, BankTransaction
from banking.reconciliation import (
    balance_status,
    reconcile_banking_by_dimension,
    reconciliation_finalize,
    reconciliation_run,
    reconciliation_snapshot_save,
)
from banking.tests.factories import BankAccountFactory
from banking.tests.reconciliation_setup import october
from cnperp.exceptions import ConflictError, DomainError, NotFoundError

pytestmark = pytest.mark.django_db


@pytest.fixture
def month():
    return october()


@pytest.fixture
def controller():
    return UserFactory(username="controller")


def bucket(result, dimension, key):
    return next(row for row in result["dimensions"][dimension] if row["key"] == key)


def test_book_balances_come_from_the_gl_lines_of_the_bank_account(month):
    # Given GL lines before, in and after October on the bank's GL account
    # When the month is reconciled
    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    # Then opening counts September, closing counts October, November is left out
    assert result["book_opening_balance"] == Decimal("1000.00")
    assert result["book_closing_balance"] == Decimal("1600.00")
    assert result["statement_opening_balance"] == Decimal("1000.00")
    assert result["statement_closing_balance"] == Decimal("1587.50")
    assert result["variance"] == Decimal("-12.50")
    assert result["status"] == BalanceStatus.WITHIN_THRESHOLD
    assert result["threshold"] == Decimal("1000.00")


def test_matched_and_unmatched_items_after_matching(month):
    # Given the month matched
    match_run(bank_account_id="ba-op", period="2025-10")

    # When it is reconciled
    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    # Then three lines are matched and the fee and the cheque are open
    assert (result["matched_count"], result["matched_amount"]) == (3, Decimal("600.00"))
    assert result["matched_transaction_count"] == 3
    lines = result["unmatched_statement_lines"]
    assert (lines["count"], lines["total"]) == (1, Decimal("-12.50"))
    assert [row["id"] for row in lines["items"]] == ["sl-fee"]
    books = result["unmatched_book_items"]
    assert (books["count"], books["total"]) == (1, Decimal("-150.00"))
    assert [(row["id"], row["amount"]) for row in books["items"]] == [("bt-chq-150", Decimal("-150.00"))]


def test_the_breakdown_by_dimension_has_an_unassigned_bucket_and_adds_up(month):
    match_run(bank_account_id="ba-op", period="2025-10")

    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    hq = bucket(result, "cost_center", "cc-hq")
    assert (hq["name"], hq["book_opening_balance"], hq["book_closing_balance"]) == (
        "Head office",
        Decimal("1000.00"),
        Decimal("1500.00"),
    )
    assert (hq["matched_amount"], hq["unmatched_book_count"], hq["unmatched_book_amount"]) == (
        Decimal("500.00"),
        1,
        Decimal("-150.00"),
    )
    north = bucket(result, "cost_center", "cc-north")
    assert (north["book_closing_balance"], north["matched_amount"]) == (
        Decimal("-200.00"),
        Decimal("-200.00"),
    )
    unassigned = bucket(result, "cost_center", "unassigned")
    assert unassigned["name"] == "Unassigned"
    assert (unassigned["book_closing_balance"], unassigned["matched_amount"]) == (
        Decimal("300.00"),
        Decimal("300.00"),
    )
    assert (unassigned["unmatched_statement_count"], unassigned["unmatched_statement_amount"]) == (
        1,
        Decimal("-12.50"),
    )
    assert unassigned["movement_difference"] == Decimal("-12.50")
    # Every dimension accounts for every amount: the buckets add up to the totals
    for dimension in ("cost_center", "project", "department"):
        rows = result["dimensions"][dimension]
        assert sum(row["book_closing_balance"] for row in rows) == result["book_closing_balance"]
        assert sum(row["matched_amount"] for row in rows) == result["matched_amount"]
        assert rows[-1]["key"] == "unassigned"
    assert bucket(result, "project", "prj-a")["book_closing_balance"] == Decimal("500.00")
    assert bucket(result, "department", "unassigned")["book_closing_balance"] == Decimal("1600.00")


def test_no_statement_means_no_variance():
    # Given an account without statements
    BankAccountFactory(id="ba-empty")

    result = reconcile_banking_by_dimension("ba-empty", "2025-10")

    assert result["statement_closing_balance"] is None
    assert result["variance"] is None
    assert result["status"] == BalanceStatus.NO_STATEMENT
    # and the unassigned bucket is always there, even empty
    assert [(row["key"], row["book_closing_balance"]) for row in result["dimensions"]["cost_center"]] == [
        ("unassigned", Decimal("0.00"))
    ]


@pytest.mark.parametrize(
    ("variance", "expected"),
    [
        (Decimal("0.00"), BalanceStatus.BALANCED),
        (Decimal("-1000.00"), BalanceStatus.WITHIN_THRESHOLD),
        (Decimal("1000.01"), BalanceStatus.OUT_OF_BALANCE),
        (None, BalanceStatus.NO_STATEMENT),
    ],
)
def test_status_against_the_threshold(variance, expected):
    assert balance_status(variance) == expected


@override_settings(BANKING_RECONCILIATION_THRESHOLD=Decimal("10.00"))
def test_the_threshold_is_the_setting(month):
    assert reconcile_banking_by_dimension("ba-op", "2025-10")["status"] == BalanceStatus.OUT_OF_BALANCE


def test_unknown_account_and_bad_period_are_named():
    with pytest.raises(NotFoundError) as missing:
        reconcile_banking_by_dimension("ba-nope", "2025-10")
    assert missing.value.field == "bank_account_id"
    for bad in ("2025-13", "October", "", None):
        with pytest.raises(DomainError) as caught:
            reconcile_banking_by_dimension("ba-op", bad)
        assert caught.value.field == "period"


# --- Snapshots and sign-off ------------------------------------------------------------


def test_the_snapshot_stores_the_result_and_is_refreshed_in_place(month, controller):
    snapshot, result = reconciliation_snapshot_save(
        bank_account_id="ba-op", period="2025-10", user=controller
    )

    assert (snapshot.book_closing_balance, snapshot.statement_closing_balance, snapshot.variance) == (
        Decimal("1600.00"),
        Decimal("1587.50"),
        Decimal("-12.50"),
    )
    assert (snapshot.balance_status, snapshot.status, snapshot.prepared_by) == (
        BalanceStatus.WITHIN_THRESHOLD,
        ReconciliationState.DRAFT,
        controller,
    )
    assert snapshot.unmatched_statement_count == 4
    assert snapshot.dimension_breakdown["cost_center"][0]["book_closing_balance"] == "1500.00"
    assert result["reconciliation"]["id"] == snapshot.pk

    # When matching runs and the snapshot is saved again, the same row is updated
    again, _result, _run = reconciliation_run(bank_account_id="ba-op", period="2025-10", user=controller)
    assert again.pk == snapshot.pk
    assert (again.matched_count, again.unmatched_statement_count) == (3, 1)
    assert BankReconciliation.objects.count() == 1


def test_finalizing_locks_the_month_and_marks_transactions_reconciled(month, controller):
    reconciliation_run(bank_account_id="ba-op", period="2025-10", user=controller)

    snapshot, result = reconciliation_finalize(bank_account_id="ba-op", period="2025-10", user=controller)

    assert (snapshot.status, snapshot.approved_by, snapshot.approved_at is not None) == (
        ReconciliationState.FINALIZED,
        controller,
        True,
    )
    assert result["reconciliation"]["approved_by"] == "controller"
    reconciled = BankTransaction.objects.filter(reconciliation_status=ReconciliationStatus.RECONCILED)
    assert set(reconciled.values_list("pk", flat=True)) == {"bt-in-500", "bt-out-200", "bt-in-300"}
    assert all(txn.reconciled_at for txn in reconciled)
    # and nothing about the month may change afterwards
    with pytest.raises(ConflictError, match="was finalized by controller"):
        reconciliation_snapshot_save(bank_account_id="ba-op", period="2025-10", user=controller)
    with pytest.raises(ConflictError, match="was finalized"):
        reconciliation_finalize(reconciliation_id=snapshot.pk, user=controller)
    with pytest.raises(ConflictError, match="was finalized"):
        match_run(bank_account_id="ba-op", period="2025-10")


def test_sign_off_needs_a_statement():
    BankAccountFactory(id="ba-empty")
    with pytest.raises(ConflictError, match="No bank statement covers 2025-10"):
        reconciliation_finalize(bank_account_id="ba-empty", period="2025-10", user=UserFactory())
    assert not BankReconciliation.objects.filter(status=ReconciliationState.FINALIZED).exists()


@override_settings(BANKING_RECONCILIATION_THRESHOLD=Decimal("10.00"))
def test_an_out_of_balance_month_is_signed_off_only_with_a_note(month, controller):
    with pytest.raises(DomainError) as caught:
        reconciliation_finalize(bank_account_id="ba-op", period="2025-10", user=controller)
    assert caught.value.field == "note"

    snapshot, _ = reconciliation_finalize(
        bank_account_id="ba-op", period="2025-10", user=controller, note="Fee booked in November."
    )
    assert snapshot.status == ReconciliationState.FINALIZED
    assert snapshot.notes == "Fee booked in November."


def test_finalize_names_its_target():
    with pytest.raises(DomainError) as caught:
        reconciliation_finalize(user=UserFactory())
    assert caught.value.field == "reconciliation_id"
    with pytest.raises(NotFoundError) as missing:
        reconciliation_finalize(reconciliation_id="rec-nope", user=UserFactory())
    assert missing.value.field == "reconciliation_id"
