"""An admin action the user may not run, called anyway (a forged request), is refused in red.

docs/admin.md: "called anyway (a forged request), it is refused and changes nothing. A refusal
is a red message". Finance staff found an accountant's forged *Close period* answered with the
list and no word (the list offers the accountant no action at all), and a clerk's forged *Post
to the general ledger* answered "No action selected.".
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod
from accounting.tests.factories import AccountingPeriodFactory
from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from cnperp.tests.admin_pages import changelist_url

pytestmark = pytest.mark.django_db


def _signed_in(role):
    user = get_user_model().objects.create_user(
        username=f"r-{role}", password="Forge-pass-2025!", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def _messages(response):
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_an_accountant_forging_close_period_is_refused_in_red_and_the_month_stays_open():
    AccountingPeriodFactory(id="2025-07")
    accountant = _signed_in("accountant")

    response = accountant.post(
        changelist_url(AccountingPeriod), {"action": "close_periods", "_selected_action": ["2025-07"]}
    )

    assert response.status_code == 302
    assert _messages(response) == [
        (
            "error",
            "You may not run “Close period (nothing posts into it until reopened)”: it needs the "
            "permission accounting.close_accountingperiod. Nothing was changed.",
        )
    ]
    assert AccountingPeriod.objects.get(pk="2025-07").status == PeriodStatus.OPEN


def test_a_clerk_forging_post_to_the_ledger_is_refused_in_red_and_the_draft_stays():
    AccountingPeriodFactory(id="2025-10")
    BankTransactionFactory(
        id="bt-forged", amount=Decimal("10.00"), transaction_date=datetime.date(2025, 10, 5)
    )
    clerk = _signed_in("clerk")

    response = clerk.post(
        changelist_url(BankTransaction),
        {"action": "post_to_ledger", "_selected_action": ["bt-forged"], "index": "0"},
    )

    assert response.status_code == 302
    assert _messages(response) == [
        (
            "error",
            "You may not run “Post to the general ledger”: it needs the permission "
            "banking.post_banktransaction. Nothing was changed.",
        )
    ]
    assert BankTransaction.objects.get(pk="bt-forged").posting_status == PostingStatus.DRAFT


def test_an_action_that_does_not_exist_is_left_to_the_admin():
    clerk = _signed_in("clerk")

    response = clerk.post(
        changelist_url(BankTransaction), {"action": "no_such_action", "_selected_action": ["x"], "index": "0"}
    )

    assert response.status_code == 302
    assert _messages(response) == [("warning", "No action selected.")]
