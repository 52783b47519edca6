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
   of keys, written by raw multi-row INSERTs of driver-escaped literals
   (``cnperp.bulk_sql``, with the service's repeated-value memo) into copies of
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
        from accounting.services import ASSIGNMENT_COLUMNS, LINE_COLUMNS

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
        self.posting_columns = [c.strip() for c in posting_columns.split(",")]
        # The GL line and assignment columns are the posting service's own, in its order.
        self.entry_columns, self.assignment_columns = LINE_COLUMNS, ASSIGNMENT_COLUMNS

    def write(self, chunk, start):
        """Build and insert the rows of the transactions ``chunk`` (numbered from ``start``); time it."""
        from accounting.services import cyclic_gc_paused

        # Built and written as the posting service does, garbage collector paused.
        return cyclic_gc_paused(self._write)(chunk, start)

    def _write(self, chunk, start):
        from django.db import transaction

        from accounting.services import ASSIGNMENT_REPEATED, LINE_REPEATED, new_keys
        from cnperp.bulk_sql import rows_insert

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
        # The fastest raw path this driver has: multi-row INSERTs of literals escaped by its C code.
        with transaction.atomic():
            rows_insert("floor_journal_postings", self.posting_columns, postings)
            rows_insert("floor_journal_entries", self.entry_columns, entries, repeated=LINE_REPEATED)
            rows_insert(
                "floor_dimension_assignments",
                self.assignment_columns,
                assignments,
                repeated=ASSIGNMENT_REPEATED,
            )
        return time.perf_counter() - started


class Steps:
    """With ``--steps``: the posting's time split by database statement and by Python step.

    Database time is taken per statement kind (verb and table) by a Django
    execute wrapper; the Python steps by wrapping the functions that do them.
    Only the posting is measured (the floor's statements are left out).
    """

    PYTHON_STEPS = (
        ("accounting.services", "_header", "build the posting headers"),
        ("accounting.services", "_rows", "build the GL line and assignment rows"),
        ("accounting.services", "lines_check", "check the lines balance"),
        ("accounting.ledger_chain", "seal", "seal each posting (hash chain)"),
        ("banking.posting", "transaction_lines", "apply the posting rules"),
        ("accounting.services", "_insert_many", "write the ledger rows (escaping + their INSERTs)"),
        ("cnperp.audit", "record", "audit entries (building + their INSERT)"),
    )

    def __init__(self):
        self.seconds = {}
        self.active = False

    def add(self, name, seconds):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def install(self):
        import importlib

        from django.db import connection

        for module_name, function_name, label in self.PYTHON_STEPS:
            module = importlib.import_module(module_name)
            setattr(module, function_name, self._timed(getattr(module, function_name), label))
        connection.execute_wrappers.append(self._statement)

    def _timed(self, function, label):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if self.active:
                    self.add(label, time.perf_counter() - started)

        return timed

    def _statement(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if self.active:
                words = sql.replace("`", "").split()
                verb = words[0].upper()
                table = next((w for w in words[1:6] if w.islower() and "_" in w), "")
                self.add(f"SQL {verb} {table}".strip(), time.perf_counter() - started)

    def report(self, total):
        print(f"where the posting's {total:.2f} s go (steps overlap where one calls another):")
        for name, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            print(f"  {seconds:6.2f} s  {100 * seconds / total:4.0f} %  {name}")


def _run(ids, user, batch_size, steps=None):
    """Post the drafts batch by batch, each batch followed by the floor's write of the same rows.

    Interleaving puts both under the same load of a shared machine; return
    ``(posted, posting seconds, floor seconds)``.
    """
    from banking.posting import bank_transactions_post_batch

    floor = Floor(user)
    posted, post_seconds, floor_seconds = 0, 0.0, 0.0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        if steps:
            steps.active = True
        started = time.perf_counter()
        result = bank_transactions_post_batch(transaction_ids=chunk, user=user)
        post_seconds += time.perf_counter() - started
        if steps:
            steps.active = False
        posted += len(result.posted)
        floor_seconds += floor.write(chunk, start)
    return posted, post_seconds, floor_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="Draft transactions to post (20000).")
    parser.add_argument("--batch-size", type=int, default=5000, help="Transactions per batch (5000).")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
    parser.add_argument(
        "--steps", action="store_true", help="Also split the posting's time by SQL statement and step."
    )
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
        steps = Steps() if options.steps else None
        if steps:
            steps.install()
        posted, post_seconds, floor_seconds = _run(ids, user, options.batch_size, steps)

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
        if steps:
            steps.report(post_seconds)
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            _drop_database()


if __name__ == "__main__":
    main()
