"""Matching and reconciliation benchmark: ``.venv/bin/python bench/bench_matching.py --lines 50000``.

Creates a fresh MariaDB database of its own (``cnperp_bench_match``, dropped at
the end unless ``--keep``), migrates it and bulk-creates one account-month: N
statement lines and about N book transactions with the noise of the tests'
generator (``banking/tests/month_generator.py``: shifted dates, renamed
counterparties, fees, grouped deposits, split transfers, repeated amounts,
uncashed cheques), plus the GL lines of the posted transactions (one posting
of two lines each, carrying a cost centre).

Then, in a *fresh process* (so that peak memory is the run's, not the set-up's),
it times ``banking.matching.match_run`` followed by
``banking.reconciliation.reconcile_banking_by_dimension`` for the month, and
prints the times, the outcome and the peak resident memory
(``VmHWM``, ``bench/peak_memory.py``). ``--repeat N`` measures N runs (the matches are
deleted and the statuses reset, untimed, between them) and prints each.

Last, the **raw-SQL floor** of the run, on a plain mysqlclient connection in
one transaction that is rolled back: the same two ``SELECT ... FOR UPDATE``
reads, the INSERT of the same match rows (multi-row, into a ``CREATE TABLE
... LIKE`` copy of the match table: same columns and indexes, no foreign
keys), and the two status UPDATEs by primary key (``WHERE id IN``, 5,000 ids a
statement). Whatever the matcher spends beyond that is Python (building items,
deciding, formatting rows).
"""

import argparse
import datetime
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_memory import peak_mib  # noqa: E402  (bench/ is the script's own directory)

DB_NAME = "cnperp_bench_match"
HOST, PORT, USER = "127.0.0.1", 3306, "root"
SEED = 20251031
BATCH = 5000


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


def _setup_django(migrate=False):
    os.environ["DATABASE_URL"] = f"mysql://{USER}:@{HOST}:{PORT}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cnperp.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _populate(size):
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from accounting.models import AccountingPeriod, GLAccount, JournalEntry, JournalPosting
    from banking.models import BankAccount, BankStatement, BankTransaction, StatementLine
    from banking.tests.month_generator import generate_month
    from dimensions.models import CostCenter

    user = get_user_model().objects.create(username="bench")
    bank_gl = GLAccount.objects.create(id="gl-1100", code="1100", name="Bank", account_type="asset")
    contra = GLAccount.objects.create(id="gl-9000", code="9000", name="Contra", account_type="income")
    account = BankAccount.objects.create(
        id="ba-op", name="Operating", bank_name="Bench Bank", account_number="1", gl_account=bank_gl
    )
    start, end = AccountingPeriod.bounds("2025-10")
    AccountingPeriod.objects.create(id="2025-10", start_date=start, end_date=end)
    centres = [CostCenter.objects.create(id=f"cc-{n}", code=f"CC{n}", name=f"Centre {n}") for n in range(3)]

    month = generate_month(seed=SEED, size=size, cost_centers=(None, *[c.pk for c in centres]))
    statement = BankStatement.objects.create(
        bank_account=account,
        format="camt053",
        statement_number="BENCH-2025-10",
        file_sha256="0" * 64,
        from_date=start,
        to_date=end,
        opening_balance=Decimal("0.00"),
        closing_balance=sum((row["amount"] for row in month.lines), Decimal("0.00")),
        line_count=len(month.lines),
    )
    now = timezone.now()
    with transaction.atomic():
        BankTransaction.objects.bulk_create(
            [BankTransaction(**row, created_at=now, updated_at=now) for row in month.books], batch_size=BATCH
        )
        StatementLine.objects.bulk_create(
            [StatementLine(statement=statement, bank_account=account, **row) for row in month.lines],
            batch_size=BATCH,
        )
        postings, entries = [], []
        for row in month.books:
            if row["posting_status"] != "posted":
                continue
            reference = f"BT-{row['id']}"
            posting = JournalPosting(
                id=f"jp-{row['id']}",
                reference=reference,
                source_type="bank_transaction",
                source_id=row["id"],
                entry_date=row["transaction_date"],
                period_id="2025-10",
                posted_by=user,
                posted_at=now,
            )
            postings.append(posting)
            bank_debit = row["direction"] == "in"
            for number, (gl, debit) in enumerate(((bank_gl, bank_debit), (contra, not bank_debit)), start=1):
                entries.append(
                    JournalEntry(
                        id=f"je-{row['id']}-{number}",
                        posting=posting,
                        line_number=number,
                        reference=reference,
                        entry_date=row["transaction_date"],
                        period_id="2025-10",
                        account=gl,
                        debit=row["amount"] if debit else 0,
                        credit=0 if debit else row["amount"],
                        source_type="bank_transaction",
                        source_id=row["id"],
                        posted_by=user,
                        posted_at=now,
                        cost_center_id=row["cost_center_id"],
                    )
                )
        JournalPosting.objects.bulk_create(postings, batch_size=BATCH)
        JournalEntry.objects.bulk_create(entries, batch_size=BATCH)
    return month


