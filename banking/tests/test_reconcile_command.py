"""``manage.py reconcile``: the same numbers as the service and the API, clear errors, sign-off."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from banking.choices import ReconciliationState
from banking.models import BankReconciliation
from banking.reconciliation import jsonable, reconcile_banking_by_dimension
from banking.tests.reconciliation_setup import october

pytestmark = pytest.mark.django_db


@pytest.fixture
def month():
    return october()


def reconcile(*args):
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_the_command_matches_saves_and_prints_the_summary(month):
    output = reconcile("--account", "ba-op", "--period", "2025-10", "--match")

    assert "Matched 3 of 4 open statement lines (amount_date 1, exact_key 2); 0 with suggestions." in output
    assert "book closing balance       1,600.00" in output
    assert "variance                   -12.50" in output
    assert "status                     within_threshold (threshold 1,000.00)" in output
    assert "line sl-fee 2025-10-31 -12.50 ACCOUNT SERVICE FEE" in output
    snapshot = BankReconciliation.objects.get()
    assert (snapshot.matched_count, snapshot.prepared_by.username) == (3, "system-posting")


def test_the_command_the_service_the_api_and_the_admin_give_the_same_numbers(month, superuser):
    as_json = json.loads(reconcile("--account", "ba-op", "--period", "2025-10", "--match", "--json"))
    service = jsonable(reconcile_banking_by_dimension("ba-op", "2025-10"))
    client = APIClient()
    client.force_authenticate(superuser)
    api = client.get(
        "/api/v1/banking/reconciliation", {"bank_account_id": "ba-op", "period": "2025-10"}
    ).json()

    assert as_json == service == api

    # The admin's reconcile screen shows the same figures from the same service
    admin = Client()
    admin.force_login(superuser)
    screen = admin.get("/admin/banking/bankaccount/ba-op/reconcile/2025-10/summary/").json()
    assert {
        "statement_closing_balance": screen["statement_closing_balance"],
        "book_closing_balance": screen["book_closing_balance"],
        "variance": screen["variance"],
        "status": screen["status"],
        "matched_count": screen["matched_count"],
        "unmatched_line_count": screen["unmatched_line_count"],
        "unmatched_book_count": screen["unmatched_book_count"],
    } == {
        "statement_closing_balance": api["statement_closing_balance"],
        "book_closing_balance": api["book_closing_balance"],
        "variance": api["variance"],
        "status": api["status"],
        "matched_count": api["matched_count"],
        "unmatched_line_count": api["unmatched_statement_lines"]["count"],
        "unmatched_book_count": api["unmatched_book_items"]["count"],
    }


def test_finalize_signs_off_and_a_second_run_is_refused(month):
    output = reconcile("--account", "ba-op", "--period", "2025-10", "--match", "--finalize")
    assert "signed off by system-posting" in output
    assert BankReconciliation.objects.get().status == ReconciliationState.FINALIZED

    signed = "was finalized by system-posting on [0-9-]+; "
    with pytest.raises(CommandError, match=signed + "its matches can no longer change"):
        reconcile("--account", "ba-op", "--period", "2025-10", "--match")
    # A plain refresh (a nightly job's) and a second sign-off are told what they asked for.
    with pytest.raises(CommandError, match=signed + "its snapshot stays as signed off"):
        reconcile("--account", "ba-op", "--period", "2025-10")
    with pytest.raises(CommandError, match=signed + "it is signed off once"):
        reconcile("--account", "ba-op", "--period", "2025-10", "--finalize")
    assert BankReconciliation.objects.get().status == ReconciliationState.FINALIZED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--account", "ba-nope", "--period", "2025-10"), '--account: No bank account has the id "ba-nope".'),
        (("--account", "ba-op", "--period", "2025-13"), '--period: "2025-13" is not a period'),
        (("--account", "ba-op", "--period", "2025-10", "--user", "ghost"), 'No user is called "ghost"'),
    ],
)
def test_bad_arguments_end_with_a_message(month, args, message):
    with pytest.raises(CommandError, match=message):
        reconcile(*args)
    assert not BankReconciliation.objects.exists()


def test_a_missing_argument_exits_non_zero(month):
    with pytest.raises(CommandError, match="--period"):
        reconcile("--account", "ba-op")


def test_a_note_without_finalize_is_refused_rather_than_thrown_away(month):
    # When a sign-off note is given to a run that signs nothing off
    with pytest.raises(CommandError) as refused:
        reconcile("--account", "ba-op", "--period", "2025-10", "--match", "--note", "fee explained")

    # Then it names the flag, and nothing was matched or saved
    assert refused.value.returncode == 1
    assert "--note" in str(refused.value) and "--finalize" in str(refused.value)
    assert not BankReconciliation.objects.exists()
