"""The role matrix: every role against every action, through the API, the commands and the admin.

Given a user in one of the five groups the roles migration made (and nothing
else), when they try an action, then they succeed exactly when the matrix in
``cnperp.roles`` says their role may, and are refused (403, or a command
error) otherwise, with nothing changed. The expected answer comes from the
matrix; the answer itself from the views, commands and admin, which only check
permissions; so a view that checks the wrong permission, or a group that holds
the wrong ones, fails here.

The admin doors are the posting actions (post, and reverse through its date
and reason page), the period actions, the statement upload, the reconciliation
workbench (its page, its JSON reads, matching by hand and the sign-off), the
cash dashboard, the audit trail and the users. An admin action or form that
changes something is judged by what it did, not by its page: done when the
change is there, refused when it is not (a page that did nothing is a refusal).
"""

import datetime
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod, JournalEntry
from banking.choices import MatchStatus, PostingStatus, ReconciliationState
from banking.models import (
    BankReconciliation,
    BankStatement,
    BankTransaction,
    CashSubmission,
    FloatAllocation,
    ReconciliationMatch,
    StatementLine,
)
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from banking.tests.statement_files import camt_entry, camt_file, camt_statement
from cnperp import roles

pytestmark = pytest.mark.django_db

BANKING = "/api/v1/banking"
MONTH = {"bank_account_id": "ba-op", "period": "2025-10"}


@pytest.fixture
def world():
    """Master data, a draft and a posted transaction, a submission, a float and a statement."""
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-posted", bank_account=ledger["op"], amount=Decimal("100.00"))
    call_command("post_transactions", "--all-drafts", stdout=StringIO())
    BankTransactionFactory(id="bt-draft", bank_account=ledger["op"], amount=Decimal("40.00"))
    CashSubmissionFactory(id="cs-draft", branch=ledger["branch"], bank_account=ledger["op"])
    FloatAllocationFactory(id="fa-draft", branch=ledger["branch"], bank_account=ledger["op"])
    statement = BankStatementFactory(
        bank_account=ledger["op"],
        opening_balance=Decimal("0.00"),
        closing_balance=Decimal("100.00"),
    )
    StatementLineFactory(
        id="sl-100", statement=statement, amount=Decimal("100.00"), booking_date=datetime.date(2025, 10, 15)
    )
    BankAccountFactory(id="ba-eur", iban="DE89370400440532013000", account_number="", currency="EUR")
    return ledger


def _user(role):
    user = get_user_model().objects.create_user(username=f"role-{role}", password="Matrix-pass-2025!")
    user.is_staff = True  # may open the admin; what they see there is their role's business
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=role))
    return user


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _command(*args):
    call_command(*args, stdout=StringIO(), stderr=StringIO())


def _statement_file():
    content = camt_file([camt_statement([camt_entry("1.00")], closing="1001.00")])
    return SimpleUploadedFile("roles.xml", content)


def _import(client):
    data = {"file": _statement_file(), "bank_account_id": "ba-eur"}
    return client.post(f"{BANKING}/statements/import", data, format="multipart")


NEW_DRAFT = {
    "id": "bt-new",
    "bank_account_id": "ba-op",
    "transaction_type": "deposit",
    "direction": "in",
    "amount": "12.00",
    "transaction_date": "2025-10-16",
}

