"""A list asked for a filter it cannot apply says which one and why.

Django's own answer is a silent redirect to the whole list, so a clerk who mistyped
``?amount__gte=1O0`` read every transaction as the filtered ones; and the same filter
after that redirect got "Something's wrong with your database installation".
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.messages import get_messages
from django.test import Client

from accounting.tests.factories import AccountingPeriodFactory
from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from cnperp.tests.admin_pages import changelist_url
from dimensions.models import CostCenter

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def _errors(response):
    return [str(message) for message in get_messages(response.wsgi_request) if message.level_tag == "error"]


def _ask(staff, model, query):
    """Ask the list with ``query``; return the answer and the error messages it left."""
    response = staff.get(f"{changelist_url(model)}?{query}")
    return response, _errors(response)


@pytest.mark.parametrize(
    ("model", "query", "named", "reason"),
    [
        (BankTransaction, "nope__exact=1", "“nope__exact=1”", "Cannot resolve keyword 'nope' into field"),
        (BankTransaction, "amount__gte=1O0", "“amount__gte=1O0”", "must be a decimal number"),
        (BankTransaction, "transaction_date=2025-13-01", "“transaction_date=2025-13-01”", "date"),
        (BankTransaction, "reference__regex=(", "“reference__regex=(”", "the database cannot apply it"),
        (BankTransaction, "transaction_date__year=99999", "“transaction_date__year=99999”", "cannot apply"),
        (CostCenter, "code__iregex=[", "“code__iregex=[”", "the database cannot apply it"),
        # the period filter's own month check, once an empty list that read as "nothing that month"
        (BankTransaction, "period=2025-13", "“period=2025-13”", "YYYY-MM"),
    ],
)
def test_a_filter_the_list_cannot_apply_is_named_with_its_reason(staff, model, query, named, reason):
    # a period on file: the period filter is offered (and applied) only when there is one
    AccountingPeriodFactory(id="2025-10")
    BankTransactionFactory(amount=Decimal("100.00"))

    response, errors = _ask(staff, model, query)

    # then the whole list is shown, and the message names the filter and says why
    assert response.status_code == 302
    assert response["Location"] == f"{changelist_url(model)}?{ERROR_FLAG}=1"
    assert len(errors) == 1, errors
    assert named in errors[0]
    assert reason.lower() in errors[0].lower()
    assert "The whole list is shown." in errors[0]
    shown = staff.get(response["Location"])
    assert shown.status_code == 200
    assert "cannot be filtered by" in shown.content.decode()


def test_only_filters_are_named_not_the_search_order_or_page(staff):
    response, errors = _ask(staff, BankTransaction, "q=abc&o=1&nope=2")

    assert response.status_code == 302
    assert "“nope=2”" in errors[0]
    assert "q=abc" not in errors[0] and "o=1" not in errors[0]


def test_a_bad_filter_after_the_redirect_is_not_called_a_broken_database(staff):
    response, errors = _ask(staff, BankTransaction, f"{ERROR_FLAG}=1&nope__exact=1")

    # Django would answer 200 with its "Database error" page here
    assert response.status_code == 302
    assert "“nope__exact=1”" in errors[0]
    followed = staff.get(response["Location"])
    assert "database installation" not in followed.content.decode()


def test_a_long_value_is_shortened_in_the_message(staff):
    response, errors = _ask(staff, BankTransaction, "nope=" + "x" * 500)

    assert response.status_code == 302
    assert "nope=xxxx" in errors[0]
    assert "x" * 100 not in errors[0]


def test_a_filter_the_list_can_apply_filters_without_a_message(staff):
    kept = BankTransactionFactory(amount=Decimal("250.00"), transaction_date=datetime.date(2025, 10, 3))
    other = BankTransactionFactory(amount=Decimal("20.00"), transaction_date=datetime.date(2025, 10, 4))

    response, errors = _ask(staff, BankTransaction, "amount__gte=100")

    assert response.status_code == 200
    assert errors == []
    page = response.content.decode()
    assert kept.pk in page
    assert other.pk not in page
