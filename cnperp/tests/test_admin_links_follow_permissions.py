"""A page shows who did what, and a document's posting, as links only to whoever may open them.

Django links a read-only reference to its admin page whatever the reader may open: a clerk met
links to each user (``/admin/auth/user/N/change/``) and to the document's GL posting that
answered 403. Without the permission those pages need, the same facts are shown as text.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from accounting.tests.factories import AccountingPeriodFactory, JournalPostingFactory, UserFactory
from banking.tests.factories import (
    BankAccountFactory,
    BankReconciliationFactory,
    BankStatementFactory,
    BankTransactionFactory,
    BankTransferFactory,
)
from cnperp import roles
from cnperp.tests.admin_pages import change_url

pytestmark = pytest.mark.django_db

USER_LINK = "/admin/auth/user/"
POSTING_LINK = "/admin/accounting/journalposting/?reference="


@pytest.fixture
def posted():
    maker = UserFactory(username="clerk-maker")
    poster = UserFactory(username="accountant-poster")
    return BankTransactionFactory(
        id="bt-links-1",
        posting_status="posted",
        gl_reference="BT-bt-links-1",
        created_by=maker,
        updated_by=maker,
        posted_by=poster,
    )


def _page(user, obj):
    client = Client()
    client.force_login(user)
    response = client.get(change_url(obj))
    assert response.status_code == 200
    return response.content.decode()


def _in_role(role):
    user = get_user_model().objects.create_user(
        username=f"{role}-reader", password="x-Pass-2025!", is_staff=True
    )
    user.groups.set([Group.objects.get(name=role)])
    return user


def test_a_clerk_reads_who_posted_and_the_reference_as_text(posted):
    page = _page(_in_role(roles.CLERK), posted)

    assert "BT-bt-links-1" in page and "accountant-poster" in page and "clerk-maker" in page
    assert POSTING_LINK not in page
    assert USER_LINK not in page


def test_whoever_may_open_them_gets_the_links(posted, superuser):
    page = _page(superuser, posted)

    assert POSTING_LINK + "BT-bt-links-1" in page
    assert USER_LINK in page


# --- Every other screen: who created, closed, prepared or approved --------------------------


@pytest.fixture
def records():
    """One record of each screen that names a person in a read-only field, and that person."""
    someone = UserFactory(username="named-person")
    account = BankAccountFactory(id="ba-links", created_by=someone, updated_by=someone)
    period = AccountingPeriodFactory(id="2025-09", closed_by=someone)
    posting = JournalPostingFactory(posted_by=someone)
    snapshot = BankReconciliationFactory(
        bank_account=account, period=period, prepared_by=someone, approved_by=someone
    )
    statement = BankStatementFactory(bank_account=account, created_by=someone)
    transfer = BankTransferFactory(from_bank_account=account, created_by=someone)
    return [account, period, posting, snapshot, statement, transfer]


@pytest.mark.parametrize("role", [roles.CLERK, roles.ACCOUNTANT, roles.CONTROLLER, roles.AUDITOR])
def test_a_person_is_a_link_on_every_screen_only_for_whoever_may_open_users(records, role):
    reader = _in_role(role)
    may_open_users = reader.has_perm("auth.view_user")
    client = Client()
    client.force_login(reader)
    read = []
    for record in records:
        response = client.get(change_url(record))
        if response.status_code == 403:
            continue  # a screen this role does not read
        assert response.status_code == 200, (record, response.status_code)
        page = response.content.decode()
        # the person is named either way; a link only for whoever may open the user's page
        assert "named-person" in page, record
        assert (USER_LINK in page) == may_open_users, (role, record)
        read.append(type(record).__name__)
    assert read, f"the {role} reads none of these screens"


def test_every_screen_links_the_person_for_whoever_may_open_users(records, superuser):
    for record in records:
        page = _page(superuser, record)
        assert USER_LINK in page, record