# check -> (matrix action, how it is done, the answers that mean "done")
CHECKS = {
    "list bank accounts": ("read_master_data", lambda c, u: c.get(f"{BANKING}/bank-accounts"), {200}),
    "read periods": ("read_master_data", lambda c, u: c.get("/api/v1/accounting/periods"), {200}),
    "add a cost centre": (
        "maintain_master_data",
        lambda c, u: c.post(
            "/api/v1/dimensions/cost-centers", {"id": "cc-new", "code": "NEW", "name": "New"}
        ),
        {201},
    ),
    "delete a cost centre": (
        "delete_master_data",
        lambda c, u: c.delete("/api/v1/dimensions/cost-centers/cc-ops"),
        {204},
    ),
    "list transactions": ("read_documents", lambda c, u: c.get(f"{BANKING}/transactions"), {200}),
    "record a draft": ("record_drafts", lambda c, u: c.post(f"{BANKING}/transactions", NEW_DRAFT), {201}),
    "change a draft": (
        "record_drafts",
        lambda c, u: c.patch(f"{BANKING}/transactions/bt-draft", {"description": "corrected"}),
        {200},
    ),
    "change a posted transaction (never)": (
        "record_drafts",
        lambda c, u: c.patch(f"{BANKING}/transactions/bt-posted", {"amount": "1.00"}),
        {409},
    ),
    "delete a posted transaction (never)": (
        "record_drafts",
        lambda c, u: c.delete(f"{BANKING}/transactions/bt-posted"),
        {409},
    ),
    "post a transaction": (
        "post",
        lambda c, u: c.post(f"{BANKING}/transactions/bt-draft/post-accounting", {}),
        {201},
    ),
    "post a cash submission": (
        "post",
        lambda c, u: c.post(f"{BANKING}/cash-submissions/cs-draft/post-accounting", {}),
        {201},
    ),
    "post a float": (
        "post",
        lambda c, u: c.post(f"{BANKING}/float-allocations/fa-draft/post-accounting", {}),
        {201},
    ),
    "reverse a transaction": (
        "reverse",
        lambda c, u: c.post(
            f"{BANKING}/transactions/bt-posted/reverse", {"reversal_date": "2025-10-20", "reason": "wrong"}
        ),
        {201},
    ),
    "read GL lines": ("read_ledger", lambda c, u: c.get("/api/v1/accounting/journal-entries"), {200}),
    "import a statement": ("import_statements", lambda c, u: _import(c), {201}),
    "list statements": ("read_statements", lambda c, u: c.get(f"{BANKING}/statements"), {200}),
    "run the reconciliation": (
        "match",
        lambda c, u: c.post(f"{BANKING}/reconciliation/run", MONTH),
        {200},
    ),
    "match by hand": (
        "match",
        lambda c, u: c.post(
            f"{BANKING}/reconciliation/match",
            {"statement_line_ids": ["sl-100"], "transaction_ids": ["bt-posted"]},
        ),
        {201},
    ),
    "read the reconciliation": (
        "read_reconciliations",
        lambda c, u: c.get(f"{BANKING}/reconciliation", MONTH),
        {200},
    ),
    "sign off a reconciliation": (
        "finalize_reconciliations",
        lambda c, u: c.post(f"{BANKING}/reconciliation/finalize", {**MONTH, "note": "Checked."}),
        {200},
    ),
    "read the cash position": ("read_reports", lambda c, u: c.get(f"{BANKING}/cash-position", MONTH), {200}),
    "read the variance report": (
        "read_reports",
        lambda c, u: c.get(f"{BANKING}/variance-report", MONTH),
        {200},
    ),
    "read transfer tracking": (
        "read_transfer_tracking",
        lambda c, u: c.get(f"{BANKING}/transfer-tracking", MONTH),
        {200},
    ),
    "close a period (command)": (
        "close_periods",
        lambda c, u: _command("close_period", "2025-12", "--user", u.username),
        {None},
    ),
    "reopen a period (command)": (
        "close_periods",
        lambda c, u: _command("reopen_period", "2025-09", "--user", u.username),
        {None},
    ),
    "post drafts (command)": (
        "post",
        lambda c, u: _command("post_transactions", "--all-drafts", "--user", u.username),
        {None},
    ),
    "sign off (reconcile command)": (
        "finalize_reconciliations",
        lambda c, u: _command(
            "reconcile",
            "--account",
            "ba-op",
            "--period",
            "2025-10",
            "--finalize",
            "--note",
            "Checked.",
            "--user",
            u.username,
        ),
        {None},
    ),
    "post a transaction (admin action)": (
        "post",
        lambda c, u: _admin_action(
            u, "banking/banktransaction", "post_to_ledger", "bt-draft", PostingStatus.POSTED
        ),
        {None},
    ),
    "reverse a transaction (admin action)": (
        "reverse",
        lambda c, u: _admin_action(
            u,
            "banking/banktransaction",
            "reverse_posted",
            "bt-posted",
            PostingStatus.REVERSED,
            confirm={"reversal_date": "2025-10-20", "reason": "wrong"},
        ),
        {None},
    ),
    "post a cash submission (admin action)": (
        "post",
        lambda c, u: _admin_action(
            u, "banking/cashsubmission", "post_to_ledger", "cs-draft", PostingStatus.POSTED
        ),
        {None},
    ),
    "post a float (admin action)": (
        "post",
        lambda c, u: _admin_action(
            u, "banking/floatallocation", "post_to_ledger", "fa-draft", PostingStatus.POSTED
        ),
        {None},
    ),
    "close a period (admin action)": (
        "close_periods",
        lambda c, u: _admin_action(
            u, "accounting/accountingperiod", "close_periods", "2025-11", PeriodStatus.CLOSED
        ),
        {None},
    ),
    "reopen a period (admin action)": (
        "close_periods",
        lambda c, u: _admin_action(
            u, "accounting/accountingperiod", "reopen_periods", "2025-09", PeriodStatus.OPEN
        ),
        {None},
    ),
    "import a statement (admin upload)": ("import_statements", lambda c, u: _admin_import(u), {None}),
    "open the reconciliation workbench (admin)": (
        "read_reconciliations",
        lambda c, u: _admin(u).get(reverse("admin:banking_bankaccount_reconcile", args=list(MONTH.values()))),
        {200},
    ),
    "read the workbench figures (admin)": (
        "read_reconciliations",
        lambda c, u: _admin(u).get(_workbench("summary")),
        {200},
    ),
    "read the workbench statement lines (admin)": (
        "read_reconciliations",
        lambda c, u: _admin(u).get(_workbench("lines"), {"status": "all"}),
        {200},
    ),
    "match by hand (admin workbench)": (
        "match",
        lambda c, u: _workbench_write(
            u, "match", {"statement_line_ids": ["sl-100"], "transaction_ids": ["bt-posted"]}, _matched
        ),
        {None},
    ),
    "sign off (admin workbench)": (
        "finalize_reconciliations",
        lambda c, u: _workbench_write(u, "finalize", {"note": "Checked."}, _signed_off),
        {None},
    ),
    "read the cash dashboard (admin)": (
        "read_reports",
        lambda c, u: _admin(u).get(reverse("admin:banking_bankaccount_dashboard"), {"period": "2025-10"}),
        {200},
    ),
    "read the audit trail (admin)": (
        "read_audit_trail",
        lambda c, u: _admin(u).get("/admin/auditlog/logentry/"),
        {200},
    ),
    "list users (admin)": ("read_users", lambda c, u: _admin(u).get("/admin/auth/user/"), {200}),
    "add a user (admin)": ("manage_users", lambda c, u: _admin(u).get("/admin/auth/user/add/"), {200}),
}


