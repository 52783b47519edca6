"""manage.py variance_alerts: lists, logs and mails the variances above the threshold; exit code for cron."""

import json
import logging
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from banking import reports
from banking.tests.factories import BankStatementFactory, CashSubmissionFactory
from banking.tests.report_data import account, build_book
from dimensions.tests.factories import BranchFactory

pytestmark = pytest.mark.django_db

ADMINS = [("Finance operations", "ops@example.com")]


@pytest.fixture
def book():
    return build_book()


def _closing(account):
    return reports.cash_position_get(bank_account_id=account, period="2025-10")["totals"]["closing_balance"]


def _statement_above_books(account_id, amount):
    BankStatementFactory(
        bank_account=account(account_id), closing_balance=_closing(account_id) + Decimal(amount)
    )


def _run(*args):
    out = StringIO()
    call_command("variance_alerts", *args, stdout=out)
    return out.getvalue()


@override_settings(ADMINS=ADMINS)
def test_no_variance_above_the_threshold_exits_zero_and_mails_nobody(book):
    BankStatementFactory(
        bank_account=account("ba-op"), closing_balance=_closing("ba-op") + Decimal("4999.99")
    )

    output = _run("--period", "2025-10")

    assert "No variance above 5000.00 in 2025-10." in output
    assert mail.outbox == []


@override_settings(ADMINS=ADMINS)
def test_variances_above_the_threshold_are_mailed_logged_and_exit_non_zero(book, caplog):
    # Given ba-op's statement 5,000.01 above the books, and a branch 6,000.00 short
    BankStatementFactory(
        bank_account=account("ba-op"), closing_balance=_closing("ba-op") + Decimal("5000.01")
    )
    CashSubmissionFactory(
        bank_account=account("ba-sav"),
        branch=BranchFactory(id="north", code="NORTH"),
        expected_amount=Decimal("8000.00"),
        deposited_amount=Decimal("2000.00"),
    )

    # When the command runs for October
    with caplog.at_level(logging.WARNING, logger="cnperp.alerts"), pytest.raises(CommandError) as failed:
        _run("--period", "2025-10")

    # Then it fails (cron sees a non-zero exit) ...
    assert "2 variance(s) above the threshold in 2025-10" in str(failed.value)
    # ... one JSON line per alert was logged ...
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cnperp.alerts"]
    assert [(r["kind"], r["bank_account_id"], r["branch_id"], r["variance"]) for r in records] == [
        ("book_vs_statement", "ba-op", None, "5000.01"),
        ("cash_submission", "ba-sav", "north", "-6000.00"),
    ]
    assert all(r["threshold"] == "5000.00" and r["period"] == "2025-10" for r in records)
    # ... and the admins got one mail listing both
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "2 banking variance(s)" in mail.outbox[0].subject
    assert "ba-op: book vs statement variance 5000.01" in mail.outbox[0].body
    assert "ba-sav branch north: cash submitted vs deposited variance -6000.00" in mail.outbox[0].body


@override_settings(ADMINS=ADMINS, BANKING_VARIANCE_ALERT_THRESHOLD=Decimal("7000.00"))
def test_the_threshold_comes_from_the_setting(book):
    BankStatementFactory(
        bank_account=account("ba-op"), closing_balance=_closing("ba-op") + Decimal("6000.00")
    )

    output = _run("--period", "2025-10")

    assert "No variance above 7000.00" in output
    assert mail.outbox == []


def test_the_exit_code_of_the_real_command_line(book):
    BankStatementFactory(
        bank_account=account("ba-op"), closing_balance=_closing("ba-op") + Decimal("9000.00")
    )

    with pytest.raises(SystemExit) as exited:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "variance_alerts", "--period", "2025-10"]).execute()

    assert exited.value.code == 1


@pytest.mark.parametrize("period", ["2025-13", "oct"])
def test_a_bad_period_is_refused(period):
    with pytest.raises(CommandError, match="--period"):
        _run("--period", period)


