"""Commands, run as cron runs them, when the database is down or drops the connection: one line, exit 1."""

import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from io import StringIO
from pathlib import Path

import MySQLdb
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup

ROOT = Path(__file__).resolve().parents[2]

# Each project command with arguments that get it as far as its first query.
COMMANDS = [
    ["check_gl_balance"],
    ["verify_ledger"],
    ["close_period", "2025-10"],
    ["reopen_period", "2025-10"],
    ["create_api_user", "clerk-ann"],
    ["post_transactions", "--all-drafts"],
    ["reconcile", "--account", "ba-op", "--period", "2025-10"],
    ["variance_alerts", "--period", "2025-10"],
    ["import_statement", "manage.py", "--account", "ba-op"],
    ["check_index_performance", "--table", "bank_transactions"],
    ["load_demo"],
    ["migrate"],  # Django's own: every command run through manage.py
]


def _closed_port():
    # A port the system just handed out and nobody listens on any more: connecting is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_a_command_that_cannot_reach_the_database_says_so_in_one_line_and_exits_1(command):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cnperp.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"mysql://root:@127.0.0.1:{_closed_port()}/cnperp",
    }

    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.startswith("The database is unavailable: (2002"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def _when_waiting_for_a_lock(watcher, session_id, locked_id, then):
    # Wait until the command's own session (no other on a shared server) runs the statement that
    # locks ``locked_id``: the process list is live, where the list of lock waits is a cached copy.
    cursor = watcher.cursor()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.processlist "
            "WHERE id = %s AND info LIKE %s AND info LIKE '%%FOR UPDATE%%'",
            [session_id, f"%{locked_id}%"],
        )
        if cursor.fetchone()[0]:
            then(cursor)
            return True
        time.sleep(0.05)
    return False


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_post_transactions_cut_off_mid_run_says_how_many_were_posted_before():
    # Given two drafts, the second locked by another session so that the second batch waits for it.
    ledger = ledger_setup()
    for number in (1, 2):
        BankTransactionFactory(id=f"bt-cut-{number}", bank_account=ledger["op"], amount=Decimal("10.00"))
    params = connection.get_connection_params()
    holder, watcher = MySQLdb.connect(**params), MySQLdb.connect(**params)
    holder.autocommit(False)
    watcher.autocommit(True)  # in a transaction of its own, it would see the same lock list each time
    holder.cursor().execute(
        f"SELECT id FROM {BankTransaction._meta.db_table} WHERE id = 'bt-cut-2' FOR UPDATE"
    )
    with connection.cursor() as cursor:
        # A failing test then ends in seconds, not the server's 50 s times six attempts.
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 15")
        cursor.execute("SELECT CONNECTION_ID()")
        session_id = cursor.fetchone()[0]
    killed = []

    def kill(cursor):
        cursor.execute(f"KILL CONNECTION {int(session_id)}")

    killer = threading.Thread(
        target=lambda: killed.append(_when_waiting_for_a_lock(watcher, session_id, "bt-cut-2", kill))
    )
    killer.start()

    # When its connection is killed while it waits, one batch in.
    try:
        with pytest.raises(CommandError) as failed:
            call_command("post_transactions", "--all-drafts", "--batch-size", "1", stdout=StringIO())
    finally:
        killer.join()
        holder.rollback()
        holder.close()
        watcher.close()
        connection.close()

    # Then one line says the database went away and that the first draft was posted, the second not.
    assert killed == [True]
    message = str(failed.value)
    assert message.startswith("The database is unavailable: (")
    assert "1 of 2 draft(s) were posted (committed) before the failure" in message
    assert "bt-cut-2" in message and "\n" not in message
    statuses = dict(BankTransaction.objects.values_list("id", "posting_status"))
    assert statuses == {"bt-cut-1": PostingStatus.POSTED, "bt-cut-2": PostingStatus.DRAFT}


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_post_transactions_summary_counts_the_drafts_another_run_posted_meanwhile():
    # Given three drafts, the second held by an accountant posting it by hand.
    from banking.posting import bank_transaction_post

    ledger = ledger_setup()
    for number in (1, 2, 3):
        BankTransactionFactory(id=f"bt-both-{number}", bank_account=ledger["op"], amount=Decimal("10.00"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        session_id = cursor.fetchone()[0]
    watcher = MySQLdb.connect(**connection.get_connection_params())
    watcher.autocommit(True)
    holding, outcome = threading.Event(), []

    def accountant_posts_the_second():
        # In one transaction: lock it, wait until the command waits for it, post it, commit.
        from django.db import transaction

        try:
            with transaction.atomic():
                list(BankTransaction.objects.select_for_update().filter(pk="bt-both-2"))
                holding.set()
                outcome.append(
                    _when_waiting_for_a_lock(watcher, session_id, "bt-both-2", lambda cursor: None)
                )
                bank_transaction_post(transaction_id="bt-both-2", user=ledger["user"])
        finally:
            holding.set()
            connection.close()

    accountant = threading.Thread(target=accountant_posts_the_second)
    accountant.start()
    holding.wait(30)

    # When the command posts every draft, one a batch, meanwhile.
    out = StringIO()
    try:
        call_command("post_transactions", "--all-drafts", "--batch-size", "1", stdout=out)
    finally:
        accountant.join()
        watcher.close()

    # Then its summary adds up: 2 posted by it + 1 by the accountant + 0 left = the 3 it counted.
    assert outcome == [True]
    assert (
        "Posted 2 of 3 draft transaction(s) in 3 batch(es)" in out.getvalue()
        and "1 posted by another run meanwhile; 0 left as draft(s)." in out.getvalue()
    ), out.getvalue()
    assert not BankTransaction.objects.filter(posting_status=PostingStatus.DRAFT).exists()
