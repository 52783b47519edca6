"""The progress bar of the long commands (``cnperp.progress``): drawn on a terminal, silent without one.

The terminal is a real pseudo-terminal (``pty``): the command's standard error
is pointed at its slave side and what reaches the master side is read back.
The quiet case points standard error at a plain pipe, as cron or a CI log does.
"""

import datetime
import io
import os
import pty
import select
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from banking.models import BankTransaction
from banking.tests.browser import month_end
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.progress import Progress, enabled_for


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("CNPERP_PROGRESS", raising=False)


def _drain(fd):
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the slave side is closed: everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


class Captured:
    """Standard error pointed at a pseudo-terminal (``tty=True``) or a pipe; ``text`` what came out."""

    def __init__(self, *, tty):
        self.tty = tty
        self.text = ""

    def __enter__(self):
        if self.tty:
            self.reader, writer = pty.openpty()
        else:
            self.reader, writer = os.pipe()
        self.stream = io.TextIOWrapper(os.fdopen(writer, "wb", buffering=0), write_through=True)
        self.saved, sys.stderr = sys.stderr, self.stream
        return self

    def __exit__(self, *exc):
        sys.stderr = self.saved
        self.stream.flush()
        self.text = _drain(self.reader)
        self.stream.close()
        os.close(self.reader)
        return False


def run(*args, tty):
    out = StringIO()
    with Captured(tty=tty) as captured:
        call_command(*args, stdout=out)
    return out.getvalue(), captured.text


# --- The bar itself ------------------------------------------------------------------


def test_a_bar_is_drawn_only_when_enabled():
    # Given two streams that are not terminals, one forced on
    quiet, forced = StringIO(), StringIO()
    # When the same work is reported to both
    for stream, enabled in ((quiet, None), (forced, True)):
        with Progress(total=4, label="Posting", stream=stream, enabled=enabled, unit="drafts") as bar:
            for _ in range(4):
                bar.advance()
    # Then the quiet one got nothing and the forced one a bar that reached the end, and a newline
    assert quiet.getvalue() == ""
    text = forced.getvalue()
    assert "\rPosting [" in text and "4/4 drafts 100%" in text and "#" * 30 in text
    assert text.endswith("\n")


def test_an_unknown_total_still_shows_the_count():
    stream = StringIO()
    bar = Progress(total=0, label="Reading", stream=stream, enabled=True)
    bar.update(7)
    bar.close()
    assert "Reading [" in stream.getvalue() and "] 7 " in stream.getvalue()


def test_the_environment_forces_it_on_or_off(monkeypatch):
    reader, writer = pty.openpty()
    try:
        terminal = os.fdopen(writer, "w")
        assert enabled_for(terminal) is True
        monkeypatch.setenv("CNPERP_PROGRESS", "0")
        assert enabled_for(terminal) is False
        monkeypatch.setenv("CNPERP_PROGRESS", "1")
        assert enabled_for(StringIO()) is True
        terminal.close()
    finally:
        os.close(reader)


# --- The commands ----------------------------------------------------------------------


@pytest.fixture
def drafts(db):
    ledger = ledger_setup()
    for number in range(1, 6):
        BankTransactionFactory(
            id=f"bt-progress-{number}",
            bank_account=ledger["op"],
            amount=Decimal(f"{number}0.00"),
            transaction_date=datetime.date(2025, 10, number),
        )
    return ledger


def test_post_transactions_draws_on_a_terminal(drafts):
    output, terminal = run("post_transactions", "--all-drafts", "--batch-size", "2", tty=True)
    assert "Posting [" in terminal and "5/5 drafts 100%" in terminal
    # The summary stays on standard output, free of the bar.
    assert "Posted 5 of 5" in output and "\r" not in output


def test_post_transactions_is_quiet_without_a_terminal(drafts):
    output, piped = run("post_transactions", "--all-drafts", "--batch-size", "2", tty=False)
    assert piped == ""
    assert "Posted 5 of 5" in output


@pytest.mark.django_db
def test_load_demo_at_size_draws_on_a_terminal_and_is_quiet_in_cron():
    _output, terminal = run("load_demo", "--size", "30", "--batch-size", "10", tty=True)
    assert "Loading [" in terminal and "30/30 bank transactions 100%" in terminal
    _output, piped = run("load_demo", "--size", "40", "--batch-size", "10", tty=False)
    assert piped == ""
    assert BankTransaction.objects.count() >= 40


@pytest.fixture
def october(db, tmp_path):
    month_end.books()
    path = tmp_path / "october.xml"
    path.write_bytes(month_end.statement_file())
    return path


def test_import_and_reconcile_draw_on_a_terminal(october):
    output, terminal = run("import_statement", str(october), "--account", "ba-op", tty=True)
    assert f"Importing {october.name} [" in terminal and "1/1 file 100%" in terminal
    assert "5 new" in output
    output, terminal = run("reconcile", "--account", "ba-op", "--period", "2025-10", "--match", tty=True)
    assert "Reconciling ba-op 2025-10 [" in terminal and "1/1 steps 100%" in terminal
    assert "Matched 1 of 5" in output


def test_import_and_reconcile_are_quiet_without_a_terminal(october):
    output, piped = run("import_statement", str(october), "--account", "ba-op", tty=False)
    assert piped == "" and "5 new" in output
    output, piped = run("reconcile", "--account", "ba-op", "--period", "2025-10", tty=False)
    assert piped == "" and "variance" in output
