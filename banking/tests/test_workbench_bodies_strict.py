"""The workbench's JSON bodies are read as strictly as the API's: an unknown key is a 400 naming it,
and an error names the field as the client sent it.

Finance staff sent ``cost_center`` (the key is ``cost_center_id``) to "Record...": the line was
recorded without a cost centre and the answer was 200; an inactive ``cost_center_id`` came back
naming ``cost_center``, a key the body does not have.
"""

import json

import pytest
from django.test import Client, override_settings

from banking.models import BankTransaction, ReconciliationMatch
from banking.tests.reconciliation_setup import october
from dimensions.tests.factories import CostCenterFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ssl_redirect")]

WORKBENCH = "/admin/banking/bankaccount/ba-op/reconcile/2025-10/"


@pytest.fixture
def no_ssl_redirect():
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture
def bench(superuser):
    october()
    client = Client()
    client.force_login(superuser)

    def post(action, body):
        return client.post(WORKBENCH + f"{action}/", json.dumps(body), content_type="application/json")

    return post


def test_an_unknown_key_in_record_a_line_is_refused_and_records_nothing(bench):
    response = bench(
        "create-transaction",
        {"statement_line_id": "sl-fee", "transaction_type": "fee", "cost_center": "cc-nope"},
    )

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "cost_center"
    assert "Unknown field" in response.json()["error"]
    assert not BankTransaction.objects.filter(matches__statement_line_id="sl-fee").exists()


def test_an_inactive_cost_centre_is_refused_on_the_key_sent(bench):
    CostCenterFactory(id="cc-shut", name="Shut", is_active=False)

    response = bench(
        "create-transaction",
        {"statement_line_id": "sl-fee", "transaction_type": "fee", "cost_center_id": "cc-shut"},
    )

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "cost_center_id"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("accept", {"match_ids": ["m-1"], "force": True}),
        ("reject", {"match_ids": ["m-1"], "why": "x"}),
        ("match", {"statement_line_ids": ["sl-fee"], "transaction_ids": ["bt-x"], "notes": "x"}),
        ("unmatch", {"statement_line_ids": ["sl-fee"], "transaction_id": "bt-x"}),
        ("finalize", {"note": "ok", "notes": "x"}),
        ("run-matcher", {"month": "2025-11"}),
    ],
)
def test_every_workbench_write_refuses_an_unknown_key(bench, action, body):
    matches_before = ReconciliationMatch.objects.count()

    response = bench(action, body)

    assert response.status_code == 400, response.content
    unknown = sorted(set(body) - {"match_ids", "statement_line_ids", "transaction_ids", "note"})
    assert response.json()["field"] == unknown[0]
    assert ReconciliationMatch.objects.count() == matches_before
