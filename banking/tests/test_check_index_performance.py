"""manage.py check_index_performance: EXPLAIN of the reports' period queries, timed against 100 ms."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from banking.choices import TransferStatus
from banking.models import BankTransfer
from banking.tests.factories import BankAccountFactory, BankTransactionFactory, BankTransferFactory
from banking.tests.report_data import account, build_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    book = build_book()
    for number in range(5):
        BankTransactionFactory(id=f"bt-idx-{number}", bank_account=account("ba-op"))
    return book


def _run(*args):
    out = StringIO()
    call_command("check_index_performance", *args, stdout=out)
    return out.getvalue()


def test_the_bank_transaction_queries_use_their_indexes_and_are_within_the_promise(book):
    output = _run("--table", "bank_transactions", "--account", "ba-op", "--period", "2025-10", "--runs", "3")

    # The open items, those matched since to lines booked after the month (the month-end view), and
    # the sending legs of failed transfers (none here: nothing to read).
    assert "bank_transactions: 3 report queries for ba-op 2025-10" in output
    if connection.vendor == "mysql":
        # On a table this small the optimizer may rightly prefer a scan; either way the plan is shown.
        assert "bank_transactions: index idx_bt_" in output or "bank_transactions: NO INDEX" in output
    else:
        # The unreconciled items are read through one of the account's indexes, never a scan.
        assert "index idx_bt_recon" in output or "index idx_bt_account_date" in output
    assert "within the guide's promise of 100 ms" in output


def test_the_gl_queries_are_explained_too(book):
    output = _run("--table", "journal_entries", "--account", "ba-op", "--period", "2025-10", "--runs", "2")

    # The cash position's days and its history before the month (no month is closed here), the
    # month by dimension, and the variance report's balance (history and month in one).
    assert "journal_entries: 4 report queries" in output
    assert "gl_account_date_idx" in output


def test_the_defaults_pick_the_first_account_and_its_latest_month(book):
    output = _run("--table", "bank_transactions", "--runs", "1")

    assert "for ba-op 2025-10" in output


def test_an_unknown_table_is_refused():
    with pytest.raises(CommandError, match='Unknown table "bank_transaction"'):
        _run("--table", "bank_transaction")


def test_an_unknown_account_is_refused(book):
    with pytest.raises(CommandError, match="--account"):
        _run("--table", "bank_transactions", "--account", "ba-nope", "--period", "2025-10")


def test_the_transfer_queries_are_recorded_and_each_part_is_explained(book):
    # Transfer tracking reads the month as a UNION of parenthesised SELECTs; the command used to skip it.
    BankTransferFactory(
        id="tr-idx-1",
        from_bank_account=account("ba-op"),
        to_bank_account=BankAccountFactory(id="ba-idx-other"),
        initiated_date=datetime.date(2025, 10, 6),
    )

    output = _run("--table", "bank_transfers", "--account", "ba-op", "--period", "2025-10", "--runs", "2")

    assert "bank_transfers: 3 report queries for ba-op 2025-10" in output
    # One plan line per part of the UNION, and none for the UNION's own result.
    assert "<union" not in output
    # The month: six parts (sent in the month and received in or after it, per side; still open;
    # failed since); then the account's failures before it, per side (those stranded in transit).
    if connection.vendor == "mysql":
        assert output.count("bank_transfers: ") == 1 + 6 + 2, output
        assert output.count("bank_transfers: index transfer_") == 6 + 2, output
        assert "index transfer_from_failed" in output and "index transfer_to_failed" in output
    else:
        # SQLite: each part on one of the transfer indexes, never a scan.
        assert output.count("; ") == 5 + 1, output
        assert output.count("index transfer_") == 6 + 2, output
    assert "within the guide's promise of 100 ms" in output


def test_the_failed_part_reads_only_the_failures_since_the_month(book):
    # Given a long history of transfers that failed years ago, and one that failed in the month
    other = BankAccountFactory(id="ba-idx-far")
    old_failures = [
        BankTransfer(
            id=f"tr-old-{number}",
            from_bank_account=account("ba-op"),
            to_bank_account=other,
            amount=Decimal("10.00"),
            initiated_date=datetime.date(2023, 1, 2),
            failed_date=datetime.date(2023, 1, 3),
            status=TransferStatus.FAILED,
            failure_reason="closed",
        )
        for number in range(400)
    ]
    BankTransfer.objects.bulk_create(old_failures)
    BankTransferFactory(
        id="tr-idx-failed",
        from_bank_account=account("ba-op"),
        to_bank_account=other,
        initiated_date=datetime.date(2025, 9, 20),
        failed_date=datetime.date(2025, 10, 4),
        status=TransferStatus.FAILED,
        failure_reason="closed",
    )
    # (No ANALYZE TABLE: on MariaDB it commits, and the rows would outlive the test. The range
    # optimizer counts the index entries of each range itself.)

    output = _run("--table", "bank_transfers", "--account", "ba-op", "--period", "2025-10", "--runs", "1")

    # Then, on MariaDB, the part of the failures is a range of (status, failed date) from the
    # month's first day, not of (status, initiated date), which holds every failure ever made
    # before the month (SQLite's planner, for the first run only, keeps to the latter).
    if connection.vendor == "mysql":
        assert "index transfer_status_failed" in output, output
    assert "NO INDEX" not in output and "no index" not in output, output
    assert "within the guide's promise of 100 ms" in output
