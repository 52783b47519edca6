"""A transaction that explains a statement line stays as matched until it is unmatched.

- A matched draft cannot be changed or deleted (409, unmatch first), as it
  cannot be reversed: a PATCH used to pair a line of -12.50 with a transaction
  of -99.00, and in a finalized month to rewrite what was signed off.
- A suggestion whose amounts differ cannot be accepted: it would hide the difference.
- The workbench of one account does not unmatch another account's transactions.
- A draft that was matched and then unmatched can be deleted: the rejected
  match rows the unmatch leaves used to protect it for good.
"""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from banking.choices import LineMatchStatus, MatchStatus, ReconciliationStatus
from banking.matching import match_run
from banking.models import BankTransaction, ReconciliationMatch, StatementLine
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from banking.tests.reconciliation_setup import october

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"
URL = f"{BASE}/reconciliation"
WORKBENCH = "/admin/banking/bankaccount/ba-op/reconcile/2025-10/"


@pytest.fixture
def month():
    return october()


def _record_fee(admin_api):
    """Record the bank fee line sl-fee (-12.50) as a draft transaction matched to it; return its id."""
    response = admin_api.post(
        f"{BASE}/statement-lines/sl-fee/create-transaction", {"transaction_type": "fee"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["transaction_id"]


# --- 1. A matched (or reconciled) draft can still be changed --------------------------------


def test_changing_the_amount_of_a_matched_draft_transaction_is_refused(month, admin_api):
    # Given the fee line recorded as a draft transaction and matched to it (-12.50 = -12.50).
    txn_id = _record_fee(admin_api)

    # When the draft's amount is changed over the API.
    response = admin_api.patch(f"{BASE}/transactions/{txn_id}", {"amount": "99.00"}, format="json")

    # Then it is refused (unmatch it first), as reversing a matched transaction is.
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "transaction_matched"
    assert 'statement line "sl-fee"' in response.json()["detail"]
    assert "then change it" in response.json()["detail"]
    txn = BankTransaction.objects.get(pk=txn_id)
    assert txn.amount == Decimal("12.50")
    assert txn.reconciliation_status == ReconciliationStatus.MATCHED


def test_changing_a_reconciled_draft_in_a_finalized_month_is_refused(month, admin_api):
    # Given the fee recorded as a draft, matched, and the month signed off (the draft is now reconciled).
    txn_id = _record_fee(admin_api)
    finalized = admin_api.post(
        f"{URL}/finalize", {"bank_account_id": "ba-op", "period": "2025-10"}, format="json"
    )
    assert finalized.status_code == 200, finalized.content
    assert BankTransaction.objects.get(pk=txn_id).reconciliation_status == ReconciliationStatus.RECONCILED

    # When the reconciled draft's amount and date are changed.
    response = admin_api.patch(
        f"{BASE}/transactions/{txn_id}",
        {"amount": "1.00", "transaction_date": "2025-11-03"},
        format="json",
    )

    # Then the finalized month stays as signed: 409, nothing changed.
    assert response.status_code == 409, response.content
    txn = BankTransaction.objects.get(pk=txn_id)
    assert (txn.amount, txn.transaction_date) == (Decimal("12.50"), datetime.date(2025, 10, 31))


# --- 2. Accepting a suggestion whose amounts differ confirms an unequal match ----------------


def test_accepting_a_suggestion_whose_amounts_differ_is_refused(month, admin_api):
    # Given a book receipt of 1,000.00 and a bank line of 990.00 (the bank netted a fee) with the
    # same end-to-end id: the matcher suggests the pair "but the amounts differ".
    BankTransactionFactory(
        id="bt-e2e",
        bank_account=month["account"],
        amount=Decimal("1000.00"),
        transaction_date=datetime.date(2025, 10, 8),
        end_to_end_id="E2E-NET",
        posting_status="posted",
    )
    StatementLineFactory(
        id="sl-net",
        statement=month["statement"],
        booking_date=datetime.date(2025, 10, 8),
        amount=Decimal("990.00"),
        end_to_end_id="E2E-NET",
    )
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.get(statement_line_id="sl-net")
    assert suggestion.status == MatchStatus.SUGGESTED
    assert "amounts differ" in suggestion.reason

    # When it is accepted.
    response = admin_api.post(f"{URL}/matches/{suggestion.pk}/accept")

    # Then it is refused like a manual match that does not add up (docs/reconciliation.md:
    # "amounts must be equal to the cent"; record the fee and match the line by hand to both).
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "amounts_differ"
    assert "1000.00" in response.json()["detail"] and "990.00" in response.json()["detail"]
    suggestion.refresh_from_db()
    assert suggestion.status == MatchStatus.SUGGESTED
    assert StatementLine.objects.get(pk="sl-net").match_status != LineMatchStatus.MATCHED
    assert BankTransaction.objects.get(pk="bt-e2e").reconciliation_status == ReconciliationStatus.UNRECONCILED


# --- 3. The workbench of one account unmatches another account's transactions ----------------


def test_workbench_unmatch_refuses_transactions_of_another_account(month, superuser, settings):
    settings.SECURE_SSL_REDIRECT = False
    other = BankAccountFactory(id="ba-x", name="Other account")
    BankTransactionFactory(
        id="bt-x", bank_account=other, amount=Decimal("5.00"), transaction_date=datetime.date(2025, 10, 3)
    )
    StatementLineFactory(
        id="sl-x",
        statement=BankStatementFactory(bank_account=other),
        booking_date=datetime.date(2025, 10, 3),
        amount=Decimal("5.00"),
    )
    client = Client()
    client.force_login(superuser)
    matched = client.post(
        "/admin/banking/bankaccount/ba-x/reconcile/2025-10/match/",
        json.dumps({"statement_line_ids": ["sl-x"], "transaction_ids": ["bt-x"]}),
        content_type="application/json",
    )
    assert matched.status_code == 200, matched.content

    # When ba-op's workbench is asked to unmatch ba-x's transaction.
    response = client.post(
        WORKBENCH + "unmatch/", json.dumps({"transaction_ids": ["bt-x"]}), content_type="application/json"
    )

    # Then it is refused as statement lines of another account are ("this page changes its own
    # account only").
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "transaction_ids"
    assert StatementLine.objects.get(pk="sl-x").match_status == LineMatchStatus.MATCHED
    assert BankTransaction.objects.get(pk="bt-x").reconciliation_status == ReconciliationStatus.MATCHED


# --- 4. A draft that was once matched can never be deleted -----------------------------------


def test_a_draft_recorded_from_a_line_then_unmatched_can_be_deleted(month, admin_api):
    # Given the fee line recorded as a draft by mistake, then unmatched (the draft is free again).
    txn_id = _record_fee(admin_api)
    undone = admin_api.post(f"{URL}/unmatch", {"statement_line_ids": ["sl-fee"]}, format="json")
    assert undone.status_code == 200, undone.content
    assert BankTransaction.objects.get(pk=txn_id).reconciliation_status == ReconciliationStatus.UNRECONCILED

    # When the unmatched draft is deleted (docs/admin.md: drafts are added, changed and deleted).
    response = admin_api.delete(f"{BASE}/transactions/{txn_id}")

    # Then it goes, with the rejected match row the unmatch left.
    assert response.status_code == 204, response.content
    assert not BankTransaction.objects.filter(pk=txn_id).exists()
    assert not ReconciliationMatch.objects.filter(bank_transaction_id=txn_id).exists()


def test_a_matched_draft_cannot_be_deleted(month, admin_api):
    txn_id = _record_fee(admin_api)

    response = admin_api.delete(f"{BASE}/transactions/{txn_id}")

    assert response.status_code == 409, response.content
    assert "then delete it" in response.json()["detail"]
    assert BankTransaction.objects.get(pk=txn_id).reconciliation_status == ReconciliationStatus.MATCHED
    assert ReconciliationMatch.objects.get(bank_transaction_id=txn_id).status == MatchStatus.CONFIRMED


def test_a_matched_draft_sent_back_unchanged_is_accepted(month, admin_api):
    txn_id = _record_fee(admin_api)

    response = admin_api.patch(f"{BASE}/transactions/{txn_id}", {"amount": "12.50"}, format="json")

    assert response.status_code == 200, response.content
    assert BankTransaction.objects.get(pk=txn_id).reconciliation_status == ReconciliationStatus.MATCHED


def test_an_unmatched_draft_can_be_changed_again(month, admin_api):
    txn_id = _record_fee(admin_api)
    admin_api.post(f"{URL}/unmatch", {"statement_line_ids": ["sl-fee"]}, format="json")

    response = admin_api.patch(f"{BASE}/transactions/{txn_id}", {"amount": "13.00"}, format="json")

    assert response.status_code == 200, response.content
    assert BankTransaction.objects.get(pk=txn_id).amount == Decimal("13.00")
