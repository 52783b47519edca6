"""The audit trail: every change to a financial record says who, when and what, and nobody edits it."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounting.models import AccountingPeriod
from accounting.tests.factories import UserFactory
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankTransaction,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    ReconciliationMatch,
    StatementLine,
)
from banking.tests.factories import BankTransactionFactory, CashSubmissionFactory, FloatAllocationFactory
from banking.tests.posting_setup import ledger_setup
from banking.tests.reconciliation_setup import october
from cnperp import audit
from cnperp.tests.admin_pages import admin_url, change_url, changelist_url, form_data

pytestmark = pytest.mark.django_db

BANKING = "/api/v1/banking"
RECONCILIATION = f"{BANKING}/reconciliation"


def token_client(user):
    """An API client that signs in the way another system does: with the user's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def accountant():
    user = UserFactory(username="ada-accountant", email="ada@example.com")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["banking", "accounting"])
    )
    return user


def entries(model, pk, event=None):
    found = LogEntry.objects.get_for_model(model).filter(object_pk=pk).order_by("timestamp", "pk")
    if event is not None:
        found = [entry for entry in found if (entry.additional_data or {}).get("event") == event]
    return list(found)


def test_posting_and_reversal_through_the_api_name_the_token_user(accountant):
    # Given a draft transaction and an accountant signed in with a token,
    ledger_setup()
    BankTransactionFactory(id="bt-audit", bank_account_id="ba-op", amount=Decimal("250.00"))
    client = token_client(accountant)

    # when they post it and then reverse it,
    assert client.post(f"{BANKING}/transactions/bt-audit/post-accounting", {}).status_code == 201
    reversed_ = client.post(
        f"{BANKING}/transactions/bt-audit/reverse", {"reversal_date": "2025-10-20", "reason": "Wrong account"}
    )
    assert reversed_.status_code == 201, reversed_.content

    # then the trail holds both, with who, when and what changed.
    (posted,) = entries(BankTransaction, "bt-audit", "post")
    assert posted.actor == accountant
    assert posted.actor_email == "ada@example.com"
    assert posted.changes_dict["posting_status"] == ["draft", "posted"]
    assert posted.changes_dict["gl_reference"] == [None, "BT-bt-audit"]
    (reversal,) = entries(BankTransaction, "bt-audit", "reverse")
    assert reversal.actor == accountant
    assert reversal.changes_dict["posting_status"] == ["posted", "reversed"]
    assert reversal.additional_data == {
        "event": "reverse",
        "reversal": "BT-bt-audit-REV",
        "reason": "Wrong account",
    }
    assert reversal.timestamp >= posted.timestamp


def test_branch_cash_posting_and_a_float_return_are_recorded(accountant):
    # Given a branch's cash submission and float,
    ledger = ledger_setup()
    CashSubmissionFactory(id="cs-audit", branch=ledger["branch"], bank_account=ledger["op"])
    FloatAllocationFactory(id="fa-audit", branch=ledger["branch"], bank_account=ledger["op"])
    client = token_client(accountant)

    # when the accountant posts both and records the float's partial return,
    assert client.post(f"{BANKING}/cash-submissions/cs-audit/post-accounting", {}).status_code == 201
    assert client.post(f"{BANKING}/float-allocations/fa-audit/post-accounting", {}).status_code == 201
    back = {"returned_amount": "200.00", "return_date": "2025-10-31"}
    assert client.post(f"{BANKING}/float-allocations/fa-audit/post-return", back).status_code == 201

    # then each change is on its document's trail, by the accountant.
    (submission,) = entries(CashSubmission, "cs-audit", "post")
    assert submission.changes_dict["gl_reference"] == [None, "CS-cs-audit"]
    (returned,) = entries(FloatAllocation, "fa-audit", "float return")
    assert returned.changes_dict == {
        "returned_amount": [None, "200.00"],
        "return_gl_reference": [None, "FR-fa-audit"],
    }
    assert submission.actor == returned.actor == accountant


def test_batch_posting_records_one_entry_per_transaction(accountant):
    # Given three drafts,
    ledger = ledger_setup()
    for number in range(1, 4):
        BankTransactionFactory(id=f"bt-batch-{number}", bank_account=ledger["op"])

    # when a command posts them all as the accountant,
    call_command("post_transactions", "--all-drafts", "--user", accountant.username, stdout=StringIO())

    # then each has its own entry naming the accountant and its own reference.
    for number in range(1, 4):
        (entry,) = entries(BankTransaction, f"bt-batch-{number}", "post")
        assert entry.actor == accountant
        assert entry.changes_dict["gl_reference"] == [None, f"BT-bt-batch-{number}"]


