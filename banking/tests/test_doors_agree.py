"""The same facts through different doors (API, command, admin, service) give the same answer.

Each test failed before its fix, on an inconsistency between doors (or between a result and its
own breakdown) for the same data: a split line counted twice by dimension, a line matched partly
after the month, the sign-off note's limit, an inactive account's import, a snapshot's variance
without a statement, and the variance report's status beside its own variance.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from accounting.models import AccountingPeriod
from accounting.tests.factories import JournalEntryFactory
from banking import matching
from banking.choices import ReconciliationState
from banking.models import BankReconciliation, BankStatement
from banking.reconciliation import reconcile_banking_by_dimension
from banking.tests.factories import BankAccountFactory, BankTransactionFactory, StatementLineFactory
from banking.tests.reconciliation_setup import october
from banking.tests.statement_files import sample

pytestmark = pytest.mark.django_db

D = datetime.date
ADMIN = "/admin/banking/"
API = "/api/v1/banking/"


def _admin(user):
    client = Client()
    client.force_login(user)
    return client


# --- Reconciliation: the headline and its own breakdown -----------------------------------------


def _split_deposit(month, *, second_date):
    """One statement line of 800.00 matched by hand to two deposits, of HQ and of North."""
    account = month["account"]
    first = BankTransactionFactory(
        id="bt-dep-350",
        bank_account=account,
        amount=Decimal("350.00"),
        transaction_date=D(2025, 10, 24),
        cost_center=month["cost_centers"]["hq"],
        posting_status="posted",
    )
    second = BankTransactionFactory(
        id="bt-dep-450",
        bank_account=account,
        amount=Decimal("450.00"),
        transaction_date=second_date,
        cost_center=month["cost_centers"]["north"],
        posting_status="posted",
    )
    line = StatementLineFactory(
        id="sl-dep-800", statement=month["statement"], booking_date=D(2025, 10, 25), amount=Decimal("800.00")
    )
    return line, first, second


def test_matched_lines_by_cost_centre_add_up_to_the_matched_lines(superuser):
    month = october()
    line, first, second = _split_deposit(month, second_date=D(2025, 10, 24))
    matching.match_manual(statement_line_ids=[line.pk], transaction_ids=[first.pk, second.pk], user=superuser)

    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    # One line of 800.00 is matched; split between two cost centres it is still one line.
    assert result["matched_count"] == 1
    assert result["matched_amount"] == Decimal("800.00")
    by_cost_centre = result["dimensions"]["cost_center"]
    assert sum(row["matched_amount"] for row in by_cost_centre) == result["matched_amount"]
    assert sum(row["matched_count"] for row in by_cost_centre) == result["matched_count"]


def test_a_line_matched_partly_to_next_months_books_counts_the_same_in_headline_and_breakdown(superuser):
    month = october()
    line, first, second = _split_deposit(month, second_date=D(2025, 11, 3))
    matching.match_manual(statement_line_ids=[line.pk], transaction_ids=[first.pk, second.pk], user=superuser)

    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    by_cost_centre = result["dimensions"]["cost_center"]
    # Headline and breakdown describe the same line: the statement's movement of the month
    # (matched + unmatched lines) is the same whichever way it is added up.
    statement_total = result["matched_amount"] + result["unmatched_statement_lines"]["total"]
    assert sum(row["statement_movement"] for row in by_cost_centre) == statement_total
    assert sum(row["matched_amount"] for row in by_cost_centre) == result["matched_amount"]


# --- Sign-off: the admin workbench refuses a note the API takes ------------------------------------


@override_settings(SECURE_SSL_REDIRECT=False)
def test_a_long_sign_off_note_is_taken_by_the_workbench_as_by_the_api(superuser, admin_api):
    october()
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", "--match", stdout=None)
    too_long = "Explained: " + "x" * 1990  # 2,001 characters: beyond the limit of every door

    api = admin_api.post(
        API + "reconciliation/finalize",
        {"bank_account_id": "ba-op", "period": "2025-10", "note": too_long},
        format="json",
    )
    refused = _admin(superuser).post(
        ADMIN + "bankaccount/ba-op/reconcile/2025-10/finalize/",
        data={"note": too_long},
        content_type="application/json",
    )
    note = "Explained: " + "x" * 1489  # 1,500 characters, within the API's limit of 2,000
    workbench = _admin(superuser).post(
        ADMIN + "bankaccount/ba-op/reconcile/2025-10/finalize/",
        data={"note": note},
        content_type="application/json",
    )

    assert api.status_code == refused.status_code == 400
    assert "2000 characters" in api.json()["note"][0]
    # The workbench took 1,000 characters at most (a 400 on "note"); it takes what the API takes.
    assert workbench.status_code == 200, workbench.content
    snapshot = BankReconciliation.objects.get()
    assert snapshot.status == ReconciliationState.FINALIZED
    assert note in snapshot.notes


# --- Statement import: the admin refuses an account the API and the command import into ------------


@override_settings(SECURE_SSL_REDIRECT=False)
def test_an_inactive_accounts_statement_is_imported_alike_by_the_api_and_the_admin(superuser, admin_api):
    content = sample("camt/camt053_six_v4.xml")
    BankAccountFactory(
        id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF", is_active=False
    )

    admin = _admin(superuser).post(
        ADMIN + "bankstatement/import/",
        {"bank_account": "ba-six", "format": "auto", "file": SimpleUploadedFile("six.xml", content)},
    )
    imported_by_admin = BankStatement.objects.count()
    api = admin_api.post(
        API + "statements/import",
        {"bank_account_id": "ba-six", "format": "auto", "file": SimpleUploadedFile("six.xml", content)},
        format="multipart",
    )

    # The admin's form listed active accounts only ("Select a valid choice", nothing imported);
    # like the API it imports the closed account's statement, which the API then finds imported.
    assert imported_by_admin == 1, admin.context and admin.context["form"].errors
    assert api.status_code == 200, api.content
    assert api.json()["statements"][0]["already_imported"] is True


# --- Snapshots: what is saved against what is live -------------------------------------------------


def test_a_month_without_statement_saves_the_same_variance_as_the_live_result(admin_api):
    october()
    BankAccountFactory(id="ba-empty", name="No statement yet")

    run = admin_api.post(
        API + "reconciliation/run", {"bank_account_id": "ba-empty", "period": "2025-10"}, format="json"
    ).json()["reconciliation"]
    saved = admin_api.get(API + f"reconciliations/{run['reconciliation']['id']}").json()

    assert (run["status"], run["variance"]) == ("no_statement", None)
    # The snapshot saved in the same request says the same: no variance, not a variance of 0.00.
    assert (saved["balance_status"], saved["variance"]) == (run["status"], run["variance"])


def test_the_variance_report_judges_the_month_as_the_reconciliation_does(admin_api):
    month = october()
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", stdout=None)
    # The bank fee of 12.50 is then booked: the books agree with the bank.
    JournalEntryFactory(
        account=month["account"].gl_account,
        credit=Decimal("12.50"),
        posting__entry_date=D(2025, 10, 31),
        posting__period=AccountingPeriod.objects.get(pk="2025-10"),
    )

    live = admin_api.get(API + "reconciliation", {"bank_account_id": "ba-op", "period": "2025-10"}).json()
    report = admin_api.get(API + "variance-report", {"bank_account_id": "ba-op", "period": "2025-10"}).json()
    row = report["accounts"][0]

    assert (live["variance"], live["status"]) == ("0.00", "balanced")
    assert row["variance"] == live["variance"]
    # The same line of the report says variance 0.00 and "within_threshold" (the draft snapshot's).
    assert row["balance_status"] == live["status"]
