"""One posting rule per document type and scope, the default (no bank account, no branch) included.

The model's check reads before the write, so two saves at the same instant both
passed it, and the unique index on (document type, bank account, branch) let two
default rules stand (NULLs never collide). banking 0013 keeps the scope in a
stored generated column under a unique index. The save that loses the race is
refused as the check refuses it (400 on ``document_type`` over the API, the
message on the admin's form), never a 500; migrating with duplicates already in
the table names them.
"""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client

from accounting.tests.factories import GLAccountFactory, UserFactory
from banking.choices import PostingDocument
from banking.models import PostingRule
from banking.tests.factories import BankAccountFactory
from cnperp.records import record_create
from cnperp.tests.api import client_for
from cnperp.tests.threads import started

API = "/api/v1/banking/posting-rules"
ADD = "/admin/banking/postingrule/add/"


@pytest.fixture
def accounts():
    return {
        "sales": GLAccountFactory(id="gl-4000", code="4000", account_type="income"),
        "other": GLAccountFactory(id="gl-4100", code="4100", account_type="income"),
        "op": BankAccountFactory(id="ba-op"),
    }


def rules(document_type=PostingDocument.DEPOSIT):
    return sorted(PostingRule.objects.filter(document_type=document_type).values_list("id", flat=True))


# --- The database holds it -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_second_default_rule_saved_without_the_check(accounts):
    PostingRule.objects.create(id="pr-first", document_type="deposit", contra_account=accounts["sales"])
    # Scoped rules beside the default are fine: one per bank account.
    PostingRule.objects.create(
        id="pr-op", document_type="deposit", bank_account=accounts["op"], contra_account=accounts["other"]
    )
    # A save that skips the model's check (a script, a bulk load) meets the unique index.
    with pytest.raises(IntegrityError), transaction.atomic():
        PostingRule.objects.create(id="pr-second", document_type="deposit", contra_account=accounts["other"])
    with pytest.raises(IntegrityError), transaction.atomic():
        PostingRule.objects.bulk_create(
            [
                PostingRule(
                    id="pr-op-2",
                    document_type="deposit",
                    bank_account=accounts["op"],
                    contra_account_id="gl-4000",
                )
            ]
        )
    assert rules() == ["pr-first", "pr-op"]
    # The scope the database computed: empty keys for the default.
    assert dict(PostingRule.objects.values_list("id", "scope")) == {"pr-first": "|", "pr-op": "ba-op|"}


@pytest.mark.django_db
def test_rules_of_other_scopes_are_added_and_changed_beside_the_default(accounts):
    # Given the default deposit rule and one for ba-op
    PostingRule.objects.create(id="pr-first", document_type="deposit", contra_account=accounts["sales"])
    PostingRule.objects.create(
        id="pr-op", document_type="deposit", bank_account=accounts["op"], contra_account=accounts["other"]
    )
    BankAccountFactory(id="ba-payroll")
    BankAccountFactory(id="ba-cash")
    api = client_for(UserFactory(username="finance", is_superuser=True, is_staff=True))
    browser = Client()
    browser.force_login(UserFactory(username="admin-user", is_superuser=True, is_staff=True))

    # When a rule for another bank account is added over the API and another in the admin, and
    # the two standing rules are changed
    added = api.post(
        API,
        {
            "id": "pr-payroll",
            "document_type": "deposit",
            "bank_account_id": "ba-payroll",
            "contra_account_id": "gl-4100",
        },
        format="json",
    )
    changed = api.patch(f"{API}/pr-first", {"description": "sales"}, format="json")
    form = {"document_type": "deposit", "contra_account": "gl-4000", "is_active": "on", "branch": ""}
    admin_added = browser.post(ADD, {**form, "id": "pr-admin", "bank_account": "ba-cash", "description": ""})
    clash = browser.post(ADD, {**form, "id": "pr-admin-2", "bank_account": "ba-op", "description": ""})
    admin_changed = browser.post(
        "/admin/banking/postingrule/pr-op/change/",
        {**form, "id": "pr-op", "contra_account": "gl-4100", "bank_account": "ba-op", "description": "op"},
    )

    # Then each is saved (the check over the scope column once refused every one of them) ...
    assert added.status_code == 201, added.content
    assert changed.status_code == 200, changed.content
    assert admin_added.status_code == 302, admin_added.content.decode()[:2000]
    assert admin_changed.status_code == 302, admin_changed.content.decode()[:2000]
    assert rules() == ["pr-admin", "pr-first", "pr-op", "pr-payroll"]
    assert PostingRule.objects.get(pk="pr-first").description == "sales"
    assert PostingRule.objects.get(pk="pr-op").description == "op"
    # ... and a second rule of one scope is refused by the rule's own check, naming document_type
    assert clash.status_code == 200  # the form again
    assert "A rule for this document type and scope already exists." in clash.content.decode()
    again = api.post(
        API, {"id": "pr-again", "document_type": "deposit", "contra_account_id": "gl-4100"}, format="json"
    )
    assert again.status_code == 400
    assert again.json() == {"document_type": ["A rule for this document type and scope already exists."]}


