"""Backups operations can trust: made, verified by a real restore, refused when damaged, restored exactly.

These run the real tools (mariadb-dump and the mariadb client on MariaDB, the
online backup API on SQLite) against the test database, so the tests are
transactional: the dump must see committed rows.
"""

import datetime
import gzip
import json
import stat
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection

from banking.models import BankTransaction
from banking.tests.factories import BankTransactionFactory
from cnperp.backups import _client_defaults, database_figures, latest_backup
from cnperp.tests.ledger_data import posted_ledger

pytestmark = pytest.mark.django_db(transaction=True)


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def ledger():
    return posted_ledger()


def _scratch_databases():
    with connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", [connection.settings_dict["NAME"] + "_verify_%"])
        return [row[0] for row in cursor.fetchall()]


def test_a_full_backup_writes_a_dump_and_a_manifest_of_counts_checksums_and_trial_balance(ledger, tmp_path):
    # when
    output = _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    # then
    backup = latest_backup(tmp_path)
    manifest = backup.manifest
    assert "Backup complete" in output
    # The hint to verify it names the folder (without it, verify_backup looked in the default one).
    assert f"manage.py verify_backup --latest --dir {tmp_path}" in output
    with gzip.open(backup.dump) as dump:
        assert dump.read(16)
    assert manifest["type"] == "full" and manifest["vendor"] == connection.vendor
    assert manifest["tables"]["bank_transactions"]["rows"] == 5
    assert manifest["tables"]["journal_postings"]["rows"] == 5
    assert manifest["tables"]["journal_entries"]["rows"] == 10
    assert len(manifest["tables"]["journal_entries"]["sha256"]) == 64
    # 125.50 + 225.50 + 325.50 + 425.50 + 525.50 on each side
    assert manifest["trial_balance"]["periods"] == {"2025-10": {"debit": "1627.50", "credit": "1627.50"}}
    assert manifest["trial_balance"]["balanced"] is True
    assert manifest["dump"]["sha256"] and manifest["dump"]["bytes"] == backup.dump.stat().st_size


def test_the_manifest_matches_the_live_database_it_was_taken_from(ledger, tmp_path):
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    manifest = latest_backup(tmp_path).manifest
    live = database_figures()
    assert manifest["tables"] == live["tables"]
    assert manifest["trial_balance"] == live["trial_balance"]


def test_verify_restores_into_a_scratch_database_and_finds_it_equal(ledger, tmp_path):
    # given
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    # when
    output = _run("verify_backup", "--latest", "--dir", str(tmp_path))
    # then
    assert "Verified" in output and "equal" in output
    if connection.vendor == "mysql":
        assert _scratch_databases() == []  # the scratch database was dropped


