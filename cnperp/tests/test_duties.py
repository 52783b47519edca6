"""Segregation of duties: who made a record does not approve it.

Turned on here with ``override_settings(BANKING_SEGREGATION_OF_DUTIES=True)``
(the production default; the rest of the suite runs with it off).
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounting.models import JournalEntry, JournalPosting
from banking.choices import PostingStatus
from banking.models import BankReconciliation, BankTransaction, CashSubmission, FloatAllocation
from banking.posting import FIGURE_FIELDS
from banking.tests.factories import BankStatementFactory, FloatAllocationFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.duties import SegregationError, check_segregation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("segregation_on")]

BANKING = "/api/v1/banking"
MONTH = {"bank_account_id": "ba-op", "period": "2025-10"}
DRAFT = {
    "bank_account_id": "ba-op",
    "transaction_type": "deposit",
    "direction": "in",
    "amount": "250.00",
    "transaction_date": "2025-10-15",
}


@pytest.fixture
def segregation_on():
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=True):
        yield


@pytest.fixture
def ledger():
    ledger = ledger_setup()
    statement = BankStatementFactory(
        bank_account=ledger["op"], opening_balance=Decimal("0.00"), closing_balance=Decimal("0.00")
    )
    StatementLineFactory(statement=statement, amount=Decimal("250.00"))
    return ledger


def person(username, *groups, superuser=False):
    user = get_user_model().objects.create_user(username=username, is_superuser=superuser)
    user.groups.add(*Group.objects.filter(name__in=groups))
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def test_an_accountant_cannot_post_a_transaction_they_created(ledger):
    # Given an accountant who records a draft
    _maker, maker = person("anna", "accountant")
    assert maker.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-own"}).status_code == 201

    # When she posts it herself
    response = maker.post(f"{BANKING}/transactions/bt-own/post-accounting", {})

    # Then she is refused, saying why, and nothing is posted
    assert response.status_code == 403
    assert response.json()["code"] == "segregation_of_duties"
    assert "someone else" in response.json()["detail"]
    assert not JournalEntry.objects.exists()
    assert BankTransaction.objects.get(pk="bt-own").posting_status == PostingStatus.DRAFT

    # And another accountant posts it
    _checker, checker = person("ben", "accountant")
    assert checker.post(f"{BANKING}/transactions/bt-own/post-accounting", {}).status_code == 201


def test_a_superuser_is_held_to_it_too(ledger):
    _root, root = person("root", superuser=True)
    root.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-root"})
    assert root.post(f"{BANKING}/transactions/bt-root/post-accounting", {}).status_code == 403


def test_with_the_setting_off_the_maker_may_post(ledger):
    _maker, maker = person("anna", "accountant")
    maker.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-own"})
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=False):
        assert maker.post(f"{BANKING}/transactions/bt-own/post-accounting", {}).status_code == 201


def test_a_transaction_whose_maker_is_unknown_may_be_posted(ledger):
    # An imported or migrated record without created_by has no maker to conflict with.
    user, _client = person("anna", "accountant")
    check_segregation(user=user, maker_id=None, action="post_banktransaction")
    with pytest.raises(SegregationError):
        check_segregation(user=user, maker_id=user.pk, action="post_banktransaction")


def test_the_batch_skips_the_posters_own_drafts_and_reports_them(ledger):
    # Given drafts by anna and by a clerk
    _anna, anna = person("anna", "accountant")
    _clerk, clerk = person("carl", "clerk")
    anna.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-anna"})
    clerk.post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-carl"})

    # When anna posts every draft
    out = StringIO()
    with pytest.raises(CommandError, match="1 draft"):
        call_command("post_transactions", "--all-drafts", "--user", "anna", stdout=out)

    # Then the clerk's is posted, hers stays a draft and is listed with the reason
    assert set(JournalPosting.objects.values_list("source_id", flat=True)) == {"bt-carl"}
    assert BankTransaction.objects.get(pk="bt-anna").posting_status == PostingStatus.DRAFT
    assert "Posted 1 of 2" in out.getvalue()
    refusal = "left as draft: bt-anna: you created this bank transaction or changed its figures"
    assert refusal in out.getvalue()


def test_the_preparer_cannot_sign_off_a_reconciliation(ledger):
    # Given a reconciliation run by an admin (who also holds the sign-off permission)
    _admin, admin = person("ada", "admin")
    assert admin.post(f"{BANKING}/reconciliation/run", MONTH).status_code == 200

    # When she signs it off herself
    response = admin.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})

    # Then she is refused and the month stays open
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "segregation_of_duties"
    assert BankReconciliation.objects.get().status != "finalized"

    # And a controller signs it off, the snapshot keeping both names
    _controller, controller = person("cora", "controller")
    response = controller.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})
    assert response.status_code == 200, response.content
    snapshot = BankReconciliation.objects.get()
    assert (snapshot.status, snapshot.prepared_by.username, snapshot.approved_by.username) == (
        "finalized",
        "ada",
        "cora",
    )


def test_signing_off_a_month_nobody_prepared_is_refused(ledger):
    # The signer would prepare the snapshot in the same act: refused as not prepared yet (409),
    # not as the signer's own preparation (a 403 that blamed a controller who never touched it).
    _controller, controller = person("cora", "controller")
    response = controller.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})
    assert response.status_code == 409
    assert response.json()["code"] == "not_prepared"
    assert not BankReconciliation.objects.filter(status="finalized").exists()


def test_the_reconcile_command_lets_the_controller_sign_off_what_the_accountant_ran(ledger):
    person("anna", "accountant")
    person("cora", "controller")
    call_command(
        "reconcile", "--account", "ba-op", "--period", "2025-10", "--user", "anna", stdout=StringIO()
    )

    call_command(
        "reconcile", "--account", "ba-op", "--period", "2025-10", "--finalize", "--note", "ok",
        "--user", "cora", stdout=StringIO(),
    )  # fmt: skip

    snapshot = BankReconciliation.objects.get()
    assert (snapshot.prepared_by.username, snapshot.approved_by.username) == ("anna", "cora")


def test_matching_and_signing_off_in_one_command_is_refused(ledger):
    person("ada", "admin")
    with pytest.raises(CommandError, match="segregation of duties"):
        call_command(
            "reconcile", "--account", "ba-op", "--period", "2025-10", "--match", "--finalize", "--note", "ok",
            "--user", "ada", stdout=StringIO(),
        )  # fmt: skip
    assert not BankReconciliation.objects.filter(status="finalized").exists()


@pytest.mark.parametrize(("enforced", "offered"), [(True, False), (False, True)])
def test_the_workbench_offers_post_it_now_only_without_segregation(ledger, enforced, offered):
    # Whoever records a transaction from a statement line made it, so under segregation of
    # duties "post it to the ledger now" would always be refused: it is not offered.
    user, _client = person("carla", superuser=True)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)

    with override_settings(BANKING_SEGREGATION_OF_DUTIES=enforced):
        page = client.get("/admin/banking/bankaccount/ba-op/reconcile/2025-10/")

    assert page.status_code == 200
    assert page.context["workbench_config"]["can_post"] is offered


@pytest.mark.parametrize(
    ("factory", "route"),
    [("cash", "cash-submissions"), ("float", "float-allocations")],
)
def test_branch_cash_is_posted_by_someone_other_than_who_recorded_or_changed_it(ledger, factory, route):
    from banking.tests.factories import CashSubmissionFactory, FloatAllocationFactory

    clerk, clerk_api = person("counting-clerk", superuser=True)
    _editor, editor_api = person("editing-accountant", superuser=True)
    _checker, checker_api = person("checking-accountant", superuser=True)
    make = CashSubmissionFactory if factory == "cash" else FloatAllocationFactory
    document = make(
        id=f"{factory}-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        created_by=clerk,
        updated_by=clerk,
    )
    url = f"{BANKING}/{route}/{document.pk}/post-accounting"

    own = clerk_api.post(url, {}, format="json")
    # Whoever changed the counts since is a maker too.
    figure = {"expected_amount": "2600.00"} if factory == "cash" else {"amount": "600.00"}
    changed = editor_api.patch(f"{BANKING}/{route}/{document.pk}", figure, format="json")
    assert changed.status_code == 200, changed.content
    edited = editor_api.post(url, {}, format="json")
    checked = checker_api.post(url, {}, format="json")

    assert own.status_code == edited.status_code == 403
    assert own.json()["code"] == "segregation_of_duties"
    assert "someone else must post it" in edited.json()["detail"]
    assert checked.status_code == 201, checked.content
    assert JournalPosting.objects.filter(source_id=document.pk).count() == 1


# --- The doors a maker could slip out by: a rewritten counterparty account, the return of a
# float the poster handed out, the nightly refresh that took the preparer's name off a month. ---


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


def test_who_only_ran_the_matcher_cannot_sign_off_the_month_someone_else_saved(ledger):
    # The matcher run alone (no snapshot of theirs): the audit trail's auto-match entry names them.
    from banking.matching import match_run

    ada, ada_api = person("ada", "admin")
    match_run(bank_account_id="ba-op", period="2025-10", user=ada)
    _anna, anna = person("anna", "accountant")
    assert (
        anna.post(f"{BANKING}/reconciliation/run", {**MONTH, "match": False}, format="json").status_code
        == 200
    )

    response = ada_api.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "ok"})

    assert response.status_code == 403, response.content
    assert BankReconciliation.objects.get().prepared_by.username == "anna"
