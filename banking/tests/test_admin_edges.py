"""The admin as a door, where a review found it said or did the wrong thing.

- Deleting every allocation on a transfer's page is refused (the transfer dropped
  out of the reports by dimension).
- "Mark failed" with too long a reason says so, not "No action selected."
- A refused bulk delete leaves no deletion in the admin's log.
- A reconciliation snapshot is not deleted in the admin (it is the service's record).
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.test import Client

from banking.choices import TransferStatus
from banking.models import BankReconciliation, BankTransaction, BankTransfer, BankTransferAllocation
from banking.services import bank_transfer_create
from banking.tests.factories import BankAccountFactory, BankReconciliationFactory, BankTransactionFactory
from cnperp.tests.admin_pages import change_url, changelist_url, delete_url, form_data
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db

OCT_10 = datetime.date(2025, 10, 10)


@pytest.fixture
def staff(superuser, settings):
    settings.SECURE_SSL_REDIRECT = False
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def accounts():
    return BankAccountFactory(id="ba-op", name="Operating"), BankAccountFactory(id="ba-pay", name="Payroll")


def _transfer(user, accounts, **extra):
    operating, payroll = accounts
    return bank_transfer_create(
        user=user,
        id="tr-1",
        from_bank_account=operating,
        to_bank_account=payroll,
        amount=Decimal("1000.00"),
        initiated_date=OCT_10,
        **extra,
    )


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- Transfers: allocations must add up to the amount, on the change page too ------------------


def test_deleting_every_allocation_of_a_transfer_on_its_page_is_refused(staff, superuser, accounts):
    # given a draft transfer of 1000.00, allocated in one row (as the service made it)
    transfer = _transfer(superuser, accounts, cost_center=CostCenterFactory(id="cc-hq"))
    assert transfer.allocations.count() == 1
    data = form_data(staff.get(change_url(transfer)))

    # when its only allocation is ticked "delete" and the page saved
    data["allocations-0-DELETE"] = "on"
    response = staff.post(change_url(transfer), data)

    # then the admin refuses (allocations must add up to the amount) and keeps the allocation,
    # which transfer tracking's breakdown by dimension reads.
    assert BankTransferAllocation.objects.filter(transfer=transfer).count() == 1, (
        "the transfer's allocations were all deleted: they add up to 0.00, not 1000.00"
    )
    assert response.status_code == 200


# --- Transfers: "Mark failed" with a long reason -----------------------------------------------


def test_mark_failed_with_a_reason_too_long_says_why_instead_of_no_action_selected(
    staff, superuser, accounts
):
    transfer = _transfer(superuser, accounts)

    # when the clerk picks "Mark failed" with a reason longer than the 255 characters it may hold
    response = staff.post(
        changelist_url(BankTransfer),
        {
            "action": "mark_failed",
            "reason": "Returned by the beneficiary bank. " * 10,
            "_selected_action": ["tr-1"],
        },
        follow=True,
    )

    # then nothing changes, and the message says what is wrong with the reason
    # (not "No action selected.", Django's answer to an invalid action form).
    transfer.refresh_from_db()
    assert transfer.status != TransferStatus.FAILED
    messages = _messages(response)
    assert "No action selected." not in messages, messages
    assert any("reason" in message.lower() for message in messages), messages


# --- A refused bulk delete must not be logged as a deletion ------------------------------------


def test_a_refused_bulk_delete_leaves_no_deletion_in_the_admin_log(staff, superuser, accounts):
    # given a plain draft and the draft sending leg of a transfer (which the service will not delete)
    BankTransactionFactory(id="bt-draft", bank_account=accounts[0])
    leg = _transfer(superuser, accounts).legs.get()

    # when both are deleted with "Delete selected" and the service refuses the leg
    response = staff.post(
        changelist_url(BankTransaction),
        {"action": "delete_selected", "_selected_action": ["bt-draft", leg.pk], "post": "yes"},
        follow=True,
    )

    # then nothing is deleted and nothing is logged as deleted (the index page's "Recent actions").
    assert "is not deleted on its own; if the transfer was recorded wrongly" in response.content.decode()
    assert BankTransaction.objects.filter(pk__in=["bt-draft", leg.pk]).count() == 2
    logged = list(LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True))
    assert logged == [], f"deletions logged for rows still there: {logged}"


def test_a_bulk_delete_that_goes_through_is_logged(staff, accounts):
    BankTransactionFactory(id="bt-one", bank_account=accounts[0])
    BankTransactionFactory(id="bt-two", bank_account=accounts[0])

    staff.post(
        changelist_url(BankTransaction),
        {"action": "delete_selected", "_selected_action": ["bt-one", "bt-two"], "post": "yes"},
        follow=True,
    )

    assert not BankTransaction.objects.filter(pk__in=["bt-one", "bt-two"]).exists()
    logged = sorted(LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True))
    assert logged == ["bt-one", "bt-two"]


# --- Reconciliations: draft is "notes only" -----------------------------------------------------


def test_a_draft_reconciliation_cannot_be_deleted_in_the_admin(staff):
    # docs/admin.md: bank reconciliations, "draft: notes only; finalized: read-only" (figures are
    # the reconciliation service's); no API or service deletes a reconciliation snapshot.
    draft = BankReconciliationFactory()
    assert not draft.is_finalized

    page = staff.get(delete_url(draft))
    response = staff.post(
        changelist_url(BankReconciliation),
        {"action": "delete_selected", "_selected_action": [draft.pk], "post": "yes"},
        follow=True,
    )

    assert BankReconciliation.objects.filter(pk=draft.pk).exists(), _messages(response)
    assert page.status_code == 403
