"""A document's page shows who did what, and its posting, as links only to whoever may open them.

Django links a read-only reference to its admin page whatever the reader may open: a clerk met
links to each user (``/admin/auth/user/N/change/``) and to the document's GL posting that
answered 403. Without the permission those pages need, the same facts are shown as text.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from accounting.tests.factories import UserFactory
from banking.tests.factories import BankTransactionFactory
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
