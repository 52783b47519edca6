"""A deposit that carried branch cash is neither cut below its submissions nor orphaned by them.

A change of the draft deposit was held to what its submissions say reached the
bank, but its correction was not: a posted deposit of 70.00 corrected to 10.00
left 60.00 in cash in transit while the submission still said 70.00 reached the
bank. And a draft submission whose deposit was already posted through cash in
transit could be cancelled, leaving the deposit's credit in cash in transit with
nothing to clear it.

One user records (the clerk), another posts (the accountant): segregation of
duties is on, as in the accountant's test that found it.
"""

from decimal import Decimal

import pytest
from django.db.models import Sum

from accounting.models import JournalEntry, JournalPosting
from banking.choices import CashSubmissionStatus, PostingDocument, PostingStatus
from banking.models import BankTransaction, CashSubmission
from banking.tests import two_people
from banking.tests.posting_setup import contra, ledger_setup
from banking.tests.two_people import ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("segregation")]
segregation, clerk, accountant = two_people.segregation, two_people.clerk, two_people.accountant

BASE = "/api/v1/banking"
D = Decimal
IN_TRANSIT = contra(PostingDocument.CASH_IN_TRANSIT)


@pytest.fixture
def ledger():
    return ledger_setup()


def _deposit(clerk, pk="bt-d", amount="70.00"):
    body = {
        "id": pk,
        "bank_account_id": "ba-op",
        "transaction_type": "deposit",
        "amount": amount,
        "transaction_date": "2025-10-15",
    }
    return ok(clerk.post(f"{BASE}/transactions", body, format="json"), 201)


def _submission(clerk, pk="cs-1", amount="70.00", deposit="bt-d"):
    body = {
        "id": pk,
        "branch_id": "test-branch",
        "bank_account_id": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": amount,
        "deposited_amount": amount,
        "deposit_date": "2025-10-15",
        "deposit_transaction_id": deposit,
    }
    return clerk.post(f"{BASE}/cash-submissions", body, format="json")


def _post(api, documents, pk):
    return ok(api.post(f"{BASE}/{documents}/{pk}/post-accounting", {}, format="json"), 201)


def _correct(api, pk="bt-d", **changes):
    body = {"reversal_date": "2025-10-20", "reason": "x", "id": "dZc", **changes}
    return api.post(f"{BASE}/transactions/{pk}/correct", body, format="json")


def _reverse(api, pk, day="2025-10-20"):
    body = {"reversal_date": day, "reason": "keyed twice"}
    return ok(api.post(f"{BASE}/transactions/{pk}/reverse", body, format="json"), 201)


def _cancel(api, pk="cs-1"):
    return api.patch(f"{BASE}/cash-submissions/{pk}", {"status": "cancelled"}, format="json")


def _balance(account_id):
    totals = JournalEntry.objects.filter(account_id=account_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


@pytest.fixture
def carried(clerk, accountant, ledger):
    """Deposit bt-d of 70.00 and the submission of 70.00 it carried, both posted."""
    _deposit(clerk)
    ok(_submission(clerk), 201)
    _post(accountant, "cash-submissions", "cs-1")
    _post(accountant, "transactions", "bt-d")
    assert _balance(IN_TRANSIT) == D("0.00")


# --- (a) A correction is held to what the submissions say ------------------------------------------


def test_a_deposit_is_not_corrected_below_what_its_submission_says_reached_the_bank(accountant, carried):
    refused = _correct(accountant, amount="10.00")

    # 400 naming the amount, and nothing changed: no reversal, no corrected draft.
    assert refused.status_code == 400, refused.content
    assert "70.00" in str(refused.json()["amount"])
    assert BankTransaction.objects.get(pk="bt-d").posting_status == PostingStatus.POSTED
    assert not BankTransaction.objects.filter(pk="dZc").exists()
    assert not JournalPosting.objects.filter(reference="BT-bt-d-REV").exists()
    assert _balance(IN_TRANSIT) == D("0.00")


def test_a_deposit_corrected_to_what_its_submission_says_or_more_is_accepted(clerk, accountant, carried):
    correction = ok(_correct(accountant, amount="70.00", transaction_date="2025-10-16"), 201)
    _post(clerk, "transactions", correction["id"])  # the accountant recorded the correction

    assert _balance(IN_TRANSIT) == D("0.00")


def test_a_corrected_deposit_does_not_move_to_another_account_while_a_submission_names_it(
    accountant, carried
):
    refused = _correct(accountant, bank_account_id="ba-sav")

    assert (refused.status_code, refused.json()["code"]) == (409, "deposit_named")
    assert not BankTransaction.objects.filter(pk="dZc").exists()
    assert BankTransaction.objects.get(pk="bt-d").posting_status == PostingStatus.POSTED


def test_the_corrected_draft_is_not_lowered_below_what_the_submission_says(accountant, carried):
    ok(_correct(accountant, transaction_date="2025-10-16"), 201)

    refused = accountant.patch(f"{BASE}/transactions/dZc", {"amount": "10.00"}, format="json")

    assert refused.status_code == 400, refused.content
    assert "amount" in refused.json()
    assert BankTransaction.objects.get(pk="dZc").amount == D("70.00")


def test_a_new_submission_cannot_claim_again_what_the_corrected_deposit_clears(clerk, accountant, carried):
    # The correction clears the 70.00 of cs-1 (it named the deposit corrected): no room is left.
    ok(_correct(accountant, transaction_date="2025-10-16"), 201)

    refused = _submission(clerk, pk="cs-2", amount="50.00", deposit="dZc")

    assert refused.status_code == 400, refused.content
    assert "deposited_amount" in refused.json()
    assert not CashSubmission.objects.filter(pk="cs-2").exists()


# --- (b) A submission is not cancelled under a posted deposit ---------------------------------------


@pytest.fixture
def deposit_posted_for_a_draft(clerk, accountant, ledger):
    """Deposit bt-d of 300.00, posted through cash in transit because draft cs-1 names it."""
    _deposit(clerk, amount="300.00")
    ok(_submission(clerk, amount="300.00"), 201)
    _post(accountant, "transactions", "bt-d")
    assert _balance(IN_TRANSIT) == D("-300.00")


def test_a_submission_whose_deposit_was_posted_through_cash_in_transit_is_not_cancelled(
    clerk, deposit_posted_for_a_draft
):
    refused = _cancel(clerk)

    assert refused.status_code == 409, refused.content
    body = refused.json()
    assert body["code"] == "deposit_posted"
    assert "bt-d" in body["detail"] and "reverse" in body["detail"].lower()
    assert CashSubmission.objects.get(pk="cs-1").status == CashSubmissionStatus.DEPOSITED


def test_once_the_deposit_is_reversed_the_submission_is_cancelled_and_the_books_are_whole(
    clerk, accountant, deposit_posted_for_a_draft
):
    _reverse(accountant, "bt-d")

    cancelled = _cancel(clerk)

    assert cancelled.status_code == 200, cancelled.content
    assert CashSubmission.objects.get(pk="cs-1").status == CashSubmissionStatus.CANCELLED
    assert _balance(IN_TRANSIT) == D("0.00")


def test_a_submission_is_not_cancelled_under_the_posted_correction_of_its_deposit(
    clerk, accountant, deposit_posted_for_a_draft
):
    correction = ok(_correct(accountant, transaction_date="2025-10-16"), 201)
    _post(clerk, "transactions", correction["id"])  # through cash in transit, as cs-1 still names bt-d

    refused = _cancel(clerk)

    assert (refused.status_code, refused.json()["code"]) == (409, "deposit_posted")
    assert "dZc" in refused.json()["detail"]
