"""Segregation of duties through the doors a maker could slip out by.

A counterparty's account rewritten on a draft, the return of a float the poster handed out, and
the nightly refresh that used to take the preparer's name off a month before they signed it off.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from accounting.models import JournalPosting
from banking.models import BankReconciliation, BankTransaction, CashSubmission, FloatAllocation
from banking.posting import FIGURE_FIELDS
from banking.tests.factories import BankStatementFactory, FloatAllocationFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.tests.test_duties import BANKING, DRAFT, MONTH, person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("segregation_on")]


@pytest.fixture
def segregation_on():
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=True):
        yield


@pytest.fixture
def ledger():
    ledger = ledger_setup()
    statement = BankStatementFactory(bank_account=ledger["op"], opening_balance=0, closing_balance=0)
    StatementLineFactory(statement=statement, amount=250)
    return ledger


@pytest.mark.parametrize("model", [BankTransaction, CashSubmission, FloatAllocation])
def test_every_figure_the_rule_watches_is_a_field_of_its_document(model):
    # A misspelt name is never in the audit trail's changes, so the edit it names goes unseen.
    fields = {field.name for field in model._meta.get_fields()}
    assert FIGURE_FIELDS[model] <= fields, FIGURE_FIELDS[model] - fields


def test_who_rewrote_the_counterparty_account_may_not_post_the_draft(ledger):
    # Given a clerk's draft fee, whose counterparty account an accountant then rewrites
    _clerk, clerk = person("clara", "clerk")
    assert clerk.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-cp"}).status_code == 201
    _editor, editor = person("anna", "accountant")
    changed = editor.patch(f"{BANKING}/transactions/bt-cp", {"counterparty_account": "GB00HACK"})
    assert changed.status_code == 200, changed.content

    # When she posts it
    response = editor.post(f"{BANKING}/transactions/bt-cp/post-accounting", {})

    # Then she is refused like any other maker, and another accountant posts it
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "segregation_of_duties"
    assert not JournalPosting.objects.filter(source_id="bt-cp").exists()
    _checker, checker = person("ben", "accountant")
    assert checker.post(f"{BANKING}/transactions/bt-cp/post-accounting", {}).status_code == 201


def test_who_handed_out_a_float_may_not_post_what_came_back(ledger):
    # Given a float recorded by one accountant and posted by another
    maker, maker_api = person("anna", "accountant")
    _checker, checker_api = person("ben", "accountant")
    FloatAllocationFactory(
        id="fa-sod", branch=ledger["branch"], bank_account=ledger["op"], created_by=maker, updated_by=maker
    )
    assert checker_api.post(f"{BANKING}/float-allocations/fa-sod/post-accounting", {}).status_code == 201
    back = {"returned_amount": "5.00", "return_date": "2025-10-20"}

    # When the accountant who recorded it posts its return
    own = maker_api.post(f"{BANKING}/float-allocations/fa-sod/post-return", back, format="json")

    # Then she is refused, nothing comes back, and the other accountant posts it
    assert own.status_code == 403, own.content
    assert own.json()["code"] == "segregation_of_duties"
    assert "post its return" in own.json()["detail"]
    assert FloatAllocation.objects.get(pk="fa-sod").returned_amount == 0
    checked = checker_api.post(f"{BANKING}/float-allocations/fa-sod/post-return", back, format="json")
    assert checked.status_code == 201, checked.content
    assert str(FloatAllocation.objects.get(pk="fa-sod").returned_amount) == "5.00"


def _refresh_by_cron():
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", stdout=StringIO())


def test_the_nightly_refresh_keeps_the_preparer_who_then_cannot_sign_off(ledger):
    # Given a month an admin (who may also sign off) ran through the API
    _ada, ada = person("ada", "admin")
    assert ada.post(f"{BANKING}/reconciliation/run", MONTH).status_code == 200

    # When the nightly job refreshes it (no --user: the service account)
    _refresh_by_cron()

    # Then she is still its preparer, and her sign-off is refused
    assert BankReconciliation.objects.get().prepared_by.username == "ada"
    response = ada.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "segregation_of_duties"
    assert BankReconciliation.objects.get().status != "finalized"


def test_who_ran_the_matcher_cannot_sign_off_after_someone_else_refreshed(ledger):
    # Given a month whose matcher an admin ran, then another accountant refreshed
    _ada, ada = person("ada", "admin")
    assert ada.post(f"{BANKING}/reconciliation/run", MONTH).status_code == 200
    _anna, anna = person("anna", "accountant")
    refreshed = anna.post(f"{BANKING}/reconciliation/run", {**MONTH, "match": False}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    assert BankReconciliation.objects.get().prepared_by.username == "anna"

    # When the admin signs it off
    response = ada.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})

    # Then the audit trail remembers she prepared it, and a controller signs it off instead
    assert response.status_code == 403, response.content
    assert "prepared this reconciliation" in response.json()["detail"]
    _cora, cora = person("cora", "controller")
    response = cora.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})
    assert response.status_code == 200, response.content
    snapshot = BankReconciliation.objects.get()
    assert (snapshot.prepared_by.username, snapshot.approved_by.username) == ("anna", "cora")


def test_a_month_the_nightly_job_prepared_is_signed_off_by_a_person(ledger):
    # Nobody ran it by hand: the service account prepared it, and a controller may sign it off.
    _refresh_by_cron()
    _cora, cora = person("cora", "controller")
    response = cora.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})
    assert response.status_code == 200, response.content
    assert BankReconciliation.objects.get().prepared_by.username == "system-posting"