def _admin(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _admin_action(user, changelist, action, pk, became, confirm=None):
    """Run an admin action on one row; ``None`` when it took effect, ``"refused"`` when not.

    It took effect when the row's status ``became`` what the action makes it. An
    action that asks for more first (``confirm``: the fields of its intermediate
    form) is chosen, then its form is submitted, as a person does in the admin.
    """
    assert _state(pk) != became, (pk, became)
    client = _admin(user)
    chosen = {"action": action, "_selected_action": [pk]}
    client.post(f"/admin/{changelist}/", chosen)
    if confirm is not None:
        assert _state(pk) != became, f"{action} took effect before its form was submitted"
        client.post(f"/admin/{changelist}/", {**chosen, **confirm, "confirm": "yes"})
    return None if _state(pk) == became else "refused"


STATUS_OF = {
    "bt-": BankTransaction,
    "cs-": CashSubmission,
    "fa-": FloatAllocation,
}


def _state(pk):
    model = STATUS_OF.get(pk[:3])
    if model is not None:
        return model.objects.get(pk=pk).posting_status
    return AccountingPeriod.objects.get(pk=pk).status


def _judged(answer, took_effect):
    """Judge an admin page or endpoint that changes something by what it did.

    ``None``: it answered 200 and took effect. ``"refused"``: it took no effect
    and answered 403, or 200 (a page that did nothing). Anything else (an error
    answer, or an effect without a 200) is returned as it is, so it passes for
    no role.
    """
    status = answer.status_code
    if took_effect:
        return None if status == 200 else f"took effect, yet answered {status}"
    return "refused" if status in (403, 200) else status


def _admin_import(user):
    """Upload the API's camt file for ba-eur through the admin's statement import form."""
    assert not BankStatement.objects.filter(bank_account_id="ba-eur").exists()
    answer = _admin(user).post(
        reverse("admin:banking_bankstatement_import"),
        {"bank_account": "ba-eur", "file": _statement_file(), "format": "auto", "profile": ""},
    )
    return _judged(answer, BankStatement.objects.filter(bank_account_id="ba-eur").exists())


def _workbench(action):
    return reverse("admin:banking_bankaccount_reconcile_api", args=[*MONTH.values(), action])


def _workbench_write(user, action, body, took_effect):
    """POST a JSON body to a workbench endpoint, as workbench.js does; judged by ``took_effect()``."""
    assert not took_effect()
    answer = _admin(user).post(_workbench(action), body, content_type="application/json")
    if answer.status_code == 200:
        assert "error" not in answer.json(), answer.json()
    return _judged(answer, took_effect())


def _matched():
    return ReconciliationMatch.objects.filter(
        statement_line_id="sl-100", bank_transaction_id="bt-posted", status=MatchStatus.CONFIRMED
    ).exists()


def _signed_off():
    return BankReconciliation.objects.filter(
        bank_account_id=MONTH["bank_account_id"],
        period_id=MONTH["period"],
        status=ReconciliationState.FINALIZED,
    ).exists()


# What a refused attempt leaves as it was: documents, GL lines, statements, matches, sign-offs, periods.
FOOTPRINT = {
    BankTransaction: ("pk", "posting_status", "reconciliation_status", "amount", "description"),
    CashSubmission: ("pk", "posting_status"),
    FloatAllocation: ("pk", "posting_status"),
    JournalEntry: ("pk",),
    BankStatement: ("pk",),
    StatementLine: ("pk", "match_status"),
    ReconciliationMatch: ("pk", "status"),
    BankReconciliation: ("pk", "status"),
    AccountingPeriod: ("pk", "status"),
}


def _footprint():
    return {
        model._meta.label: sorted(model.objects.values_list(*fields)) for model, fields in FOOTPRINT.items()
    }


def _outcome(check, client, user):
    """Return the answer's status, ``None`` for a command that ran, ``"refused"`` for one that refused."""
    _action, act, _done = CHECKS[check]
    try:
        answer = act(client, user)
    except CommandError as exc:
        assert "may not" in str(exc), exc
        return "refused"
    return answer if answer is None or isinstance(answer, str) else answer.status_code


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_may_do_exactly_what_the_matrix_says(world, role, check):
    # Given a user holding only their role, and a closed month to reopen
    AccountingPeriod.objects.update_or_create(
        id="2025-09",
        defaults={
            "start_date": datetime.date(2025, 9, 1),
            "end_date": datetime.date(2025, 9, 30),
            "status": "closed",
        },
    )
    AccountingPeriod.objects.get_or_create(
        id="2025-11",
        defaults={"start_date": datetime.date(2025, 11, 1), "end_date": datetime.date(2025, 11, 30)},
    )
    user = _user(role)
    action, _act, done = CHECKS[check]
    lines_before = JournalEntry.objects.count()
    before = _footprint()

    # When they try it
    outcome = _outcome(check, _api(user), user)

    # Then it is done exactly when their role may
    if roles.role_may(role, action):
        assert outcome in done, (role, check, outcome)
    else:
        assert outcome in (403, "refused"), (role, check, outcome)
        assert JournalEntry.objects.count() == lines_before
        assert _footprint() == before, (role, check)


@pytest.mark.parametrize("role", roles.ROLES)
def test_nobody_changes_a_posted_record(world, role):
    # Given a posted transaction, when each role tries to change or delete it
    client = _api(_user(role))
    before = BankTransaction.objects.values().get(pk="bt-posted")
    answers = {
        client.patch(f"{BANKING}/transactions/bt-posted", {"amount": "1.00"}).status_code,
        client.put(f"{BANKING}/transactions/bt-posted", {**NEW_DRAFT, "id": "bt-posted"}).status_code,
        client.delete(f"{BANKING}/transactions/bt-posted").status_code,
    }
    # Then it is refused (409 for those who may edit drafts, 403 for the others), and unchanged
    assert answers == ({409} if roles.role_may(role, "record_drafts") else {403})
    assert BankTransaction.objects.values().get(pk="bt-posted") == before
    assert BankTransaction.objects.get(pk="bt-posted").posting_status == PostingStatus.POSTED


def test_every_action_of_the_matrix_is_tried_through_a_door():
    tried = {action for action, _act, _done in CHECKS.values()}
    assert {action.name for action in roles.ACTIONS} == tried


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_group_holds_exactly_the_matrix(world, role):
    group = Group.objects.get(name=role)
    held = {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }
    installed = {perm for perm in roles.role_permissions(role) if apps.is_installed(_app_module(perm))}
    assert held == installed


def _app_module(perm):
    app_label = perm.split(".")[0]
    return {"auth": "django.contrib.auth", "authtoken": "rest_framework.authtoken"}.get(app_label, app_label)


def test_a_superuser_outside_the_groups_may_do_everything(world, superuser):
    assert superuser.has_perms(set().union(*(roles.role_permissions(role) for role in roles.ROLES)))


def test_the_matrix_in_the_security_guide_is_the_one_in_the_code():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    rows = {}
    for line in guide.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 + len(roles.ROLES) and re.fullmatch(r"`[a-z_]+`", cells[0]):
            rows[cells[0].strip("`")] = {
                role for role, cell in zip(roles.ROLES, cells[2:], strict=True) if cell == "yes"
            }
    assert rows == {action.name: set(action.roles) for action in roles.ACTIONS}


def _role_rows():
    groups = sorted(Group.objects.filter(name__in=roles.ROLES).values_list("name", flat=True))
    custom = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
        if f"{app}.{codename}" in roles.CUSTOM_PERMISSIONS
    }
    grants = Group.permissions.through.objects.filter(group__name__in=roles.ROLES).count()
    return groups, custom, grants


