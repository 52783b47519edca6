"""The posting actions of the banking admin, through the changelist as finance staff use it.

Post (bank transactions through the batch service), reverse (with an
intermediate page asking the date and reason), reverse and correct, and the
same for cash submissions and float allocations (with the float's return).
Each action needs its own permission; refusals come back as messages and
change nothing.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client

from accounting.models import AccountingPeriod, JournalPosting
from accounting.services import accounting_period_close
from accounting.tests.factories import UserFactory
from banking import matching
from banking.choices import FloatStatus, PostingStatus
from banking.models import BankTransaction, CashSubmission, FloatAllocation
from banking.posting import bank_transaction_post, float_allocation_post
from banking.tests.factories import (
    BankTransactionFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from cnperp.tests.admin_pages import change_url, changelist_url

pytestmark = pytest.mark.django_db

REVERSAL = {"reversal_date": "2025-10-20", "reason": "Booked to the wrong customer"}


@pytest.fixture
def ledger():
    return ledger_setup()


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _staff(*codenames):
    """Return a client signed in as staff holding view and change on the documents, plus ``codenames``."""
    user = UserFactory(username="clerk-anna", is_staff=True)
    names = ["view_banktransaction", "change_banktransaction", "view_cashsubmission"]
    names += ["change_cashsubmission", "view_floatallocation", "change_floatallocation", *codenames]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="banking", codename__in=names)
    )
    client = Client()
    client.force_login(user)
    return client


def _act(client, model, action, ids, **extra):
    """POST the changelist's action form as the browser does, follow the redirect; return the response."""
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "index": 0, **extra}
    return client.post(changelist_url(model), data, follow=True)


def _confirm(client, model, action, ids, **fields):
    """Submit an action's intermediate page (the second POST, without ``index``)."""
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "confirm": "yes", **fields}
    return client.post(changelist_url(model), data, follow=True)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def _offered(client, model):
    action_form = client.get(changelist_url(model)).context["action_form"]
    if action_form is None:  # no action at all is offered
        return set()
    return {value for value, _label in action_form.fields["action"].choices if value}


# --- Bank transactions: post ------------------------------------------------------


def test_posting_selected_drafts_posts_them_and_says_what_was_left_alone(admin_client, superuser, ledger):
    # Given two drafts and one transaction already posted.
    for pk in ("bt-a1", "bt-a2", "bt-a3"):
        BankTransactionFactory(id=pk, bank_account=ledger["op"], cost_center=ledger["cc"])
    bank_transaction_post(transaction_id="bt-a3", user=superuser)

    # When the superuser posts all three from the changelist.
    response = _act(admin_client, BankTransaction, "post_to_ledger", ["bt-a1", "bt-a2", "bt-a3"])

    # Then the two drafts are posted once each, and the message says so and names the third.
    assert response.status_code == 200
    messages = _messages(response)
    assert "2 bank transactions posted to the general ledger." in messages
    assert any("bt-a3: already posted" in message for message in messages)
    assert set(
        BankTransaction.objects.filter(posting_status=PostingStatus.POSTED).values_list("pk", flat=True)
    ) == {"bt-a1", "bt-a2", "bt-a3"}
    assert JournalPosting.objects.filter(source_id__in=["bt-a1", "bt-a2", "bt-a3"]).count() == 3
    assert BankTransaction.objects.get(pk="bt-a1").posted_by == superuser


def test_a_draft_in_a_closed_period_is_skipped_with_the_reason(admin_client, superuser, ledger):
    # Given October closed, one October draft and one November draft.
    BankTransactionFactory(id="bt-oct", bank_account=ledger["op"])
    BankTransactionFactory(
        id="bt-nov", bank_account=ledger["op"], transaction_date=datetime.date(2025, 11, 3)
    )
    accounting_period_close(period_id="2025-10", user=superuser)

    response = _act(admin_client, BankTransaction, "post_to_ledger", ["bt-oct", "bt-nov"])

    messages = _messages(response)
    assert "1 bank transaction posted to the general ledger." in messages
    assert any("bt-oct: period 2025-10 is closed" in message for message in messages)
    assert BankTransaction.objects.get(pk="bt-oct").posting_status == PostingStatus.DRAFT
    assert not JournalPosting.objects.filter(source_id="bt-oct").exists()