def test_matching_and_finalizing_through_the_api_are_recorded(accountant):
    # Given a month with statement lines and books, and the accountant's token,
    october()
    client = token_client(accountant)

    # when they run the matcher, unmatch one line, match it by hand and sign the month off,
    month = {"bank_account_id": "ba-op", "period": "2025-10"}
    assert client.post(f"{RECONCILIATION}/run", month).status_code == 200
    assert client.post(f"{RECONCILIATION}/unmatch", {"statement_line_ids": ["sl-in-500"]}).status_code == 200
    manual = {"statement_line_ids": ["sl-in-500"], "transaction_ids": ["bt-in-500"], "note": "checked"}
    assert client.post(f"{RECONCILIATION}/match", manual).status_code == 201
    signed = client.post(f"{RECONCILIATION}/finalize", month)
    assert signed.status_code == 200, signed.content

    # then the run is on the bank account's trail (each match row keeps who, when and why),
    (run,) = entries(BankAccount, "ba-op", "auto-match")
    assert run.actor == accountant
    assert run.changes_dict["matched_lines"] == [None, "3"]
    assert run.additional_data["period"] == "2025-10"
    # the transaction's trail tells the rest, each step by the accountant,
    trail = [(e.additional_data or {}).get("event") for e in entries(BankTransaction, "bt-in-500")]
    assert trail[-3:] == ["unmatch", "manual match", "finalize reconciliation"]
    for entry in entries(BankTransaction, "bt-in-500")[-3:]:
        assert entry.actor == accountant
    (finalized,) = entries(BankTransaction, "bt-in-500", "finalize reconciliation")
    assert finalized.changes_dict["reconciliation_status"] == ["matched", "reconciled"]
    (manual_entry,) = entries(BankTransaction, "bt-in-500", "manual match")
    assert manual_entry.additional_data["note"] == "checked"
    # and the reconciliation's own history shows its sign-off with the approver.
    snapshot = BankReconciliation.objects.get()
    signed_off = [e for e in entries(BankReconciliation, snapshot.pk) if "status" in e.changes_dict]
    assert signed_off[-1].changes_dict["status"][1] == "finalized"
    assert signed_off[-1].actor == accountant


def test_a_rejected_suggestion_is_recorded_on_its_match(accountant):
    month = october()
    StatementLine.objects.filter(pk="sl-in-300").update(counterparty_name="")
    BankTransaction.objects.filter(pk="bt-in-300").update(counterparty_name="")
    client = token_client(accountant)
    run = client.post(f"{RECONCILIATION}/run", {"bank_account_id": "ba-op", "period": "2025-10"})
    assert run.status_code == 200
    suggestion = ReconciliationMatch.objects.get(statement_line=month["lines"]["name"])

    assert client.post(f"{RECONCILIATION}/matches/{suggestion.pk}/reject").status_code == 200

    (entry,) = entries(ReconciliationMatch, suggestion.pk, "reject suggestion")
    assert entry.actor == accountant
    assert entry.changes_dict["status"] == ["suggested", "rejected"]


def test_api_create_change_and_delete_of_a_draft_are_recorded_with_their_changes(accountant):
    # Given the posting chart and the accountant's token,
    ledger_setup()
    client = token_client(accountant)
    body = {
        "id": "bt-api-edit",
        "bank_account_id": "ba-op",
        "transaction_type": "deposit",
        "amount": "100.00",
        "transaction_date": "2025-10-15",
    }

    # when a draft is created, its amount changed, then deleted,
    assert client.post(f"{BANKING}/transactions", body).status_code == 201
    changed = client.patch(f"{BANKING}/transactions/bt-api-edit", {"amount": "120.50"})
    assert changed.status_code == 200, changed.content
    assert client.delete(f"{BANKING}/transactions/bt-api-edit").status_code == 204

    # then there is one entry per change, each naming the token's user,
    created, updated, deleted = entries(BankTransaction, "bt-api-edit")
    assert [created.action, updated.action, deleted.action] == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    assert {created.actor, updated.actor, deleted.actor} == {accountant}
    # and the change says what the amount was and became.
    assert updated.changes_dict == {"amount": ["100.00", "120.50"]}
    assert created.changes_dict["amount"] == ["None", "100.00"]


def test_an_admin_edit_is_recorded_and_shown_behind_the_history_link(superuser):
    # Given a bank account and a signed-in superuser in the admin,
    ledger_setup()
    client = Client()
    client.force_login(superuser)
    account = BankAccount.objects.get(pk="ba-op")
    page = client.get(change_url(account))
    assert page.status_code == 200
    history = admin_url(BankAccount, "history", "ba-op")
    assert history in page.content.decode()

    # when its name is changed through the admin form,
    data = form_data(page)
    data["name"] = "Main operating account"
    saved = client.post(change_url(account), data)
    assert saved.status_code == 302, saved.content

    # then the trail records the admin user and the change,
    entry = entries(BankAccount, "ba-op")[-1]
    assert entry.actor == superuser
    assert entry.changes_dict["name"] == ["Operating account", "Main operating account"]
    # and the record's History page shows it.
    shown = client.get(history)
    assert shown.status_code == 200
    text = shown.content.decode()
    assert "Main operating account" in text
    assert superuser.username in text