def _roles_migration():
    loader = MigrationLoader(connection)
    run_python = loader.get_migration("cnperp", "0001_roles").operations[0]
    state_apps = loader.project_state(("cnperp", "0001_roles")).apps
    editor = SimpleNamespace(connection=connection)
    return (
        lambda: run_python.code(state_apps, editor),
        lambda: run_python.reverse_code(state_apps, editor),
    )


def test_the_roles_migration_is_reversible_and_idempotent():
    # Given the roles as the migration made them, and the migration's own functions
    made = _role_rows()
    assert made[0] == sorted(roles.ROLES)
    assert made[1] == set(roles.CUSTOM_PERMISSIONS)
    forward, backward = _roles_migration()

    # When it is reversed, then the groups and the custom permissions are gone
    backward()
    assert _role_rows() == ([], set(), 0)

    # And when it is applied again, twice over (migrate, then post_migrate), the same rows come back
    forward()
    forward()
    roles.roles_install(apps)
    assert _role_rows() == made


def test_stepping_the_roles_back_keeps_who_holds_which_role(world):
    # Given a clerk
    clerk = _user("clerk")
    forward, backward = _roles_migration()

    # When the roles migration is stepped back, then only the clerk's group stays
    backward()
    assert sorted(Group.objects.values_list("name", flat=True)) == ["clerk"]

    # And stepped forward, the clerk is a clerk again, with exactly the clerk's permissions
    forward()
    clerk = get_user_model().objects.get(pk=clerk.pk)
    assert clerk.groups.get().name == "clerk"
    assert clerk.get_all_permissions() == roles.role_permissions("clerk")


def test_create_api_user_puts_a_person_in_a_role_and_lets_them_into_the_admin():
    out = StringIO()
    call_command("create_api_user", "mary", "--group", "accountant", "--staff", stdout=out)
    mary = get_user_model().objects.get(username="mary")
    assert mary.is_staff and not mary.is_superuser
    assert mary.get_all_permissions() == roles.role_permissions("accountant")
    assert f"token: {Token.objects.get(user=mary).key}" in out.getvalue()


def test_create_api_user_names_the_roles_when_a_group_is_unknown():
    with pytest.raises(CommandError, match="The roles are clerk, accountant, controller, auditor, admin"):
        call_command("create_api_user", "bob", "--group", "accountants", stdout=StringIO())
    assert not get_user_model().objects.filter(username="bob").exists()