def test_a_long_selection_is_posted_batch_by_batch(admin_client, superuser, ledger, monkeypatch):
    # Given five drafts, one of them in a closed month, and batches of two.
    monkeypatch.setattr("banking.admin_posting.ADMIN_BATCH_SIZE", 2)
    ids = [f"bt-b{n}" for n in range(5)]
    for pk in ids[:4]:
        BankTransactionFactory(id=pk, bank_account=ledger["op"])
    BankTransactionFactory(id=ids[4], bank_account=ledger["op"], transaction_date=datetime.date(2025, 9, 30))
    accounting_period_close(period_id="2025-09", user=superuser)

    # When all five are selected with "select all" and posted.
    response = admin_client.post(
        changelist_url(BankTransaction),
        {"action": "post_to_ledger", ACTION_CHECKBOX_NAME: ids[:1], "select_across": "1", "index": 0},
        follow=True,
    )

    # Then the four of October are posted over three batches, and the September one is named.
    messages = _messages(response)
    assert "4 bank transactions posted to the general ledger." in messages
    assert any("bt-b4: period 2025-09 is closed" in message for message in messages)
    assert JournalPosting.objects.filter(source_id__in=ids).count() == 4


def test_staff_without_the_post_permission_is_not_offered_the_action_and_is_refused(ledger):
    # Given a clerk holding view and change on transactions, but not the post permission.
    client = _staff()
    BankTransactionFactory(id="bt-clerk", bank_account=ledger["op"])

    # Then the posting actions are not offered ...
    assert _offered(client, BankTransaction).isdisjoint(
        {"post_to_ledger", "reverse_posted", "reverse_and_correct"}
    )

    # ... and calling the action anyway changes nothing.
    response = _act(client, BankTransaction, "post_to_ledger", ["bt-clerk"])

    assert response.status_code == 200
    assert BankTransaction.objects.get(pk="bt-clerk").posting_status == PostingStatus.DRAFT
    assert not JournalPosting.objects.exists()


def test_staff_with_the_post_permission_posts(ledger):
    client = _staff("post_banktransaction")
    BankTransactionFactory(id="bt-poster", bank_account=ledger["op"])

    assert "post_to_ledger" in _offered(client, BankTransaction)
    assert "reverse_posted" not in _offered(client, BankTransaction)
    response = _act(client, BankTransaction, "post_to_ledger", ["bt-poster"])

    assert "1 bank transaction posted to the general ledger." in _messages(response)
    assert BankTransaction.objects.get(pk="bt-poster").posting_status == PostingStatus.POSTED