def test_an_explicit_entry_shows_its_event_on_the_history_page(superuser, accountant):
    ledger_setup()
    BankTransactionFactory(id="bt-hist", bank_account_id="ba-op")
    posted = token_client(accountant).post(f"{BANKING}/transactions/bt-hist/post-accounting", {})
    assert posted.status_code == 201
    client = Client()
    client.force_login(superuser)

    text = client.get(admin_url(BankTransaction, "history", "bt-hist")).content.decode()

    assert "post" in text
    assert "BT-bt-hist" in text
    assert accountant.username in text


def test_nobody_changes_or_deletes_an_entry_in_the_admin_not_even_a_superuser(superuser, accountant):
    # Given an entry (a posting rule's creation, by the accountant over the API),
    ledger_setup(rules=False)
    rule = {"document_type": "deposit", "contra_account_id": "gl-4000"}
    assert token_client(accountant).post(f"{BANKING}/posting-rules", rule).status_code == 201
    entry = LogEntry.objects.get_for_model(PostingRule).get()
    client = Client()
    client.force_login(superuser)

    # the superuser can read the list and the entry,
    assert client.get(changelist_url(LogEntry)).status_code == 200
    page = client.get(change_url(entry))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()

    # but cannot add, change or delete one, one by one or through a list action;
    assert client.get(admin_url(LogEntry, "add")).status_code == 403
    assert client.post(change_url(entry), {"object_repr": "forged"}).status_code == 403
    assert client.get(admin_url(LogEntry, "delete", entry.pk)).status_code == 403
    assert client.post(admin_url(LogEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    bulk = client.post(
        changelist_url(LogEntry), {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    # and the entry is as it was.
    entry.refresh_from_db()
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    assert entry.actor == accountant
    assert entry.object_repr != "forged"


def test_period_close_and_reopen_by_command_name_the_user(accountant):
    AccountingPeriod.objects.create(
        id="2025-09", start_date=datetime.date(2025, 9, 1), end_date=datetime.date(2025, 9, 30)
    )

    call_command("close_period", "2025-09", "--user", accountant.username, stdout=StringIO())
    call_command("reopen_period", "2025-09", "--user", accountant.username, stdout=StringIO())

    closed, reopened = entries(AccountingPeriod, "2025-09")[-2:]
    assert (closed.additional_data["event"], closed.changes_dict["status"]) == (
        "close period",
        ["open", "closed"],
    )
    assert (reopened.additional_data["event"], reopened.changes_dict["status"]) == (
        "reopen period",
        ["closed", "open"],
    )
    assert closed.actor == reopened.actor == accountant


def test_outside_a_request_the_user_stamped_on_the_record_is_named(accountant):
    # A service called from a command (no request) stamps its user on the record.
    ledger_setup()
    from banking.services import bank_transaction_create

    bank_transaction_create(
        user=accountant,
        id="bt-cron",
        bank_account_id="ba-op",
        transaction_type="deposit",
        amount=Decimal("10.00"),
        transaction_date=datetime.date(2025, 10, 3),
    )

    (entry,) = entries(BankTransaction, "bt-cron")
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == accountant


def test_every_financial_record_is_covered():
    covered = {model._meta.label for model in audit.audited_models()}
    assert {
        "banking.BankAccount",
        "banking.BankTransaction",
        "banking.BankTransfer",
        "banking.BankTransferAllocation",
        "banking.CashSubmission",
        "banking.FloatAllocation",
        "banking.PostingRule",
        "banking.StatementCsvProfile",
        "banking.BankStatement",
        "banking.StatementLine",
        "banking.ReconciliationMatch",
        "banking.BankReconciliation",
        "accounting.AccountingPeriod",
        "accounting.GLAccount",
        "dimensions.CostCenter",
        "dimensions.Project",
        "dimensions.Department",
    } <= covered


def test_a_record_of_keys_from_a_query_writes_one_entry_each_and_refuses_per_key_values(accountant):
    ledger_setup()
    for number in range(1, 4):
        BankTransactionFactory(id=f"bt-q-{number}", bank_account_id="ba-op")
    keys = BankTransaction.objects.filter(pk__startswith="bt-q-").values_list("pk", flat=True)

    written = audit.record("review", BankTransaction, keys, user=accountant, new={"reviewed": True})

    assert written == 3
    assert [e.changes_dict for e in entries(BankTransaction, "bt-q-2", "review")] == [
        {"reviewed": [None, "True"]}
    ]
    with pytest.raises(TypeError):
        audit.record("review", BankTransaction, keys, user=accountant, new={"reviewed": lambda key: key})