def _reset_matches():
    """Undo a run (untimed) so that the next one starts from the same state."""
    server = _server()
    server.select_db(DB_NAME)
    cursor = server.cursor()
    cursor.execute("DELETE FROM bank_reconciliation_matches")
    cursor.execute("UPDATE bank_statement_lines SET match_status = 'unmatched'")
    cursor.execute(
        "UPDATE bank_transactions SET reconciliation_status = 'unreconciled', reconciled_at = NULL, "
        "updated_by_id = NULL"
    )
    server.commit()
    server.close()


def _floor():
    """Time the run's reads and writes as raw SQL; return ``{step: seconds}``. Changes nothing."""
    server = _server()
    server.select_db(DB_NAME)
    cursor = server.cursor()
    columns = (
        "id, bank_account_id, statement_line_id, bank_transaction_id, group_key, amount, score, stage, "
        "reason, status, decided_at, decided_by_id, created_at, updated_at, created_by_id, updated_by_id"
    )
    cursor.execute(f"SELECT {columns} FROM bank_reconciliation_matches ORDER BY id")
    rows = cursor.fetchall()
    confirmed = [row for row in rows if row[9] == "confirmed"]
    line_ids = sorted({row[2] for row in confirmed})
    book_ids = sorted({row[3] for row in confirmed})
    cursor.execute("DROP TABLE IF EXISTS bench_floor_matches")
    cursor.execute("CREATE TABLE bench_floor_matches LIKE bank_reconciliation_matches")
    server.commit()
    quote = server.string_literal

    def text(value):
        return "NULL" if value is None else quote(str(value).encode()).decode()

    def set_status(table, assignment, ids):
        for chunk in range(0, len(ids), BATCH):
            listed = ",".join(text(value) for value in ids[chunk : chunk + BATCH])
            cursor.execute(f"UPDATE {table} SET {assignment} WHERE id IN ({listed})")

    steps = {}
    try:
        started = time.perf_counter()
        cursor.execute(
            "SELECT id, booking_date, amount, counterparty_name, end_to_end_id, bank_reference, fitid, "
            "narrative, match_status FROM bank_statement_lines WHERE bank_account_id = 'ba-op' "
            "AND booking_date BETWEEN '2025-10-01' AND '2025-10-31' ORDER BY id FOR UPDATE"
        )
        cursor.fetchall()
        cursor.execute(
            "SELECT id, transaction_date, direction, amount, counterparty_name, end_to_end_id, reference, "
            "description FROM bank_transactions WHERE bank_account_id = 'ba-op' AND reconciliation_status "
            "IN ('unreconciled', 'matched') AND transaction_date BETWEEN '2025-09-26' AND '2025-11-15' "
            "ORDER BY id FOR UPDATE"
        )
        cursor.fetchall()
        steps["read (2 SELECT ... FOR UPDATE)"] = time.perf_counter() - started
        started = time.perf_counter()
        for chunk in range(0, len(rows), BATCH):
            values = ",".join(
                "(" + ",".join(text(value) for value in row) + ")" for row in rows[chunk : chunk + BATCH]
            )
            cursor.execute(f"INSERT INTO bench_floor_matches ({columns}) VALUES {values}")
        steps[f"INSERT {len(rows):,} match rows"] = time.perf_counter() - started
        # The run's own statuses are set back first (untimed), so the timed UPDATEs change every row.
        set_status("bank_statement_lines", "match_status = 'unmatched'", line_ids)
        set_status("bank_transactions", "reconciliation_status = 'unreconciled'", book_ids)
        started = time.perf_counter()
        set_status("bank_statement_lines", "match_status = 'matched'", line_ids)
        set_status(
            "bank_transactions",
            "reconciliation_status = 'matched', reconciled_at = NULL, updated_at = NOW(6)",
            book_ids,
        )
        label = f"UPDATE {len(line_ids):,} lines + {len(book_ids):,} transactions"
        steps[label] = time.perf_counter() - started
    finally:
        server.rollback()
        cursor.execute("DROP TABLE IF EXISTS bench_floor_matches")
        server.close()
    return steps


