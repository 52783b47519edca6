"""Posting guards a review of the posting doors found missing.

- A receiving leg split in proportion posts exactly its amount (a negative last
  share used to be dropped: 400.00 posted for 399.99).
- A closed period cannot be deleted in the admin (the next posting recreated it open).
- An inactive GL account refuses a posting with a 409 naming it, not a 400 on a
  field the client never sent.
- A cash submission's deposit is a deposit into its account that can still
  clear cash in transit, and cash is not deposited before it was submitted.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod, GLAccount, JournalEntry, JournalPosting
from banking import posting
from banking.choices import PostingDocument, PostingStatus
from banking.models import BankTransaction, CashSubmission
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import contra, ledger_setup
from cnperp.exceptions import ConflictError

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    return ledger_setup()


def _post(client, doc_id, body=None, verb="post-accounting", documents="transactions"):
    return client.post(f"{BASE}/{documents}/{doc_id}/{verb}", body if body is not None else {}, format="json")


# --- 1. A receiving leg's proportional split loses a negative last share --------------------


def test_a_receiving_leg_posts_exactly_the_received_amount_to_the_bank(admin_api, ledger):
    """transfer_splits sets the last share to "amount - sum(others)", which can be negative
    (each earlier share rounded up), then drops it (``if share > 0``): the posting is for more
    than the bank transaction."""
    body = {
        "id": "tr-cent",
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "400.01",
        "initiated_date": "2025-10-10",
        "allocations": [
            {"amount": "100.00", "cost_center_id": "cc-hq"},
            {"amount": "100.00", "cost_center_id": "cc-ops"},
            {"amount": "100.00", "project_id": "prj-roll"},
            {"amount": "100.00", "department_id": "dep-fin"},
            {"amount": "0.01"},
        ],
    }
    assert admin_api.post(f"{BASE}/transfers", body, format="json").status_code == 201
    # More than was sent cannot arrive: it would take out of transit what never went in.
    for more in ("400.02", "1000000.00"):
        long = admin_api.post(
            f"{BASE}/transfers/tr-cent/receive",
            {"received_date": "2025-10-12", "received_amount": more},
            format="json",
        )
        assert long.status_code == 400, long.content
        assert f"A transfer of 400.01 cannot arrive with more ({more})" in long.json()["received_amount"][0]
    assert not BankTransaction.objects.filter(transfer_id="tr-cent", direction="in").exists()
    # 0.02 of bank charges: 399.99 arrives.
    received = admin_api.post(
        f"{BASE}/transfers/tr-cent/receive",
        {"received_date": "2025-10-12", "received_amount": "399.99"},
        format="json",
    )
    assert received.status_code == 200, received.content
    leg = BankTransaction.objects.get(transfer_id="tr-cent", direction="in")
    assert leg.amount == Decimal("399.99")

    response = _post(admin_api, leg.pk)

    assert response.status_code == 201, response.content
    lines = response.json()["lines"]
    bank = sum(Decimal(line["debit"]) for line in lines if line["account_id"] == "gl-bank-ba-sav")
    transit = sum(
        Decimal(line["credit"]) for line in lines if line["account_id"] == contra(PostingDocument.TRANSFER)
    )
    assert response.json()["total_debit"] == "399.99"
    assert bank == Decimal("399.99")
    assert transit == Decimal("399.99")


# --- 2. Deleting a closed period in the admin reopens the month ---------------------------------


def test_a_closed_period_cannot_be_deleted_to_reopen_the_month(client, superuser, ledger):
    """AccountingPeriodAdmin.has_delete_permission refuses only periods with postings: a closed
    month without postings can be deleted, and the next posting recreates it *open*, bypassing
    reopen_period (its permission and its audit entry)."""
    call_command("close_period", "2025-11")
    client.force_login(superuser)

    client.post("/admin/accounting/accountingperiod/2025-11/delete/", {"post": "yes"})

    period = AccountingPeriod.objects.filter(pk="2025-11").first()
    assert period is not None, "the closed period was deleted"
    assert period.status == PeriodStatus.CLOSED
    txn = BankTransactionFactory(bank_account=ledger["op"], transaction_date=datetime.date(2025, 11, 5))
    with pytest.raises(ConflictError):
        posting.bank_transaction_post(transaction_id=txn.pk, user=ledger["user"])
    assert not JournalPosting.objects.filter(source_id=txn.pk).exists()


# --- 3. An inactive GL account answers 400 naming a field the body does not have -------------


def test_posting_to_an_inactive_rule_account_is_a_409_naming_the_account(admin_api, ledger):
    """The body {} is fine; the state (an inactive contra account) forbids the posting. The API
    answers 400 {"lines": [...]} - a field the client never sent - where docs/posting.md gives
    400 only for a bad body naming its field, and the batch treats the same case like a
    missing rule (left as draft)."""
    txn = BankTransactionFactory(bank_account=ledger["op"])
    GLAccount.objects.filter(pk="gl-4000").update(is_active=False)

    response = _post(admin_api, txn.pk)

    assert response.status_code == 409, response.content
    assert "gl-4000" in response.json()["detail"]
    assert "lines" not in response.json()
    txn.refresh_from_db()
    assert txn.posting_status == PostingStatus.DRAFT


# --- 4. A cash submission can name a deposit that can never clear its cash in transit --------


def _submission_body(**extra):
    return {
        "branch_id": "test-branch",
        "bank_account_id": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": "2500.00",
        **extra,
    }


def test_a_posted_deposit_cannot_be_named_as_a_submissions_deposit(admin_api, ledger):
    """docs/posting.md: the deposit named as a submission's deposit_transaction posts with the
    cash_in_transit rule "so it clears cash in transit". A deposit already posted (with the
    deposit rule, to sales) is accepted as the submission's deposit: the submission then debits
    1160 Cash in transit 2500.00 that nothing will ever clear, and sales are overstated."""
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=Decimal("2500.00"))
    assert _post(admin_api, deposit.pk).status_code == 201

    response = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
    )

    assert response.status_code == 400, response.content
    assert "deposit_transaction_id" in response.json()
    assert not CashSubmission.objects.exists()


def test_only_a_deposit_into_the_submissions_account_can_be_its_deposit(admin_api, ledger):
    """A withdrawal from another bank account is accepted as the "deposit" of a cash
    submission into ba-op: posting it then never clears cash in transit either."""
    withdrawal = BankTransactionFactory(
        bank_account=ledger["sav"], transaction_type="withdrawal", direction="out"
    )

    response = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=withdrawal.pk), format="json"
    )

    assert response.status_code == 400, response.content
    assert "deposit_transaction_id" in response.json()
    assert not CashSubmission.objects.exists()


# --- 5. Cash deposited before it was submitted ----------------------------------------------


def test_cash_cannot_be_deposited_before_it_was_submitted(admin_api, ledger):
    """Transfers refuse arriving before being sent and floats coming back before being given;
    a cash submission deposited on 2025-10-01 but submitted on 2025-10-14 is accepted, and its
    posting (dated on the deposit date) lands before the cash left the branch - in an earlier
    period when the dates straddle a month end."""
    response = admin_api.post(
        f"{BASE}/cash-submissions",
        _submission_body(submission_date="2025-10-14", deposit_date="2025-09-30", deposited_amount="2500.00"),
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "deposit_date" in response.json()
    assert not CashSubmission.objects.exists()
    assert not JournalEntry.objects.exists()


def test_one_deposit_can_carry_several_submissions_posted_or_not(admin_api, ledger):
    # Two submissions name the draft deposit; it is posted (through cash in transit); a third
    # submission of the same deposit is still accepted: the deposit did clear cash in transit.
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=Decimal("7500.00"))
    for _ in range(2):
        response = admin_api.post(
            f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
        )
        assert response.status_code == 201, response.content
    assert _post(admin_api, deposit.pk).status_code == 201

    third = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
    )

    assert third.status_code == 201, third.content
    assert CashSubmission.objects.filter(deposit_transaction=deposit).count() == 3


def test_a_submission_keeps_its_posted_deposit_when_other_fields_change(admin_api, ledger):
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=Decimal("2500.00"))
    created = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
    )
    assert created.status_code == 201, created.content
    assert _post(admin_api, deposit.pk).status_code == 201

    response = admin_api.patch(
        f"{BASE}/cash-submissions/{created.json()['id']}", {"reference": "bag 17"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert CashSubmission.objects.get().reference == "bag 17"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"transaction_type": "withdrawal", "direction": "out"}, "is a withdrawal, not a deposit"),
        ({"posting_status": "reversed"}, "has been reversed"),
    ],
)
def test_a_submissions_deposit_must_be_a_live_deposit(admin_api, ledger, change, problem):
    deposit = BankTransactionFactory(bank_account=ledger["op"], **change)

    response = admin_api.post(
        f"{BASE}/cash-submissions", _submission_body(deposit_transaction_id=deposit.pk), format="json"
    )

    assert response.status_code == 400, response.content
    assert problem in response.json()["deposit_transaction_id"][0]
    assert not CashSubmission.objects.exists()


def test_cash_deposited_on_the_day_it_was_submitted_is_accepted(admin_api, ledger):
    response = admin_api.post(
        f"{BASE}/cash-submissions",
        _submission_body(deposit_date="2025-10-14", deposited_amount="2500.00"),
        format="json",
    )

    assert response.status_code == 201, response.content


def test_an_open_period_without_postings_can_still_be_deleted(client, superuser, ledger):
    client.force_login(superuser)
    AccountingPeriod.objects.get_or_create(
        pk="2026-03",
        defaults={"start_date": datetime.date(2026, 3, 1), "end_date": datetime.date(2026, 3, 31)},
    )

    client.post("/admin/accounting/accountingperiod/2026-03/delete/", {"post": "yes"})

    assert not AccountingPeriod.objects.filter(pk="2026-03").exists()


# --- The leg of a failed transfer is not posted ------------------------------------------


@pytest.fixture
def failed_transfer(admin_api, ledger):
    body = {
        "id": "tr-bounced",
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "300.00",
        "initiated_date": "2025-10-10",
    }
    assert admin_api.post(f"{BASE}/transfers", body, format="json").status_code == 201
    failed = admin_api.post(f"{BASE}/transfers/tr-bounced/fail", {"reason": "Account closed"}, format="json")
    assert failed.status_code == 200, failed.content
    return BankTransaction.objects.get(transfer_id="tr-bounced")


def test_the_sending_leg_of_a_failed_transfer_is_not_posted(admin_api, failed_transfer):
    # Posting it would put 300.00 in transit that nothing will ever receive.
    response = _post(admin_api, failed_transfer.pk)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "transfer_failed"
    assert "Account closed" in response.json()["detail"]
    assert not JournalPosting.objects.exists()
    failed_transfer.refresh_from_db()
    assert failed_transfer.posting_status == PostingStatus.DRAFT


def test_batch_posting_lists_the_leg_of_a_failed_transfer_and_posts_the_rest(ledger, failed_transfer):
    other = BankTransactionFactory(bank_account=ledger["op"])

    result = posting.bank_transactions_post_batch(
        transaction_ids=[failed_transfer.pk, other.pk], user=ledger["user"]
    )

    assert result.posted == [other.pk]
    assert 'Transfer "tr-bounced" failed' in result.skipped[failed_transfer.pk]
    assert BankTransaction.objects.get(pk=failed_transfer.pk).posting_status == PostingStatus.DRAFT


def test_batch_posting_lists_a_leg_whose_allocation_uses_a_deactivated_cost_centre(admin_api, ledger):
    from dimensions.models import CostCenter

    body = {
        "id": "tr-alloc",
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "100.00",
        "initiated_date": "2025-10-10",
        "allocations": [{"amount": "60.00", "cost_center_id": "cc-hq"}, {"amount": "40.00"}],
    }
    assert admin_api.post(f"{BASE}/transfers", body, format="json").status_code == 201
    leg = BankTransaction.objects.get(transfer_id="tr-alloc")
    CostCenter.objects.filter(pk="cc-hq").update(is_active=False)

    result = posting.bank_transactions_post_batch(transaction_ids=[leg.pk], user=ledger["user"])

    assert result.posted == []
    assert result.skipped[leg.pk].startswith('cost centre "cc-hq" is inactive')
