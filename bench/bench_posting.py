"""Batch posting benchmark: ``.venv/bin/python bench/bench_posting.py --count 20000``.

Creates a fresh MariaDB database of its own (``cnperp_bench_posting``, dropped
at the end unless ``--keep``), migrates it, bulk-creates N draft deposits over
two cost centres, then times:

1. the batch posting service (``banking.posting.bank_transactions_post_batch``)
   over all drafts, ``--batch-size`` per transaction, exactly as
   ``manage.py post_transactions --all-drafts`` runs it: locks, rule lookup,
   checks, 1 header + 2 GL lines + 6 dimension assignments per transaction,
   and the status update of the drafts;
2. the floor: the same number of rows, with the same values and the same kind
   of keys, written by raw multi-row INSERTs (``executemany``) into copies of
   the three ledger tables (``CREATE TABLE ... LIKE``: same columns and
   indexes, no foreign keys, no triggers), in the same batch sizes. Each
   posting batch is followed by the floor's write of the same batch, so both
   run under the same load on a shared machine.

It prints transactions per second for both and their ratio.
"""

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "cnperp_bench_posting"
HOST, PORT, USER = "127.0.0.1", 3306, "root"


def _server():
    import MySQLdb

    return MySQLdb.connect(host=HOST, port=PORT, user=USER, passwd="", charset="utf8mb4")


def _recreate_database():
    server = _server()
    cursor = server.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    cursor.execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()


def _drop_database():
    server = _server()
    server.cursor().execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    server.close()


def _setup_django():
    os.environ["DATABASE_URL"] = f"mysql://{USER}:@{HOST}:{PORT}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cnperp.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ledger():
    from django.contrib.auth import get_user_model

    from accounting.models import GLAccount
    from banking.models import BankAccount, PostingRule
    from dimensions.models import CostCenter

    bank_gl = GLAccount.objects.create(id="gl-1100", code="1100", name="Bank", account_type="asset")
    sales = GLAccount.objects.create(id="gl-4000", code="4000", name="Sales receipts", account_type="income")
    PostingRule.objects.create(document_type="deposit", contra_account=sales)
    account = BankAccount.objects.create(
        id="ba-op", name="Operating", bank_name="Bench Bank", account_number="1", gl_account=bank_gl
    )
    centres = [CostCenter.objects.create(id=f"cc-{n}", code=f"CC{n}", name=f"Centre {n}") for n in (1, 2)]
    user = get_user_model().objects.create(username="bench")
    return account, centres, user


def _drafts(account, centres, count):
    from banking.models import BankTransaction

    day = datetime.date(2025, 10, 15)
    rows = [
        BankTransaction(
            id=f"bench-{n:07d}",
            bank_account=account,
            transaction_type="deposit",
            direction="in",
            amount=Decimal(n % 100_000 + 1) / 100,
            transaction_date=day,
            cost_center=centres[n % 2],
        )
        for n in range(count)
    ]
    BankTransaction.objects.bulk_create(rows, batch_size=5000)
    return [row.pk for row in rows]


SEAL_COLUMNS = ("chain_sequence", "previous_hash", "chain_hash")


def _has_field(table, column):
    from django.apps import apps

    return any(
        model._meta.db_table == table and column in {f.column for f in model._meta.concrete_fields}
        for model in apps.get_models()
    )


