"""The batch posting command and the GL balance check, as operations run them."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection

from accounting.models import JournalEntry, JournalPosting
from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts():
    ledger = ledger_setup()
    for number in range(1, 6):
        BankTransactionFactory(
            id=f"bt-op-{number}", bank_account=ledger["op"], amount=Decimal(f"{number}0.00")
        )
    BankTransactionFactory(
        id="bt-sav-1", bank_account=ledger["sav"], transaction_date=datetime.date(2025, 11, 2)
    )
    return ledger


def _command(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_post_transactions_posts_every_draft_in_batches(drafts):
    output = _command("post_transactions", "--all-drafts", "--batch-size", "2")

    assert "Posted 6 of 6 draft transaction(s) in 3 batch(es)" in output
    assert "\r" not in output  # no progress line when the output is not a terminal
    assert not BankTransaction.objects.filter(posting_status=PostingStatus.DRAFT).exists()
    assert JournalPosting.objects.count() == 6
    assert set(JournalPosting.objects.values_list("posted_by__username", flat=True)) == {"system-posting"}
    assert "Posted 0 of 0" in _command("post_transactions", "--all-drafts")


def test_post_transactions_filters_by_account_and_period(drafts):
    drafts["user"].groups.add(Group.objects.get(name="accountant"))  # --user acts within its role
    output = _command("post_transactions", "--account", "ba-sav", "--user", "accountant")
    assert "Posted 1 of 1" in output
    assert JournalPosting.objects.get().posted_by.username == "accountant"
    output = _command("post_transactions", "--period", "2025-10")
    assert "Posted 5 of 5" in output


def test_a_dry_run_reports_and_writes_nothing(drafts):
    output = _command("post_transactions", "--all-drafts", "--dry-run")
    assert "Would post 6 of 6" in output
    assert "nothing was written" in output
    assert not JournalEntry.objects.exists()
    assert not BankTransaction.objects.exclude(posting_status=PostingStatus.DRAFT).exists()


def test_drafts_that_cannot_post_are_listed_with_the_reason_and_the_run_fails(drafts):
    # Given October closed with five drafts in it
    _command("close_period", "2025-10")
    out = StringIO()

    # When cron posts every draft, the run fails (exit 1) so that the stuck drafts are noticed ...
    with pytest.raises(CommandError, match="5 draft\\(s\\) were left unposted") as raised:
        call_command("post_transactions", "--all-drafts", stdout=out)
    assert raised.value.returncode == 1

    # ... after posting the other and naming those left, with the reason.
    assert "Posted 1 of 6" in out.getvalue()
    assert "left as draft: bt-op-1: period 2025-10 is closed" in out.getvalue()
    assert list(
        BankTransaction.objects.filter(posting_status=PostingStatus.POSTED).values_list("pk", flat=True)
    ) == ["bt-sav-1"]


def test_a_dry_run_fails_as_the_real_run_would_and_writes_nothing(drafts):
    _command("close_period", "2025-10")
    out = StringIO()
    with pytest.raises(CommandError, match="5 draft\\(s\\) would be left unposted"):
        call_command("post_transactions", "--all-drafts", "--dry-run", stdout=out)
    assert "Would post 1 of 6" in out.getvalue()
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Say which drafts"),
        (["--account", "ba-none"], "ba-none"),
        (["--period", "2025-13"], "not a month"),
        (["--all-drafts", "--batch-size", "0"], "positive"),
        (["--all-drafts", "--user", "ghost"], "ghost"),
    ],
)
def test_post_transactions_refuses_bad_input(drafts, args, message):
    with pytest.raises(CommandError, match=message):
        _command("post_transactions", *args)
    assert not JournalEntry.objects.exists()


def test_check_gl_balance_passes_on_a_balanced_ledger(drafts):
    _command("post_transactions", "--all-drafts")
    output = _command("check_gl_balance")
    assert "GL balancing query (deployment guide): 0 unbalanced reference(s)." in output
    assert "2025-10: debit 150.00, credit 150.00, difference 0.00 ok" in output
    assert "The ledger balances." in output


@pytest.mark.mariadb
def test_check_gl_balance_exits_1_listing_an_unbalanced_reference(drafts):
    # Given a line smuggled in with raw SQL past the posting service (the triggers
    # refuse changes to posted rows, not new rows).
    _command("post_transactions", "--account", "ba-sav")
    line = JournalEntry.objects.get(reference="BT-bt-sav-1", debit__gt=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO journal_entries (id, posting_id, line_number, reference, entry_date, period_id, "
            "account_id, debit, credit, description, source_type, source_id, posted_by_id, posted_at) "
            "SELECT 'je-smuggled', posting_id, 9, reference, entry_date, period_id, account_id, 5.00, 0, "
            "'', source_type, source_id, posted_by_id, posted_at FROM journal_entries WHERE id = %s",
            [line.pk],
        )

    # When the check runs, then it fails with exit code 1 naming the reference and the period.
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("check_gl_balance", stdout=out)
    assert caught.value.returncode == 1
    assert "BT-bt-sav-1: debit 105.00, credit 100.00, imbalance 5.00" in out.getvalue()
    assert "2025-11: debit 105.00, credit 100.00, difference 5.00 OFF" in out.getvalue()


def test_check_gl_balance_refuses_a_bad_period():
    with pytest.raises(CommandError, match="not a period"):
        _command("check_gl_balance", "--period", "10-2025")