@override_settings(ADMINS=ADMINS)
def test_a_variance_accepted_at_sign_off_is_said_but_raises_no_alert(book, caplog):
    # A month signed off with its variance explained kept cron failing every night after.
    from accounting.tests.factories import UserFactory
    from banking.models import BankReconciliation
    from banking.reconciliation import reconciliation_finalize, reconciliation_snapshot_save

    _statement_above_books("ba-op", "5000.01")
    preparer, controller = UserFactory(username="preparer"), UserFactory(username="controller")
    reconciliation_snapshot_save(bank_account_id="ba-op", period="2025-10", user=preparer)
    reconciliation_finalize(
        user=controller, bank_account_id="ba-op", period="2025-10", note="Cheque lodged on the 31st."
    )
    assert BankReconciliation.objects.get(bank_account_id="ba-op").status == "finalized"

    with caplog.at_level(logging.WARNING, logger="cnperp.alerts"):
        output = _run("--period", "2025-10")

    said = "ba-op: book vs statement variance 5000.01 USD (threshold 5000.00)"
    assert f"{said}: accepted at sign-off by controller" in output
    assert "No variance above 5000.00 in 2025-10 left to explain." in output
    assert [r for r in caplog.records if r.name == "cnperp.alerts"] == []
    assert mail.outbox == []


@override_settings(ADMINS=ADMINS)
def test_a_variance_changed_since_its_sign_off_is_alerted_again(book):
    # What was accepted is the variance signed off; the books or statements moving since is news.
    from accounting.tests.factories import UserFactory
    from banking.reconciliation import reconciliation_finalize, reconciliation_snapshot_save

    _statement_above_books("ba-op", "5000.01")
    preparer, controller = UserFactory(username="preparer"), UserFactory(username="controller")
    reconciliation_snapshot_save(bank_account_id="ba-op", period="2025-10", user=preparer)
    reconciliation_finalize(user=controller, bank_account_id="ba-op", period="2025-10", note="Explained.")
    from banking.models import BankReconciliation

    BankReconciliation.objects.filter(bank_account_id="ba-op").update(variance=Decimal("5000.00"))

    with pytest.raises(CommandError, match="1 variance"):
        _run("--period", "2025-10")


@override_settings(ADMINS=ADMINS)
def test_each_alert_in_the_mail_links_the_report_it_came_from_and_the_link_answers(book):
    # Given accounts in two currencies (a report over all of them needs currency= or an account)
    # and an alert on each kind: ba-op's statement above the books, a branch short on ba-sav.
    import re

    from rest_framework.test import APIClient

    from accounting.tests.factories import UserFactory
    from banking.tests.factories import BankAccountFactory

    BankAccountFactory(id="ba-usd", name="Dollar account", currency="USD")
    _statement_above_books("ba-op", "5000.01")
    CashSubmissionFactory(
        bank_account=account("ba-sav"),
        branch=BranchFactory(id="north", code="NORTH"),
        expected_amount=Decimal("8000.00"),
        deposited_amount=Decimal("2000.00"),
    )

    with pytest.raises(CommandError):
        _run("--period", "2025-10")

    # Then each alert's line is followed by the request that opens its report, and it answers 200
    # with that alert in it.
    body = mail.outbox[0].body
    links = re.findall(r"GET (/api/v1/banking/variance-report\S*)", body)
    assert links == [
        "/api/v1/banking/variance-report?period=2025-10&bank_account_id=ba-op",
        "/api/v1/banking/variance-report?period=2025-10&bank_account_id=ba-sav",
    ]
    client = APIClient()
    client.force_authenticate(UserFactory(username="auditor-ann", is_superuser=True))
    kinds = []
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, response.content
        kinds += [alert["kind"] for alert in response.json()["alerts"]]
    assert kinds == ["book_vs_statement", "cash_submission"]