def test_a_posted_transaction_is_read_only_in_the_admin(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-final", bank_account=ledger["op"], amount=Decimal("40.00"))
    _act(admin_client, BankTransaction, "post_to_ledger", ["bt-final"])
    txn = BankTransaction.objects.get(pk="bt-final")

    page = admin_client.get(change_url(txn))
    edit = admin_client.post(change_url(txn), {"amount": "41.00", "_save": "Save"})

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert edit.status_code == 403
    assert BankTransaction.objects.get(pk="bt-final").amount == Decimal("40.00")


# --- Bank transactions: reverse, reverse and correct -----------------------------------


def test_reverse_asks_for_the_date_and_reason_then_reverses(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-rev", bank_account=ledger["op"], amount=Decimal("75.50"))
    bank_transaction_post(transaction_id="bt-rev", user=superuser)

    # When the action is chosen, an intermediate page asks for the reversal's date and reason.
    page = _act(admin_client, BankTransaction, "reverse_posted", ["bt-rev"])
    assert page.status_code == 200
    assert "reversal_date" in page.context["form"].fields
    assert BankTransaction.objects.get(pk="bt-rev").posting_status == PostingStatus.POSTED

    # When it is submitted, the transaction is reversed on that date.
    response = _confirm(admin_client, BankTransaction, "reverse_posted", ["bt-rev"], **REVERSAL)

    assert "1 bank transaction reversed." in _messages(response)
    reversal = JournalPosting.objects.get(source_id="bt-rev", purpose="reverse")
    assert reversal.entry_date == datetime.date(2025, 10, 20)
    assert reversal.reason == REVERSAL["reason"]
    assert BankTransaction.objects.get(pk="bt-rev").posting_status == PostingStatus.REVERSED


def test_reversing_twice_is_refused_with_a_message(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-twice", bank_account=ledger["op"])
    bank_transaction_post(transaction_id="bt-twice", user=superuser)
    _confirm(admin_client, BankTransaction, "reverse_posted", ["bt-twice"], **REVERSAL)

    response = _confirm(admin_client, BankTransaction, "reverse_posted", ["bt-twice"], **REVERSAL)

    assert response.status_code == 200
    assert any("already been reversed" in message for message in _messages(response))
    assert JournalPosting.objects.filter(source_id="bt-twice", purpose="reverse").count() == 1


def test_reversing_into_a_closed_period_is_refused_with_a_message(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-late", bank_account=ledger["op"])
    bank_transaction_post(transaction_id="bt-late", user=superuser)
    accounting_period_close(period_id="2025-10", user=superuser)

    response = _confirm(admin_client, BankTransaction, "reverse_posted", ["bt-late"], **REVERSAL)

    assert any("Period 2025-10 is closed" in message for message in _messages(response))
    assert BankTransaction.objects.get(pk="bt-late").posting_status == PostingStatus.POSTED
    assert not JournalPosting.objects.filter(purpose="reverse").exists()


def test_a_bad_reversal_date_shows_the_page_again_with_the_error(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-bad", bank_account=ledger["op"])
    bank_transaction_post(transaction_id="bt-bad", user=superuser)

    response = _confirm(
        admin_client, BankTransaction, "reverse_posted", ["bt-bad"], reversal_date="20/10/2025x", reason=" "
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "reversal_date" in errors
    assert "reason" in errors
    assert BankTransaction.objects.get(pk="bt-bad").posting_status == PostingStatus.POSTED


def test_reversing_a_matched_transaction_names_the_statement_line(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-matched", bank_account=ledger["op"], amount=Decimal("250.00"))
    bank_transaction_post(transaction_id="bt-matched", user=superuser)
    StatementLineFactory(id="sl-250", statement__bank_account=ledger["op"], amount=Decimal("250.00"))
    matching.match_manual(statement_line_ids=["sl-250"], transaction_ids=["bt-matched"], user=superuser)

    response = _confirm(admin_client, BankTransaction, "reverse_posted", ["bt-matched"], **REVERSAL)

    assert any('"sl-250"' in message and "unmatch" in message for message in _messages(response))
    assert BankTransaction.objects.get(pk="bt-matched").posting_status == PostingStatus.POSTED


def test_reverse_and_correct_opens_the_corrected_draft(admin_client, superuser, ledger):
    BankTransactionFactory(id="bt-wrong", bank_account=ledger["op"], amount=Decimal("99.00"))
    bank_transaction_post(transaction_id="bt-wrong", user=superuser)

    response = _confirm(admin_client, BankTransaction, "reverse_and_correct", ["bt-wrong"], **REVERSAL)

    draft = BankTransaction.objects.get(corrects_id="bt-wrong")
    assert response.redirect_chain[-1][0] == change_url(draft)
    assert draft.posting_status == PostingStatus.DRAFT
    assert draft.amount == Decimal("99.00")
    assert BankTransaction.objects.get(pk="bt-wrong").posting_status == PostingStatus.REVERSED
    assert any(draft.pk in message for message in _messages(response))


def test_reverse_and_correct_takes_one_transaction_at_a_time(admin_client, superuser, ledger):
    for pk in ("bt-c1", "bt-c2"):
        BankTransactionFactory(id=pk, bank_account=ledger["op"])
        bank_transaction_post(transaction_id=pk, user=superuser)

    response = _confirm(admin_client, BankTransaction, "reverse_and_correct", ["bt-c1", "bt-c2"], **REVERSAL)

    assert "Select one transaction to reverse and correct at a time." in _messages(response)
    assert not BankTransaction.objects.filter(posting_status=PostingStatus.REVERSED).exists()


def test_staff_without_the_reverse_permission_cannot_reverse(superuser, ledger):
    client = _staff("post_banktransaction")
    BankTransactionFactory(id="bt-keep", bank_account=ledger["op"])
    bank_transaction_post(transaction_id="bt-keep", user=superuser)

    _confirm(client, BankTransaction, "reverse_posted", ["bt-keep"], **REVERSAL)
    _confirm(client, BankTransaction, "reverse_and_correct", ["bt-keep"], **REVERSAL)

    assert BankTransaction.objects.get(pk="bt-keep").posting_status == PostingStatus.POSTED
    assert not JournalPosting.objects.filter(purpose="reverse").exists()
    assert not BankTransaction.objects.filter(corrects_id="bt-keep").exists()


# --- Cash submissions and float allocations ------------------------------------------


def test_cash_submissions_are_posted_and_reversed(admin_client, ledger):
    CashSubmissionFactory(id="cs-1", bank_account=ledger["op"], branch=ledger["branch"])

    posted = _act(admin_client, CashSubmission, "post_to_ledger", ["cs-1"])
    again = _act(admin_client, CashSubmission, "post_to_ledger", ["cs-1"])
    reversed_ = _confirm(admin_client, CashSubmission, "reverse_posted", ["cs-1"], **REVERSAL)

    assert "1 cash submission posted to the general ledger." in _messages(posted)
    assert any("cs-1: already posted" in message for message in _messages(again))
    assert "1 cash submission reversed." in _messages(reversed_)
    assert CashSubmission.objects.get(pk="cs-1").posting_status == PostingStatus.REVERSED
    assert JournalPosting.objects.filter(source_id="cs-1").count() == 2


def test_staff_without_the_cash_permissions_changes_nothing(superuser, ledger):
    client = _staff()
    CashSubmissionFactory(id="cs-2", bank_account=ledger["op"], branch=ledger["branch"])

    assert _offered(client, CashSubmission).isdisjoint({"post_to_ledger", "reverse_posted"})
    _act(client, CashSubmission, "post_to_ledger", ["cs-2"])

    assert CashSubmission.objects.get(pk="cs-2").posting_status == PostingStatus.DRAFT


def test_a_float_is_posted_returned_and_a_returned_float_is_not_reversed(admin_client, ledger):
    FloatAllocationFactory(id="fa-1", bank_account=ledger["op"], branch=ledger["branch"])

    posted = _act(admin_client, FloatAllocation, "post_to_ledger", ["fa-1"])
    form = _act(admin_client, FloatAllocation, "post_return", ["fa-1"])
    returned = _confirm(
        admin_client,
        FloatAllocation,
        "post_return",
        ["fa-1"],
        return_date="2025-10-25",
        returned_amount="500.00",
    )
    refused = _confirm(admin_client, FloatAllocation, "reverse_posted", ["fa-1"], **REVERSAL)

    assert "1 float allocation posted to the general ledger." in _messages(posted)
    assert "return_date" in form.context["form"].fields
    assert "1 float allocation returned and posted." in _messages(returned)
    allocation = FloatAllocation.objects.get(pk="fa-1")
    assert allocation.status == FloatStatus.RETURNED
    assert allocation.returned_amount == Decimal("500.00")
    # Reversing the float is refused while its return stands (reverse the return first).
    assert any("has a posted return" in message for message in _messages(refused))
    assert allocation.posting_status == PostingStatus.POSTED


def test_a_float_return_larger_than_the_float_is_refused(admin_client, superuser, ledger):
    FloatAllocationFactory(id="fa-2", bank_account=ledger["op"], branch=ledger["branch"])
    float_allocation_post(allocation_id="fa-2", user=superuser)

    response = _confirm(
        admin_client,
        FloatAllocation,
        "post_return",
        ["fa-2"],
        return_date="2025-10-25",
        returned_amount="900.00",
    )

    assert any("More cannot come back" in message for message in _messages(response))
    assert FloatAllocation.objects.get(pk="fa-2").status != FloatStatus.RETURNED
    assert not JournalPosting.objects.filter(source_id="fa-2", source_type="float_return").exists()


def test_a_float_is_reversed(admin_client, superuser, ledger):
    FloatAllocationFactory(id="fa-3", bank_account=ledger["op"], branch=ledger["branch"])
    float_allocation_post(allocation_id="fa-3", user=superuser)

    response = _confirm(admin_client, FloatAllocation, "reverse_posted", ["fa-3"], **REVERSAL)

    assert "1 float allocation reversed." in _messages(response)
    assert FloatAllocation.objects.get(pk="fa-3").posting_status == PostingStatus.REVERSED
    assert AccountingPeriod.objects.get(pk="2025-10").is_open
