"""Records sent back as read, and the links that must hold while they change.

- A cash submission's deposit stays a deposit into the submission's account, from
  either side: moving the submission, or moving (or retyping) the deposit it names.
- A matched draft sent back exactly as read is accepted, and its narrative may be
  corrected; what the match rests on (amount, date, account, dimensions) may not.
- The record's own id sent back with a trailing space (as the field trims it) is
  not "a changed id".
"""

from decimal import Decimal

import pytest

from banking import matching
from banking.models import CashSubmission
from banking.tests.factories import BankTransactionFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"
READ_ONLY = (
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "posted_at",
    "posted_by",
    "gl_reference",
    "reconciliation_status",
    "reconciled_at",
    "transfer_id",
    "corrects_id",
)


@pytest.fixture
def ledger():
    return ledger_setup()


def _submission_body(**extra):
    return {
        "branch_id": "test-branch",
        "bank_account_id": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": "2500.00",
        **extra,
    }


def _submission_naming_a_draft_deposit_into_ba_op(admin_api, ledger):
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=Decimal("2500.00"))
    created = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
    )
    assert created.status_code == 201, created.content
    return deposit, created.json()["id"]


# --- 1. The deposit check is skipped when the submission's account changes ---------------------


def test_moving_a_submission_to_another_account_keeps_a_deposit_into_the_old_one(admin_api, ledger):
    _deposit, submission_id = _submission_naming_a_draft_deposit_into_ba_op(admin_api, ledger)

    response = admin_api.patch(
        f"{BASE}/cash-submissions/{submission_id}", {"bank_account_id": "ba-sav"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "deposit_transaction_id" in response.json()
    assert CashSubmission.objects.get(pk=submission_id).bank_account_id == "ba-op"


def test_moving_a_named_deposit_to_another_account_is_refused(admin_api, ledger):
    deposit, _submission_id = _submission_naming_a_draft_deposit_into_ba_op(admin_api, ledger)

    response = admin_api.patch(
        f"{BASE}/transactions/{deposit.pk}", {"bank_account_id": "ba-sav"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "deposit_named"
    deposit.refresh_from_db()
    assert deposit.bank_account_id == "ba-op"


# --- 2. A matched draft sent back as read is refused -------------------------------------------


def test_a_matched_draft_recorded_from_a_statement_line_can_be_sent_back_as_read(admin_api, ledger):
    # The narrative cut at 255 characters ends in a space, which the API trims.
    line = StatementLineFactory(
        statement__bank_account=ledger["op"], amount=Decimal("100.00"), narrative="x" * 254 + " INVOICE 42"
    )
    txn, *_ = matching.statement_line_create_transaction(
        statement_line_id=line.pk, user=ledger["user"], transaction_type="deposit"
    )
    got = admin_api.get(f"{BASE}/transactions/{txn.pk}").json()
    assert got["reconciliation_status"] == "matched"
    body = {name: value for name, value in got.items() if name not in READ_ONLY}

    response = admin_api.put(f"{BASE}/transactions/{txn.pk}", body, format="json")

    assert response.status_code == 200, response.content


# --- 3. The record's own id with a trailing space is "a changed id" ---------------------------


def test_an_update_with_the_records_own_id_and_a_trailing_space_is_accepted(admin_api, ledger):
    got = admin_api.get(f"{BASE}/bank-accounts/ba-op").json()
    body = {name: value for name, value in got.items() if name not in READ_ONLY}
    body["id"] = "ba-op "

    response = admin_api.put(f"{BASE}/bank-accounts/ba-op", body, format="json")

    assert response.status_code == 200, response.content


def test_a_matched_drafts_narrative_may_be_corrected_but_not_its_amount(admin_api, ledger):
    line = StatementLineFactory(statement__bank_account=ledger["op"], amount=Decimal("100.00"))
    txn, *_ = matching.statement_line_create_transaction(
        statement_line_id=line.pk, user=ledger["user"], transaction_type="deposit"
    )

    narrative = admin_api.patch(f"{BASE}/transactions/{txn.pk}", {"description": "Rent, Oct"}, format="json")
    amount = admin_api.patch(f"{BASE}/transactions/{txn.pk}", {"amount": "90.00"}, format="json")
    cost_centre = admin_api.patch(f"{BASE}/transactions/{txn.pk}", {"cost_center_id": "cc-hq"}, format="json")

    assert narrative.status_code == 200, narrative.content
    assert amount.status_code == 409 and cost_centre.status_code == 409
    txn.refresh_from_db()
    assert (txn.description, txn.amount, txn.cost_center_id) == ("Rent, Oct", Decimal("100.00"), None)


def test_a_named_deposit_may_still_change_its_amount_and_narrative(admin_api, ledger):
    deposit, _submission_id = _submission_naming_a_draft_deposit_into_ba_op(admin_api, ledger)

    response = admin_api.patch(
        f"{BASE}/transactions/{deposit.pk}", {"amount": "2450.00", "description": "Bag 17"}, format="json"
    )

    assert response.status_code == 200, response.content