def _measure(repeat=1):
    """Run in a fresh process: time the matcher and the reconciliation result, report peak memory."""
    _setup_django()
    from django.db import connection

    from banking.matching import match_run
    from banking.reconciliation import reconcile_banking_by_dimension

    connection.ensure_connection()
    run = result = None
    for attempt in range(repeat):
        if attempt:
            # The previous run's outcome is let go first: the peak is then
            # what one run holds, which is what the memory target is about.
            del run, result
            gc.collect()
            _reset_matches()
        started, cpu = time.perf_counter(), time.process_time()
        run = match_run(bank_account_id="ba-op", period="2025-10")
        matched, cpu = time.perf_counter(), time.process_time() - cpu
        result = reconcile_banking_by_dimension("ba-op", "2025-10")
        done = time.perf_counter()
        print(
            f"run {attempt + 1}: match_run {matched - started:.2f} s (Python CPU {cpu:.2f} s), "
            f"reconciliation {done - matched:.2f} s, total {done - started:.2f} s "
            f"(load average {os.getloadavg()[0]:.1f}); peak RSS so far {peak_mib():.0f} MB"
        )
    peak_mb = peak_mib()
    print(f"lines considered        {run.lines_considered:>10,}")
    print(f"transactions considered {run.transactions_considered:>10,}")
    print(f"lines matched           {run.lines_matched:>10,}  by stage {run.by_stage}")
    print(f"lines suggested         {run.lines_suggested:>10,}")
    print(f"match_run               {matched - started:>10.2f} s")
    print(f"reconciliation result   {done - matched:>10.2f} s  (status {result['status']}, ")
    print(f"                                     variance {result['variance']})")
    print(f"match + reconcile       {done - started:>10.2f} s")
    print(f"peak RSS (this process) {peak_mb:>10.0f} MB")
    steps = _floor()
    floor = sum(steps.values())
    for step, seconds in steps.items():
        print(f"floor: {step:<40} {seconds:>6.2f} s")
    ratio = (matched - started) / floor
    print(f"raw-SQL floor of match_run  {floor:>6.2f} s; last match_run / floor = {ratio:.2f}")


def _truth_check(month):
    from banking.models import ReconciliationMatch

    confirmed = set(
        ReconciliationMatch.objects.filter(status="confirmed").values_list(
            "statement_line_id", "bank_transaction_id"
        )
    )
    lines = {line_id for line_id, _ in confirmed}
    wrong = confirmed - month.truth
    rate = len(lines & month.matchable_lines) / len(month.matchable_lines)
    print(f"auto-matched of matchable {rate:>8.1%}; wrong matches: {len(wrong)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--repeat", type=int, default=1, help="Measure this many runs (default 1).")
    parser.add_argument(
        "--reuse", action="store_true", help="Measure on the database a --keep run left (no set-up)."
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.repeat)
        return
    if args.reuse:
        _reset_matches()
        subprocess.run([sys.executable, __file__, "--measure", "--repeat", str(args.repeat)], check=True)
        return
    _recreate_database()
    try:
        started = time.perf_counter()
        _setup_django(migrate=True)
        month = _populate(args.lines)
        print(
            f"set-up: {len(month.lines):,} statement lines, {len(month.books):,} book transactions "
            f"in {time.perf_counter() - started:.1f} s ({datetime.date.today()})"
        )
        from django.db import connection

        connection.close()
        subprocess.run([sys.executable, __file__, "--measure", "--repeat", str(args.repeat)], check=True)
        _truth_check(month)
    finally:
        if not args.keep:
            _drop_database()


if __name__ == "__main__":
    main()