def test_verify_refuses_a_truncated_dump(ledger, tmp_path):
    # given a backup whose dump lost its second half (a full disk, a cut copy)
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    backup = latest_backup(tmp_path)
    data = backup.dump.read_bytes()
    backup.dump.write_bytes(data[: len(data) // 2])
    # when / then
    with pytest.raises(CommandError, match="is damaged"):
        _run("verify_backup", "--file", str(backup.dump))


def test_verify_refuses_a_dump_with_one_byte_changed(ledger, tmp_path):
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    backup = latest_backup(tmp_path)
    data = bytearray(backup.dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="sha256"):
        _run("verify_backup", "--latest", "--dir", str(tmp_path))


def test_verify_reports_a_dump_that_does_not_hold_what_the_manifest_says(ledger, tmp_path):
    # given a manifest that claims one more GL line than the dump holds
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    backup = latest_backup(tmp_path)
    manifest = json.loads(backup.manifest_path.read_text())
    manifest["tables"]["journal_entries"]["rows"] += 1
    manifest["trial_balance"]["periods"]["2025-10"]["debit"] = "1628.50"
    backup.manifest_path.write_text(json.dumps(manifest))
    # when
    with pytest.raises(CommandError, match="does NOT match its manifest: 2 difference"):
        _run("verify_backup", "--latest", "--dir", str(tmp_path))
    # then the scratch database is gone even after a failed comparison
    if connection.vendor == "mysql":
        assert _scratch_databases() == []


def test_retention_keeps_the_newest_n_backups(ledger, tmp_path):
    for _ in range(3):
        _run("backup_database", "--type", "full", "--dir", str(tmp_path), "--keep", "2")
    manifests = sorted(tmp_path.glob("*.manifest.json"))
    dumps = sorted(p for p in tmp_path.iterdir() if p.name.endswith(".gz"))
    assert len(manifests) == 2 and len(dumps) == 2


def test_an_unknown_backup_type_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--type full"):
        _run("backup_database", "--type", "incremental", "--dir", str(tmp_path))


def test_restore_without_execute_says_what_it_would_do_and_changes_nothing(ledger, tmp_path):
    # given a backup, then one more transaction
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    BankTransactionFactory(id="bt-after-backup", bank_account=ledger["op"], amount=Decimal("9.99"))
    # when
    output = _run("restore_backup", "--backup-file", "latest", "--dir", str(tmp_path))
    # then
    assert "Would restore into" in output and connection.settings_dict["NAME"] in str(output)
    assert "bank_transactions" in output and "6 -> 5 rows" in output
    assert "Dry run: nothing was changed" in output
    assert BankTransaction.objects.filter(pk="bt-after-backup").exists()


def test_restore_refuses_a_backup_that_does_not_verify(ledger, tmp_path):
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    backup = latest_backup(tmp_path)
    backup.dump.write_bytes(backup.dump.read_bytes()[:100])
    with pytest.raises(CommandError, match="damaged"):
        _run("restore_backup", "--backup-file", "latest", "--dir", str(tmp_path), "--execute")
    assert BankTransaction.objects.count() == 5


def test_backup_change_restore_gives_back_every_tables_checksum(ledger, tmp_path):
    # given a backup of the posted ledger,
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    backup = latest_backup(tmp_path)
    # and changes after it: a new draft, a new posting, an edited draft
    BankTransactionFactory(
        id="bt-after-1",
        bank_account=ledger["op"],
        amount=Decimal("70.00"),
        transaction_date=datetime.date(2025, 10, 20),
    )
    call_command("post_transactions", "--all-drafts", verbosity=0, stdout=StringIO())
    BankTransactionFactory(id="bt-after-2", bank_account=ledger["op"], amount=Decimal("1.00"))
    assert database_figures()["tables"] != backup.manifest["tables"]
    # when
    output = _run("restore_backup", "--backup-file", "latest", "--dir", str(tmp_path), "--execute")
    # then every table's rows and checksum equal the backup's, trial balance too
    assert "every table's rows and checksum equal the backup's" in output
    figures = database_figures()
    assert figures["tables"] == backup.manifest["tables"]
    assert figures["trial_balance"] == backup.manifest["trial_balance"]
    assert not BankTransaction.objects.filter(pk__in=["bt-after-1", "bt-after-2"]).exists()


@pytest.mark.mariadb
def test_a_restore_brings_back_the_ledger_immutability_triggers(ledger, tmp_path):
    # given
    _run("backup_database", "--type", "full", "--dir", str(tmp_path))
    # when
    _run("restore_backup", "--backup-file", "latest", "--dir", str(tmp_path), "--execute")
    # then the triggers exist again and still refuse a DELETE of a posted line
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
            "ORDER BY TRIGGER_NAME"
        )
        names = [row[0] for row in cursor.fetchall()]
    assert "journal_entries_no_delete" in names and "journal_entries_no_update" in names
    with pytest.raises(DatabaseError, match="posted and final"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM journal_entries")


@pytest.mark.mariadb
def test_the_database_password_never_reaches_the_dump_command_line(tmp_path):
    # when the client options are written for a dump
    with _client_defaults() as option:
        path = Path(option.split("=", 1)[1])
        # then they are in a file only its owner can read, gone afterwards
        assert option.startswith("--defaults-extra-file=")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "[client]" in path.read_text()
    assert not path.exists()
