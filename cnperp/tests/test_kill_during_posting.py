"""Proof under faults: ``manage.py post_transactions`` killed with SIGKILL in the middle of a batch.

A batch is one database transaction, so a process that dies in the middle of
one leaves nothing of it: the server rolls the open transaction back when the
connection drops. What must hold afterwards, and what this test checks on a
real MariaDB with a real process and a real SIGKILL:

- no partial posting: every posting has lines and balances to the cent, every
  posted transaction has exactly one posting and every posting's transaction
  says posted, every line has its three dimension assignments;
- ``check_gl_balance`` is clean;
- a second run posts exactly the drafts the killed run did not get to.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
DRAFTS = 3000
BATCH = 200

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def _env():
    """The subprocess's environment: the test database, seen through the production settings module."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cnperp.settings_test",
        DATABASE_URL=f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def _manage(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def _scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


class DirtyReader:
    """A second connection that reads uncommitted rows too: it sees a batch while it is being written."""

    def __init__(self):
        import MySQLdb

        db = connection.settings_dict
        self.connection = MySQLdb.connect(
            host=db["HOST"],
            port=int(db["PORT"] or 3306),
            user=db["USER"],
            passwd=db["PASSWORD"],
            db=db["NAME"],
            autocommit=True,
        )
        self.cursor = self.connection.cursor()
        self.cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")

    def postings(self):
        self.cursor.execute("SELECT COUNT(*) FROM journal_postings")
        return self.cursor.fetchone()[0]

    def close(self):
        self.connection.close()


def _ledger_problems():
    """Return a dict of every kind of partial or inconsistent posting found, with counts."""
    checks = {
        "unbalanced postings": """SELECT COUNT(*) FROM (SELECT posting_id FROM journal_entries
            GROUP BY posting_id HAVING SUM(debit) <> SUM(credit)) x""",
        "postings without lines": """SELECT COUNT(*) FROM journal_postings p
            WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.posting_id = p.id)""",
        "posted transactions without exactly one posting": """SELECT COUNT(*) FROM bank_transactions t
            WHERE t.posting_status = 'posted' AND (SELECT COUNT(*) FROM journal_postings p
            WHERE p.source_type = 'bank_transaction' AND p.source_id = t.id AND p.purpose = 'post') <> 1""",
        "postings of transactions not marked posted": """SELECT COUNT(*) FROM journal_postings p
            JOIN bank_transactions t ON t.id = p.source_id
            WHERE p.source_type = 'bank_transaction' AND p.purpose = 'post'
            AND t.posting_status NOT IN ('posted', 'reversed')""",
        "lines without their three dimension assignments": """SELECT COUNT(*) FROM journal_entries e
            WHERE (SELECT COUNT(*) FROM dimension_assignments d WHERE d.journal_entry_id = e.id) <> 3""",
    }
    return {name: _scalar(sql) for name, sql in checks.items() if _scalar(sql)}


def committed():
    return _scalar("SELECT COUNT(*) FROM journal_postings")


def _posted():
    return _scalar("SELECT COUNT(*) FROM bank_transactions WHERE posting_status = 'posted'")


def _drafts():
    return _scalar("SELECT COUNT(*) FROM bank_transactions WHERE posting_status = 'draft'")


@pytest.fixture
def dirty():
    reader = DirtyReader()
    yield reader
    reader.close()


def test_sigkill_in_the_middle_of_a_batch_leaves_no_partial_posting_and_a_rerun_posts_the_rest(dirty):
    # given the demo company's master data and DRAFTS draft transactions, none posted
    loaded = _manage("load_demo", "--size", str(DRAFTS), "--months", "3", "--end-month", "2025-10")
    assert loaded.returncode == 0, loaded.stderr
    drafts_before = _drafts()
    assert drafts_before >= DRAFTS and _posted() == 0

    # when post_transactions runs and is killed once a batch has committed and the next one is half-written
    poster = subprocess.Popen(
        [sys.executable, "manage.py", "post_transactions", "--all-drafts", "--batch-size", str(BATCH)],
        cwd=BASE_DIR,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen = (0, 0)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and poster.poll() is None:
            seen = (committed(), dirty.postings())
            # Committed batches, and more postings written than committed: a batch is in flight.
            if 0 < seen[0] < seen[1]:
                poster.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        assert poster.poll() is None or poster.wait(timeout=30) == -signal.SIGKILL, (
            "post_transactions finished before it could be killed: raise DRAFTS"
        )
    finally:
        if poster.poll() is None:
            poster.kill()
        poster.wait(timeout=30)
        poster.stderr.close()

    # then it died by the signal, with a batch half-written: committed < written at the moment of the kill
    assert poster.returncode == -signal.SIGKILL
    assert 0 < seen[0] < seen[1], seen
    # the server rolls the dead connection's transaction back; wait (bounded) until the dirty rows are gone
    deadline = time.monotonic() + 60
    while dirty.postings() != committed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dirty.postings() == committed()
    posted_at_kill = _posted()
    assert 0 < posted_at_kill < drafts_before
    # whole batches only: what is posted is a multiple of the batch size
    assert posted_at_kill % BATCH == 0, posted_at_kill
    assert _scalar("SELECT COUNT(*) FROM journal_postings") == posted_at_kill
    assert _ledger_problems() == {}
    call_command("check_gl_balance")  # raises CommandError (exit 1) on any unbalanced reference

    # when the same command runs again
    rerun = _manage("post_transactions", "--all-drafts", "--batch-size", str(BATCH))

    # then it posts the rest, each draft once, and the ledger is still whole
    assert rerun.returncode == 0, rerun.stderr
    assert f"Posted {drafts_before - posted_at_kill} of {drafts_before - posted_at_kill}" in rerun.stdout
    assert _drafts() == 0
    assert _posted() == drafts_before
    assert _scalar("SELECT COUNT(*) FROM journal_postings") == drafts_before
    assert _ledger_problems() == {}
    check = _manage("check_gl_balance")
    assert check.returncode == 0, check.stdout + check.stderr
