"""The master data finance staff keep (bank accounts, GL accounts, dimensions): bad input is a
clear refusal. Each test failed before its fix: a currency outside A to Z (one upper-cased to
four letters was a 500), a GL account deactivated under an active posting rule, and an
impossible year in an admin list's URL (a 500).
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounting.tests.factories import GLAccountFactory
from banking.models import BankAccount, PostingRule
from dimensions.models import Project

pytestmark = pytest.mark.django_db

DIMENSIONS = "/api/v1/dimensions"
BANKING = "/api/v1/banking"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    client.raise_request_exception = False
    return client


@pytest.fixture
def api(superuser):
    return _client(superuser)


@pytest.fixture
def web(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def _bank_account_body(**extra):
    GLAccountFactory(id="gl-1100", code="1100")
    body = {"id": "ba-x", "name": "X", "bank_name": "B", "account_number": "1", "gl_account_id": "gl-1100"}
    body.update(extra)
    return body


# --- Bank account currency -------------------------------------------------------


def test_a_currency_that_uppercases_to_four_letters_is_a_400_on_currency_not_a_500(api):
    """The currency "ßus" passes the length check (3 characters), then clean() upper-cases it to "SSUS",
    which the CHAR(3) column refuses: a DataError, a 500."""
    response = api.post(f"{BANKING}/bank-accounts", _bank_account_body(currency="ßus"), format="json")
    assert response.status_code == 400, (response.status_code, response.content)
    assert set(response.json()) == {"currency"}
    assert not BankAccount.objects.filter(pk="ba-x").exists()


def test_the_admin_refuses_such_a_currency_on_the_form_not_with_a_server_error(web):
    GLAccountFactory(id="gl-1100", code="1100")
    response = web.post(
        "/admin/banking/bankaccount/add/",
        {
            "id": "ba-y",
            "name": "Y",
            "bank_name": "B",
            "currency": "ßus",
            "is_active": "on",
            "account_number": "1",
            "gl_account": "gl-1100",
        },
    )
    assert response.status_code == 200, response.status_code
    assert "currency" in response.context["adminform"].form.errors
    assert not BankAccount.objects.filter(pk="ba-y").exists()


@pytest.mark.parametrize("currency", ["éur", "ДОЛ", "円円円"])
def test_a_currency_outside_a_to_z_is_not_an_iso_4217_code(api, currency):
    """docs: a three-letter ISO 4217 code; str.isalpha() takes any script's letters."""
    response = api.post(f"{BANKING}/bank-accounts", _bank_account_body(currency=currency), format="json")
    assert response.status_code == 400, (response.status_code, response.content)
    assert set(response.json()) == {"currency"}


# --- GL accounts under active posting rules -----------------------------------------


def test_a_gl_account_an_active_posting_rule_uses_cannot_be_deactivated_under_it(api):
    """docs/data-model.md: an active rule's contra account is an active GL account (400 on
    contra_account_id when the rule is written). Deactivating the account instead reaches the
    very state the rule's check refuses: every posting by the rule then fails."""
    GLAccountFactory(id="gl-4000", code="4000")
    PostingRule.objects.create(id="pr-1", document_type="deposit", contra_account_id="gl-4000")
    response = api.patch("/api/v1/accounting/gl-accounts/gl-4000", {"is_active": False}, format="json")
    assert response.status_code == 400, (response.status_code, response.content)
    assert set(response.json()) == {"is_active"}


# --- Admin list with odd input ---------------------------------------------------------


@pytest.mark.parametrize("query", ["start_date__year=99999", "end_date__year=0"])
def test_the_project_list_answers_odd_date_lookups_without_a_server_error(web, query):
    """Any local field lookup is allowed in an admin URL; a year outside 1..9999 crashes
    when the query is compiled (date(99999, 1, 1)), after the admin's own error handling."""
    Project.objects.create(id="prj-1", code="P1", name="p")
    response = web.get(f"/admin/dimensions/project/?{query}")
    assert response.status_code in (200, 302), response.status_code
