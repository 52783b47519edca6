"""Security: maker-checker follows whoever changed the figures; the probes tell strangers nothing.

Every request goes through the real doors (Django's test client for the admin and the probes,
DRF's APIClient for the API); nothing is mocked. Each test failed before its fix.
"""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounting.models import JournalEntry
from banking.choices import PostingStatus, ReconciliationState
from banking.models import BankReconciliation, BankTransaction
from banking.tests.factories import BankStatementFactory, BankTransactionFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup

BANKING = "/api/v1/banking"
MONTH = {"bank_account_id": "ba-op", "period": "2025-10"}
DRAFT = {
    "bank_account_id": "ba-op",
    "transaction_type": "deposit",
    "direction": "in",
    "amount": "250.00",
    "transaction_date": "2025-10-15",
}


def _person(username, *groups, staff=False):
    user = get_user_model().objects.create_user(username=username, password="Review-pass-2025!")
    user.is_staff = staff
    user.save(update_fields=["is_staff"])
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Segregation of duties: the checker rewrites the maker's draft, then approves it ----------------


@pytest.mark.django_db
def test_an_accountant_cannot_rewrite_a_clerks_draft_and_post_it_herself():
    """Maker-checker is judged on ``created_by`` only: whoever last changed the draft may post it.

    A clerk records a 250.00 deposit; an accountant (who may change drafts) turns it into a
    9,999.00 withdrawal to her own counterparty, then posts it herself. The figures that reach
    the ledger were made and approved by one person.
    """
    ledger_setup()
    clerk = _person("carl", "clerk")
    accountant = _person("anna", "accountant")
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=True):
        assert _api(clerk).post(f"{BANKING}/transactions", {**DRAFT, "id": "bt-carl"}).status_code == 201
        anna = _api(accountant)
        changed = anna.patch(
            f"{BANKING}/transactions/bt-carl",
            {
                "amount": "9999.00",
                "transaction_type": "withdrawal",
                "direction": "out",
                "counterparty_name": "Anna's own company",
            },
        )
        assert changed.status_code == 200, changed.content

        answer = anna.post(f"{BANKING}/transactions/bt-carl/post-accounting", {})

    assert answer.status_code == 403, (answer.status_code, answer.content)
    assert answer.json()["code"] == "segregation_of_duties"
    assert BankTransaction.objects.get(pk="bt-carl").posting_status == PostingStatus.DRAFT
    assert not JournalEntry.objects.filter(debit=Decimal("9999.00")).exists()


# --- Information leak: /health tells anonymous callers the database's account and host --------------


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_health_does_not_tell_an_anonymous_caller_the_database_user_and_host():
    """``/health`` (public, exempt from the HTTPS redirect) copies the driver's error into ``detail``."""
    settings = connection.settings_dict
    saved = settings["USER"], settings["PASSWORD"]
    connection.close()
    settings["USER"], settings["PASSWORD"] = "cnperp_dbuser_secret", "wrong-password"
    try:
        response = Client().get("/health")
    finally:
        connection.close()
        settings["USER"], settings["PASSWORD"] = saved
    assert response.status_code == 503
    body = response.content.decode()
    assert "cnperp_dbuser_secret" not in body, body
    assert "Access denied" not in body, body
    assert settings["HOST"] not in body, body


# --- Information leak: /metrics gives anyone each account's reconciliation variance -------------------


def _reconciled_month(accountant):
    """ba-op for October 2025: a posted 100.00 deposit, a statement line of 100.00, the month reconciled."""
    ledger_setup()
    BankTransactionFactory(id="bt-posted", bank_account_id="ba-op", amount=Decimal("100.00"))
    call_command("post_transactions", "--all-drafts", stdout=StringIO())
    statement = BankStatementFactory(
        bank_account_id="ba-op", opening_balance=Decimal("0.00"), closing_balance=Decimal("100.00")
    )
    StatementLineFactory(
        id="sl-100", statement=statement, amount=Decimal("100.00"), booking_date=datetime.date(2025, 10, 15)
    )
    ran = _api(accountant).post(f"{BANKING}/reconciliation/run", {**MONTH, "match": False})
    assert ran.status_code == 200, ran.content


@pytest.mark.django_db
def test_metrics_do_not_give_an_anonymous_caller_the_reconciliation_figures():
    """``/metrics`` answers anyone, over plain HTTP too, with each account's variance and sign-off.

    Inside the application a clerk may not read reconciliations (read_reconciliations); an
    anonymous caller reads every bank account's id, latest month, variance and sign-off state.
    """
    _reconciled_month(_person("anna", "accountant"))
    response = Client().get("/metrics")
    body = response.content.decode()
    assert response.status_code in (401, 403) or 'bank_account_id="ba-op"' not in body, body[-600:]


# --- Segregation of duties: the signer matches the month himself after someone else "prepared" it ------


@pytest.mark.django_db
def test_whoever_changes_the_matches_after_the_run_cannot_sign_the_month_off_himself():
    """The preparer is only the last person who ran the reconciliation, not who changed its matches.

    An accountant runs October (matching nothing). An admin-role user then matches the month by hand
    and signs it off: the matches, counts and variance he signs were made by him alone, yet the
    sign-off goes through because the snapshot still names the accountant as preparer.
    """
    _reconciled_month(_person("anna", "accountant"))
    adam = _api(_person("adam", "admin"))
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=True):
        matched = adam.post(
            f"{BANKING}/reconciliation/match",
            {"statement_line_ids": ["sl-100"], "transaction_ids": ["bt-posted"]},
        )
        assert matched.status_code == 201, matched.content
        answer = adam.post(f"{BANKING}/reconciliation/finalize", MONTH)

    assert answer.status_code == 403, (answer.status_code, answer.content[:300])
    assert answer.json()["code"] == "segregation_of_duties"
    assert not BankReconciliation.objects.filter(
        bank_account_id="ba-op", period_id="2025-10", status=ReconciliationState.FINALIZED
    ).exists()
