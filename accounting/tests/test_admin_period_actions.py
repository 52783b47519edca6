"""Closing and reopening periods from the admin, through the period service.

The actions need ``accounting.close_accountingperiod``: without it they are not
offered and a forged request changes nothing. A closed period then refuses
postings from every door, the admin's own posting action included.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod, JournalPosting
from accounting.tests.factories import AccountingPeriodFactory, UserFactory
from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.tests.admin_pages import changelist_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _staff(*codenames):
    """Return a client signed in as staff who may view and change periods, plus ``codenames``."""
    user = UserFactory(username="accountant-ben", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounting",
            codename__in=["view_accountingperiod", "change_accountingperiod", *codenames],
        )
    )
    client = Client()
    client.force_login(user)
    return client


def _act(client, action, ids, model=AccountingPeriod):
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "index": 0}
    return client.post(changelist_url(model), data, follow=True)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def _status(period_id):
    return AccountingPeriod.objects.get(pk=period_id).status


def test_close_then_reopen_through_the_actions(admin_client, superuser):
    # Given two open months.
    AccountingPeriodFactory(id="2025-09")
    AccountingPeriodFactory(id="2025-10")

    # When both are closed from the changelist.
    closed = _act(admin_client, "close_periods", ["2025-09", "2025-10"])

    # Then both are closed, by whom and when, and the message names them.
    assert "Period(s) 2025-09, 2025-10 closed." in _messages(closed)
    period = AccountingPeriod.objects.get(pk="2025-10")
    assert period.status == PeriodStatus.CLOSED
    assert period.closed_by == superuser
    assert period.closed_at is not None

    # When October is reopened, it is open again and September stays closed.
    reopened = _act(admin_client, "reopen_periods", ["2025-10"])

    assert "Period(s) 2025-10 reopened." in _messages(reopened)
    assert _status("2025-10") == PeriodStatus.OPEN
    assert AccountingPeriod.objects.get(pk="2025-10").closed_by is None
    assert _status("2025-09") == PeriodStatus.CLOSED


def test_closing_a_closed_period_is_refused_with_a_message(admin_client):
    AccountingPeriodFactory(id="2025-08", status=PeriodStatus.CLOSED)
    AccountingPeriodFactory(id="2025-09")

    response = _act(admin_client, "close_periods", ["2025-08", "2025-09"])

    messages = _messages(response)
    assert response.status_code == 200
    assert "Period 2025-08 is already closed." in messages
    assert "Period(s) 2025-09 closed." in messages
    assert _status("2025-09") == PeriodStatus.CLOSED


def test_reopening_an_open_period_is_refused_with_a_message(admin_client):
    AccountingPeriodFactory(id="2025-10")

    response = _act(admin_client, "reopen_periods", ["2025-10"])

    assert "Period 2025-10 is already open." in _messages(response)
    assert _status("2025-10") == PeriodStatus.OPEN


def test_staff_without_the_close_permission_is_not_offered_the_actions_and_is_refused():
    # Given an accountant who may view and change periods, but not close them.
    client = _staff()
    AccountingPeriodFactory(id="2025-10")

    listing = client.get(changelist_url(AccountingPeriod))
    action_form = listing.context["action_form"]
    offered = set() if action_form is None else {value for value, _ in action_form.fields["action"].choices}
    response = _act(client, "close_periods", ["2025-10"])

    assert offered.isdisjoint({"close_periods", "reopen_periods"})
    assert response.status_code == 200
    assert _status("2025-10") == PeriodStatus.OPEN


def test_staff_with_the_close_permission_closes():
    client = _staff("close_accountingperiod")
    AccountingPeriodFactory(id="2025-10")

    response = _act(client, "close_periods", ["2025-10"])

    assert "Period(s) 2025-10 closed." in _messages(response)
    assert _status("2025-10") == PeriodStatus.CLOSED


def test_a_period_closed_in_the_admin_refuses_the_admins_posting(admin_client):
    # Given a draft in October, and October closed through the admin.
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-oct", bank_account=ledger["op"])
    AccountingPeriodFactory(id="2025-10")
    _act(admin_client, "close_periods", ["2025-10"])
    assert _status("2025-10") == PeriodStatus.CLOSED

    # When the draft is posted from the transactions' changelist.
    response = _act(admin_client, "post_to_ledger", ["bt-oct"], model=BankTransaction)

    # Then it stays a draft, and the message says why.
    assert any("bt-oct: period 2025-10 is closed" in message for message in _messages(response))
    assert BankTransaction.objects.get(pk="bt-oct").posting_status == PostingStatus.DRAFT
    assert not JournalPosting.objects.exists()
