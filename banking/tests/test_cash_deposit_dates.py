"""The day a submission's cash reached the bank agrees with the deposit that carried it.

The variance report counts a submission as credited in the month of its
``deposit_date``, and its over/short posts on that day. Before, a submission
could say the bank credited it days before the deposit naming it was booked
(or give no day at all, and then never get one), so a month showed cash as
credited while it was still in transit.
"""

import datetime
from decimal import Decimal

import pytest

from banking import posting, services
from banking.models import BankTransaction, CashSubmission
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup

D = Decimal
BASE = "/api/v1/banking"
DEPOSIT_DAY = datetime.date(2025, 10, 16)


@pytest.fixture
def ledger(db):
    setup = ledger_setup()
    BankTransactionFactory(
        id="bt-dep",
        bank_account=setup["op"],
        transaction_type="deposit",
        direction="in",
        amount=D("500.00"),
        transaction_date=DEPOSIT_DAY,
    )
    return setup


def submission(**extra):
    return {
        "id": "cs-1",
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "submission_date": "2025-10-14",
        "expected_amount": "500.00",
        **extra,
    }


def test_a_deposit_date_before_the_named_deposit_is_refused_naming_it(admin_api, ledger):
    early = admin_api.post(
        f"{BASE}/cash-submissions",
        submission(deposit_transaction_id="bt-dep", deposited_amount="500.00", deposit_date="2025-10-15"),
        format="json",
    )

    assert early.status_code == 400, early.content
    assert early.json()["deposit_date"] == [
        'Bank transaction "bt-dep" credited the cash on 2025-10-16; the deposit date cannot be earlier '
        "(2025-10-15)."
    ]
    assert not CashSubmission.objects.exists()


def test_the_named_deposit_gives_its_date_when_none_is_given(admin_api, ledger):
    made = admin_api.post(
        f"{BASE}/cash-submissions",
        submission(deposit_transaction_id="bt-dep", deposited_amount="490.00"),
        format="json",
    )

    assert made.status_code == 201, made.content
    assert (made.json()["status"], made.json()["deposit_date"]) == ("deposited", "2025-10-16")


def test_a_deposited_amount_without_its_day_or_deposit_is_refused(admin_api, ledger):
    undated = admin_api.post(f"{BASE}/cash-submissions", submission(deposited_amount="490.00"), format="json")
    made = admin_api.post(f"{BASE}/cash-submissions", submission(), format="json")
    counted = admin_api.patch(f"{BASE}/cash-submissions/cs-1", {"deposited_amount": "490.00"}, format="json")

    assert undated.status_code == 400, undated.content
    assert "Give the day the bank credited the cash" in undated.json()["deposit_date"][0]
    assert made.status_code == 201
    assert counted.status_code == 400, counted.content
    assert list(CashSubmission.objects.values_list("deposited_amount", "deposit_date")) == [(None, None)]


def posted_submission(ledger, **extra):
    """cs-1, 500.00 from the test branch on 14 October, recorded and posted through the services."""
    services.cash_submission_create(
        user=ledger["user"],
        id="cs-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=datetime.date(2025, 10, 14),
        expected_amount=D("500.00"),
        **extra,
    )
    posting.cash_submission_post(submission_id="cs-1", user=ledger["user"])


def test_record_deposit_refuses_a_day_before_the_deposit(admin_api, ledger):
    posted_submission(ledger)

    early = admin_api.post(
        f"{BASE}/cash-submissions/cs-1/record-deposit",
        {"deposit_transaction_id": "bt-dep", "deposited_amount": "480.00", "deposit_date": "2025-10-15"},
        format="json",
    )

    assert early.status_code == 400, early.content
    assert "credited the cash on 2025-10-16" in early.json()["deposit_date"][0]
    recorded = CashSubmission.objects.get(pk="cs-1")
    assert (recorded.deposit_transaction_id, recorded.deposited_amount, recorded.deposit_date) == (
        None,
        None,
        None,
    )


def test_a_posted_submission_without_its_day_takes_the_one_given_with_its_deposit(admin_api, ledger):
    # Posted (before the day was needed) with what reached the bank but neither the day nor the deposit
    posted_submission(ledger, deposited_amount=D("500.00"), deposit_date=DEPOSIT_DAY)
    CashSubmission.objects.filter(pk="cs-1").update(deposit_date=None)

    linked = admin_api.post(
        f"{BASE}/cash-submissions/cs-1/record-deposit",
        {"deposit_transaction_id": "bt-dep", "deposit_date": "2025-10-17"},
        format="json",
    )

    # The day is filled in (it was not there to change), not refused as a different deposit
    assert linked.status_code == 201, linked.content
    recorded = CashSubmission.objects.get(pk="cs-1")
    assert (recorded.deposit_transaction_id, recorded.deposit_date) == ("bt-dep", datetime.date(2025, 10, 17))


def test_a_named_deposit_is_not_moved_after_the_day_its_submission_says(admin_api, ledger):
    admin_api.post(
        f"{BASE}/cash-submissions",
        submission(deposit_transaction_id="bt-dep", deposited_amount="500.00"),
        format="json",
    )

    later = admin_api.patch(f"{BASE}/transactions/bt-dep", {"transaction_date": "2025-10-20"}, format="json")
    earlier = admin_api.patch(
        f"{BASE}/transactions/bt-dep", {"transaction_date": "2025-10-15"}, format="json"
    )

    assert later.status_code == 400, later.content
    assert later.json()["transaction_date"] == [
        'Cash submission "cs-1" says this deposit credited its cash on 2025-10-16; the deposit cannot be '
        "dated later (2025-10-20). Change the submission's deposit date first."
    ]
    assert earlier.status_code == 200, earlier.content
    assert BankTransaction.objects.get(pk="bt-dep").transaction_date == datetime.date(2025, 10, 15)
