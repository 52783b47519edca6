"""Signing off a month nobody has reconciled yet, under segregation of duties.

The sign-off refreshes the snapshot; with none saved yet, the signer would have
prepared it themselves, and the refusal told a controller who never touched the
month that they "prepared this reconciliation or decided its matches". It now
says what is missing (409 ``not_prepared``), and the workbench's *Run matcher*
saves the snapshot as ``reconcile --match`` does, so the month is prepared by
whoever ran it and a controller can sign it off there.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounting.tests.factories import UserFactory
from banking.choices import ReconciliationState
from banking.models import BankReconciliation
from banking.tests.browser import month_end
from banking.tests.browser.test_workbench_views import BASE, grant
from cnperp.roles import RECONCILIATION_READ_PERMISSIONS
from cnperp.tests.api import client_for

pytestmark = [pytest.mark.django_db]
SIGN_OFF = "/api/v1/banking/reconciliation/finalize"


@pytest.fixture
def october(settings, superuser):
    """October's books and statement (posted and imported before the duties are separated)."""
    settings.SECURE_SSL_REDIRECT = False
    month_end.books()
    admin = Client()
    admin.force_login(superuser)
    upload = SimpleUploadedFile("october.xml", month_end.statement_file())
    imported = admin.post(
        "/admin/banking/bankstatement/import/", {"bank_account": "ba-op", "file": upload, "format": "auto"}
    )
    assert imported.status_code == 200
    settings.BANKING_SEGREGATION_OF_DUTIES = True


def _controller():
    return grant(
        UserFactory(username="controller"),
        "banking.finalize_bankreconciliation",
        *RECONCILIATION_READ_PERMISSIONS,
    )


def test_the_api_says_nobody_has_reconciled_the_month_yet(october):
    api = client_for(_controller())

    response = api.post(SIGN_OFF, {"bank_account_id": "ba-op", "period": "2025-10"}, format="json")

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "not_prepared"
    assert "Nobody has reconciled bank account ba-op for 2025-10 yet" in str(body)
    assert not BankReconciliation.objects.exists()


def test_a_month_run_in_the_workbench_is_signed_off_there_by_a_controller(october):
    accountant = grant(
        UserFactory(username="accountant"),
        "banking.match_statementline",
        "banking.finalize_bankreconciliation",
        *RECONCILIATION_READ_PERMISSIONS,
    )
    preparing, signing = Client(), Client()
    preparing.force_login(accountant)
    signing.force_login(_controller())

    # When the accountant runs the matcher in the workbench
    ran = preparing.post(BASE + "run-matcher/", "{}", content_type="application/json")
    # then the month is prepared by the accountant
    assert ran.status_code == 200, ran.content
    snapshot = BankReconciliation.objects.get(bank_account_id="ba-op", period_id="2025-10")
    assert snapshot.prepared_by == accountant
    # and the accountant may not sign it off, while the controller does
    note = json.dumps({"note": "done"})
    refused = preparing.post(BASE + "finalize/", note, content_type="application/json")
    assert refused.status_code == 403 and "segregation of duties" in refused.json()["error"], refused.json()
    signed = signing.post(BASE + "finalize/", note, content_type="application/json")
    assert signed.status_code == 200, signed.content
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.prepared_by, snapshot.approved_by.username) == (
        ReconciliationState.FINALIZED,
        accountant,
        "controller",
    )
