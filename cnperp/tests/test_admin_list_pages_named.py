"""A list asked for a page it does not have says which page and why, and shows the first page.

Finance staff asked ``?p=999`` (and ``?p=-1``, ``?p=abc``) and were told "This list cannot be
filtered by its address: . The whole list is shown.": no page named, and their filters dropped.
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client

from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from cnperp.tests.admin_pages import changelist_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


@pytest.fixture
def three_pages(monkeypatch):
    """Five transactions, two to a page: pages 1 to 3."""
    monkeypatch.setattr(admin.site._registry[BankTransaction], "list_per_page", 2)
    for number in range(5):
        BankTransactionFactory(id=f"bt-page-{number}", amount=Decimal("10.00"), reference=f"PAGE-{number}")


def _errors(response):
    return [str(message) for message in get_messages(response.wsgi_request) if message.level_tag == "error"]


@pytest.mark.parametrize(
    ("page", "said"),
    [
        ("999", "Page 999 does not exist: the list has 3 pages; the first page is shown."),
        ("-1", "Page -1 does not exist: the list has 3 pages; the first page is shown."),
        ("0", "Page 0 does not exist: the list has 3 pages; the first page is shown."),
        ("abc", "“abc” is not a page number: the list has 3 pages; the first page is shown."),
    ],
)
def test_a_page_the_list_does_not_have_is_named_and_the_first_page_shown(staff, three_pages, page, said):
    response = staff.get(f"{changelist_url(BankTransaction)}?p={page}")

    assert response.status_code == 302
    assert response["Location"] == changelist_url(BankTransaction)
    assert _errors(response) == [said]
    shown = staff.get(response["Location"])
    assert shown.status_code == 200
    assert said.replace("“", "&quot;") in shown.content.decode() or said in shown.content.decode()


def test_the_filters_are_kept_when_the_page_is_refused(staff, three_pages):
    url = changelist_url(BankTransaction)

    response = staff.get(f"{url}?reference__startswith=PAGE&p=7")

    assert response.status_code == 302
    assert response["Location"] == f"{url}?reference__startswith=PAGE"
    assert _errors(response) == ["Page 7 does not exist: the list has 3 pages; the first page is shown."]


def test_a_page_the_list_has_is_shown_without_a_word(staff, three_pages):
    response = staff.get(f"{changelist_url(BankTransaction)}?p=3")

    assert response.status_code == 200
    assert _errors(response) == []
