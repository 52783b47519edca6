"""A transaction that explains a bank statement line is not reversed behind the reconciliation's back.

Reversing it would leave the bank's line paired with a transaction that no
longer counts in the books; the reversal is refused (409 naming the line) until
the pair is unmatched, and then it goes through as usual.
"""

import datetime
from decimal import Decimal

import pytest

from accounting.models import JournalPosting
from banking import matching
from banking.choices import PostingStatus, ReconciliationStatus
from banking.models import BankTransaction
from banking.posting import bank_transaction_correct, bank_transaction_post, bank_transaction_reverse
from banking.tests.factories import BankTransactionFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import ConflictError

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"
OCT_20 = datetime.date(2025, 10, 20)


@pytest.fixture
def matched(superuser):
    """A posted deposit of 250.00 matched by hand to the bank's statement line ``sl-oct-7``."""
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-paid", bank_account=ledger["op"], amount=Decimal("250.00"))
    bank_transaction_post(transaction_id="bt-paid", user=superuser)
    StatementLineFactory(
        id="sl-oct-7",
        statement__bank_account=ledger["op"],
        amount=Decimal("250.00"),
        booking_date=datetime.date(2025, 10, 16),
    )
    matching.match_manual(statement_line_ids=["sl-oct-7"], transaction_ids=["bt-paid"], user=superuser)
    return ledger


def _reversals():
    return JournalPosting.objects.filter(source_id="bt-paid", purpose="reverse").count()


def test_reversing_a_matched_transaction_over_the_api_is_a_409_naming_the_line(admin_api, matched):
    # Given a posted transaction matched to a statement line.
    # When it is reversed over HTTP.
    response = admin_api.post(
        f"{BASE}/transactions/bt-paid/reverse",
        {"reversal_date": "2025-10-20", "reason": "Wrong customer"},
        format="json",
    )

    # Then the answer is a 409 that names the line and says to unmatch first; nothing changed.
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "transaction_matched"
    assert '"sl-oct-7"' in body["detail"]
    assert "unmatch it first" in body["detail"]
    txn = BankTransaction.objects.get(pk="bt-paid")
    assert txn.posting_status == PostingStatus.POSTED
    assert txn.reconciliation_status == ReconciliationStatus.MATCHED
    assert _reversals() == 0


def test_correcting_a_matched_transaction_over_the_api_is_refused_too(admin_api, matched):
    response = admin_api.post(
        f"{BASE}/transactions/bt-paid/correct",
        {"reversal_date": "2025-10-20", "reason": "Wrong amount", "amount": "205.00"},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert '"sl-oct-7"' in response.json()["detail"]
    assert BankTransaction.objects.filter(corrects_id="bt-paid").count() == 0
    assert _reversals() == 0


def test_the_service_refuses_then_reverses_once_unmatched(superuser, matched):
    # Given the matched transaction, the service refuses to reverse it.
    with pytest.raises(ConflictError) as refused:
        bank_transaction_reverse(
            transaction_id="bt-paid", user=superuser, reversal_date=OCT_20, reason="Wrong customer"
        )
    assert refused.value.code == "transaction_matched"
    assert "sl-oct-7" in refused.value.message
    assert _reversals() == 0

    # When the pair is unmatched, the same reversal goes through.
    matching.match_undo(user=superuser, statement_line_ids=["sl-oct-7"])
    reversal = bank_transaction_reverse(
        transaction_id="bt-paid", user=superuser, reversal_date=OCT_20, reason="Wrong customer"
    )

    assert reversal.reference == "BT-bt-paid-REV"
    assert BankTransaction.objects.get(pk="bt-paid").posting_status == PostingStatus.REVERSED


def test_a_reconciled_transaction_without_a_match_row_is_refused_as_well(superuser):
    # Given a transaction marked reconciled (a finalized month), whatever its match rows say.
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-rec", bank_account=ledger["op"], amount=Decimal("80.00"))
    bank_transaction_post(transaction_id="bt-rec", user=superuser)
    BankTransaction.objects.filter(pk="bt-rec").update(reconciliation_status=ReconciliationStatus.RECONCILED)

    with pytest.raises(ConflictError) as refused:
        bank_transaction_reverse(transaction_id="bt-rec", user=superuser, reversal_date=OCT_20, reason="x")

    assert "reconciled" in refused.value.message
    assert "unmatch it first" in refused.value.message


def test_an_unmatched_transaction_still_corrects_in_one_action(superuser):
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-free", bank_account=ledger["op"], amount=Decimal("80.00"))
    bank_transaction_post(transaction_id="bt-free", user=superuser)

    draft = bank_transaction_correct(
        transaction_id="bt-free", user=superuser, reversal_date=OCT_20, reason="Typo", amount=Decimal("8.00")
    )

    assert draft.amount == Decimal("8.00")
    assert BankTransaction.objects.get(pk="bt-free").posting_status == PostingStatus.REVERSED