# --- Two people saving the same default rule at once -----------------------------------------------


def _first_save_held_open(accounts, proceed):
    """Save a default deposit rule in a transaction held open until ``proceed`` is set."""
    user = UserFactory(username="first")

    def run():
        try:
            with transaction.atomic():
                record_create(
                    model=PostingRule,
                    user=user,
                    id="pr-first",
                    document_type="deposit",
                    contra_account=accounts["sales"],
                )
                saved.set()
                proceed.wait(timeout=30)
        finally:
            connection.close()

    saved = threading.Event()
    thread = threading.Thread(target=run)
    thread.start()
    assert saved.wait(timeout=30)
    return thread


def _commit_once_waiting(proceed, table="posting_rules"):
    """Let the first save commit once the second one waits on its row lock (the unique key)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                " WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
                [f"INSERT INTO `{table}`%"],
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.02)
    else:
        pytest.fail("the second save never reached the database")
    time.sleep(0.2)  # the INSERT is waiting on the first save's lock on the key
    proceed.set()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_the_api_refuses_the_second_of_two_default_rules_saved_at_once(accounts):
    proceed = threading.Event()
    first = _first_save_held_open(accounts, proceed)
    api = client_for(UserFactory(username="second", is_superuser=True, is_staff=True))

    second, outcome = started(
        lambda: api.post(
            API,
            {"id": "pr-second", "document_type": "deposit", "contra_account_id": "gl-4100"},
            format="json",
        )
    )
    _commit_once_waiting(proceed)
    first.join(timeout=30)
    second.join(timeout=30)

    response = outcome["result"]
    assert not isinstance(response, Exception), response
    assert response.status_code == 400, response.content
    assert response.json()["document_type"] == ["A rule for this document type and scope already exists."]
    assert rules() == ["pr-first"]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_the_admin_refuses_the_second_of_two_default_rules_saved_at_once(accounts):
    proceed = threading.Event()
    first = _first_save_held_open(accounts, proceed)
    browser = Client()
    browser.force_login(UserFactory(username="second", is_superuser=True, is_staff=True))
    form = {
        "id": "pr-second",
        "document_type": "deposit",
        "contra_account": "gl-4100",
        "is_active": "on",
        "description": "",
        "bank_account": "",
        "branch": "",
    }

    second, outcome = started(lambda: browser.post(ADD, form))
    _commit_once_waiting(proceed)
    first.join(timeout=30)
    second.join(timeout=30)

    response = outcome["result"]
    assert not isinstance(response, Exception), response
    assert response.status_code == 200  # the form again, not a redirect to the list
    assert "A rule for this document type and scope already exists." in response.content.decode()
    assert rules() == ["pr-first"]


# --- Upgrading a database that already holds two ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migrating_names_the_rules_that_share_a_scope(accounts):
    # Given the table as banking 0012 left it, with two default deposit rules
    call_command("migrate", "banking", "0012", verbosity=0)
    with connection.cursor() as cursor:
        for pk, account in (("pr-a", "gl-4000"), ("pr-b", "gl-4100")):
            cursor.execute(
                "INSERT INTO posting_rules (id, document_type, contra_account_id, description, is_active,"
                " created_at, updated_at) VALUES (%s, 'deposit', %s, '', 1, %s, %s)",
                [pk, account, "2025-10-01 00:00:00", "2025-10-01 00:00:00"],
            )
    # When banking 0013 is applied, then it stops and names both,
    with pytest.raises(RuntimeError, match="pr-a, pr-b are all the deposit rule for default"):
        call_command("migrate", "banking", verbosity=0)
    # and once one is deleted it applies.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM posting_rules WHERE id = 'pr-b'")
    call_command("migrate", "banking", verbosity=0)
    assert dict(PostingRule.objects.values_list("id", "scope")) == {"pr-a": "|"}
