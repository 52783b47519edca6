"""Operations commands (cron) say what they did and leave nothing behind; sub-cent tampering is found."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from accounting.models import JournalEntry
from banking.tests.factories import BankStatementFactory, BankTransactionFactory
from banking.tests.posting_setup import ledger_setup
from banking.tests.report_data import account, build_book
from cnperp.tests.ledger_data import posted_ledger


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


# --- variance_alerts -----------------------------------------------------------


@pytest.mark.django_db
@override_settings(ADMINS=[])
def test_variance_alerts_does_not_claim_the_admins_were_mailed_when_no_mail_was_sent():
    from banking import reports

    build_book()
    closing = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"][
        "closing_balance"
    ]
    BankStatementFactory(bank_account=account("ba-op"), closing_balance=closing + Decimal("9000.00"))

    with pytest.raises(CommandError) as failed:
        _run("variance_alerts", "--period", "2025-10")

    assert mail.outbox == []
    assert "the admins were mailed" not in str(failed.value)


# --- backup_database -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_database_with_dir_naming_a_file_is_a_command_error_not_a_traceback(tmp_path):
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file, not a folder")

    with pytest.raises(CommandError, match="backups"):
        _run("backup_database", "--type", "full", "--dir", str(not_a_folder))


# --- post_transactions --dry-run ------------------------------------------------------


@pytest.mark.django_db
def test_post_transactions_dry_run_writes_nothing_not_even_the_service_account():
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-dry-1", bank_account=ledger["op"], amount=Decimal("10.00"))
    users = get_user_model().objects
    before = sorted(users.values_list("username", flat=True))

    output = _run("post_transactions", "--all-drafts", "--dry-run")

    assert "Would post 1 of 1" in output and "nothing was written" in output
    assert sorted(users.values_list("username", flat=True)) == before


# --- verify_ledger ---------------------------------------------------------------


@pytest.mark.django_db
def test_verify_ledger_counts_every_unsealed_posting_it_reports():
    from accounting.tests.factories import AccountingPeriodFactory, JournalPostingFactory, UserFactory

    period = AccountingPeriodFactory(id="2025-10")
    user = UserFactory(username="intruder")
    JournalPostingFactory.create_batch(120, period=period, posted_by=user)
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("verify_ledger", stdout=out)

    assert failed.value.returncode == 1
    assert "120 problem(s)" in out.getvalue()
    assert "... and 100 more." in out.getvalue()


# --- SQLite: a change below the cent, made in SQL where no trigger guards the ledger ------------


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_check_gl_balance_exact_check_finds_a_sub_cent_imbalance_written_in_sql_on_sqlite():
    posted_ledger()
    line = JournalEntry.objects.filter(debit__gt=0).order_by("reference").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE journal_entries SET debit = debit + 0.004 WHERE id = %s", [line.pk])

    with pytest.raises(CommandError) as failed:
        _run("check_gl_balance")
    assert failed.value.returncode == 1


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_verify_ledger_finds_a_line_amount_changed_in_sql_on_sqlite():
    posted_ledger()
    line = JournalEntry.objects.filter(debit__gt=0).order_by("reference").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE journal_entries SET debit = debit + 0.004 WHERE id = %s", [line.pk])
        cursor.execute("SELECT debit FROM journal_entries WHERE id = %s", [line.pk])
        assert cursor.fetchone()[0] != float(line.debit)  # the stored amount did change

    with pytest.raises(CommandError) as failed:
        _run("verify_ledger")
    assert failed.value.returncode == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command", [("verify_backup", "--latest"), ("restore_backup", "--backup-file", "latest")]
)
def test_verifying_or_restoring_from_a_mistyped_folder_creates_no_folder(tmp_path, command):
    mistyped = tmp_path / "bakcups"

    with pytest.raises(CommandError, match="No backup"):
        _run(*command, "--dir", str(mistyped))

    assert not mistyped.exists()