class Floor:
    """The same GL rows written by raw multi-row INSERTs into LIKE-copies of the ledger tables."""

    def __init__(self, user):
        from django.db import connection
        from django.utils import timezone

        from accounting.models import JournalPosting

        with connection.cursor() as cursor:
            for table in ("journal_postings", "journal_entries", "dimension_assignments"):
                cursor.execute(f"DROP TABLE IF EXISTS floor_{table}")
                cursor.execute(f"CREATE TABLE floor_{table} LIKE {table}")
        self.user_id = user.pk
        # The moment as the posting service sends it (naive UTC text on MySQL).
        self.now = JournalPosting._meta.get_field("posted_at").get_db_prep_save(timezone.now(), connection)
        self.sequence = 0
        # The seal columns of the tamper-evidence chain, when the ledger has them, are
        # written with values of the same size (the floor computes no hash).
        self.seal_columns = [name for name in SEAL_COLUMNS if _has_field("journal_postings", name)]
        posting_columns = (
            "id, reference, source_type, source_id, purpose, entry_date, period_id, description, "
            "reverses_id, reason, posted_by_id, posted_at" + "".join(f", {c}" for c in self.seal_columns)
        )
        posting_marks = ", ".join(["%s"] * (12 + len(self.seal_columns)))
        self.posting_sql = f"INSERT INTO floor_journal_postings ({posting_columns}) VALUES ({posting_marks})"
        self.entry_sql = (
            "INSERT INTO floor_journal_entries (id, posting_id, line_number, reference, entry_date, "
            "period_id, account_id, debit, credit, description, source_type, source_id, posted_by_id, "
            "posted_at, reversal_of_id, cost_center_id, project_id, department_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        self.assignment_sql = (
            "INSERT INTO floor_dimension_assignments (id, journal_entry_id, dimension_type, cost_center_id, "
            "project_id, department_id) VALUES (%s, %s, %s, %s, %s, %s)"
        )

    def write(self, chunk, start):
        """Build and insert the rows of the transactions ``chunk`` (numbered from ``start``); time it."""
        from accounting.services import cyclic_gc_paused

        # Built and written as the posting service does, garbage collector paused.
        return cyclic_gc_paused(self._write)(chunk, start)

    def _write(self, chunk, start):
        from django.db import connection, transaction

        from accounting.services import new_keys

        zero = Decimal("0.00")
        day = datetime.date(2025, 10, 15)
        seal = {"previous_hash": "0" * 64, "chain_hash": "f" * 64}
        started = time.perf_counter()
        postings, entries, assignments = [], [], []
        # The keys the posting service makes (one random stem per batch, counting up).
        posting_ids = iter(new_keys("jp", len(chunk)))
        entry_ids = iter(new_keys("je", 2 * len(chunk)))
        assignment_ids = iter(new_keys("da", 6 * len(chunk)))
        for n, txn_id in enumerate(chunk, start=start):
            amount = Decimal(n % 100_000 + 1) / 100
            centre = f"cc-{1 + n % 2}"
            posting_id = next(posting_ids)
            reference = f"BT-{txn_id}"
            description = f"Deposit {txn_id}"
            self.sequence += 1
            postings.append(
                (posting_id, reference, "bank_transaction", txn_id, "post", day, "2025-10", description,
                 None, "", self.user_id, self.now,
                 *(self.sequence if c == "chain_sequence" else seal[c] for c in self.seal_columns))
            )  # fmt: skip
            for line, (account, debit, credit) in enumerate(
                (("gl-1100", amount, zero), ("gl-4000", zero, amount)), start=1
            ):
                entry_id = next(entry_ids)
                entries.append(
                    (entry_id, posting_id, line, reference, day, "2025-10", account, debit, credit,
                     description, "bank_transaction", txn_id, self.user_id, self.now, None, centre,
                     None, None)
                )  # fmt: skip
                assignments.append((next(assignment_ids), entry_id, "cost_center", centre, None, None))
                assignments.append((next(assignment_ids), entry_id, "project", None, None, None))
                assignments.append((next(assignment_ids), entry_id, "department", None, None, None))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(self.posting_sql, postings)
            cursor.executemany(self.entry_sql, entries)
            cursor.executemany(self.assignment_sql, assignments)
        return time.perf_counter() - started


def _run(ids, user, batch_size):
    """Post the drafts batch by batch, each batch followed by the floor's write of the same rows.

    Interleaving puts both under the same load of a shared machine; return
    ``(posted, posting seconds, floor seconds)``.
    """
    from banking.posting import bank_transactions_post_batch

    floor = Floor(user)
    posted, post_seconds, floor_seconds = 0, 0.0, 0.0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        started = time.perf_counter()
        result = bank_transactions_post_batch(transaction_ids=chunk, user=user)
        post_seconds += time.perf_counter() - started
        posted += len(result.posted)
        floor_seconds += floor.write(chunk, start)
    return posted, post_seconds, floor_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="Draft transactions to post (20000).")
    parser.add_argument("--batch-size", type=int, default=5000, help="Transactions per batch (5000).")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
    options = parser.parse_args()
    if options.count < 1 or options.batch_size < 1:
        parser.error("--count and --batch-size must be positive")

    _recreate_database()
    try:
        _setup_django()
        account, centres, user = _ledger()
        started = time.perf_counter()
        ids = _drafts(account, centres, options.count)
        created = time.perf_counter() - started
        posted, post_seconds, floor_seconds = _run(ids, user, options.batch_size)

        from accounting.models import DimensionAssignment, JournalEntry
        from accounting.selectors import gl_unbalanced_references_guide

        assert posted == options.count, f"posted {posted} of {options.count}"
        assert JournalEntry.objects.count() == 2 * options.count
        assert DimensionAssignment.objects.count() == 6 * options.count
        assert gl_unbalanced_references_guide() == []

        rate, floor_rate = posted / post_seconds, options.count / floor_seconds
        rows = options.count * 9
        print(f"drafts created (bulk_create): {options.count} in {created:.2f} s")
        print(
            f"batch posting: {posted} transactions ({rows} GL rows: 1 header, 2 lines, 6 assignments each) "
            f"in {post_seconds:.2f} s = {rate:,.0f} transactions/s (batch size {options.batch_size})"
        )
        print(
            f"raw multi-row INSERT floor, same rows: {floor_seconds:.2f} s = {floor_rate:,.0f} transactions/s"
        )
        print(f"ratio posting / floor time: {post_seconds / floor_seconds:.2f}x")
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            _drop_database()


if __name__ == "__main__":
    main()
