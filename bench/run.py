"""Report benchmark (``make bench``): ``.venv/bin/python bench/run.py [--rows 1000000]``.

Creates a MariaDB database of its own (``cnperp_bench``, through a root
connection; dropped at the end unless ``--keep``), migrates it and loads the
demo company with ``manage.py load_demo --size N --months 24 --with-postings``
(4 bank accounts, every combination of cost centre, project and department with
"unassigned" among each one's values, about 2% transfers with allocations).

Then, for one account-month (``--account ba-op --period 2025-10``), each report
is requested ``--requests`` times (50) through Django's test client, the whole
request included (middleware, session, permissions, JSON), and its p50 and p95
are set against the hand-written SQL that computes the same numbers, timed in
the same run (the SQL's totals are checked against the report's first).

The cost must follow the month's rows, not the table's size, so the data is
loaded in two steps:

1. ``--small`` rows (100,000) over the 24 months ending 2025-12: measure;
2. the rest up to ``--rows`` with another seed over the 21 months ending
   2025-09, so that the measured month keeps exactly the same rows while the
   table grows tenfold: measure again; then measure a month of the big load
   (``--busy-period`` 2025-06), whose rows did grow tenfold.

A real book is reconciled and closed month by month: after each load every
transaction dated more than two months before the measured month is marked
reconciled, except one in a hundred (cheques never cashed, disputed fees), so
the variance report's ageing has old items in every bucket; and every month
before the measured one is closed (reopened for the second load, closed again
after it), so the opening balance reads the closed months' movements from the
reports' cache (``banking.reports._closed_month_nets``). The "first" column is
the first request of each report, with that cache still cold. ``--no-reconcile``
and ``--no-close`` show the cost of a book never reconciled or never closed.
The hand-written SQL always sums the whole history: it is what the numbers cost
without the cache.

The report's requests and the SQL's runs are timed in two blocks, one after the
other, not alternately: the SQL's opening balance reads the account's whole
history (several GB at a million rows, more than the buffer pool), and run
between the requests it pushed the report's pages out of memory each time, so
the report's figures measured the disk, not the query, which the raised buffer
pool is there to rule out.
"""

import argparse
import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "cnperp_bench"
HOST, PORT, USER = "127.0.0.1", 3306, "root"
REPORTS = ("cash-position", "dimensional-analysis", "variance-report", "transfer-tracking")


def _server():
    import MySQLdb

    return MySQLdb.connect(host=HOST, port=PORT, user=USER, passwd="", charset="utf8mb4")


BUFFER_POOL_BYTES = 2 * 1024**3


def _raise_buffer_pool():
    """Give InnoDB 2 GiB of buffer pool when it has less (the packaged default is 128 MiB).

    A million transactions with their postings are 4.7 GB of data and indexes
    (the dimension assignments are most of it); what the reports read (the
    months' index ranges and rows, the open items) fits in 2 GiB and not in
    128 MiB, so with the default the figures would measure the disk. The variable is dynamic
    in MariaDB 10.5+: the pool grows online, nothing restarts, other sessions
    carry on. Returns ``(before, after)`` in bytes.
    """
    server = _server()
    cursor = server.cursor()
    cursor.execute("SELECT @@innodb_buffer_pool_size")
    before = int(cursor.fetchone()[0])
    if before < BUFFER_POOL_BYTES:
        cursor.execute(f"SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL_BYTES}")
        # The resize runs in the background; wait (bounded) until the new size is in force.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            cursor.execute("SELECT @@innodb_buffer_pool_size")
            if int(cursor.fetchone()[0]) >= BUFFER_POOL_BYTES:
                break
            time.sleep(0.5)
    cursor.execute("SELECT @@innodb_buffer_pool_size")
    after = int(cursor.fetchone()[0])
    server.close()
    return before, after


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
    # Production settings (DEBUG off, no query log), served over plain HTTP to the test client.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    import django

    django.setup()
    # Set up as a server worker is once its code is loaded (cnperp/wsgi.py): every view imported,
    # start-up's objects frozen out of the garbage collector's walks.
    from cnperp.runtime import settle_after_start

    settle_after_start()


def _load(size, *, seed, end_month, months):
    from django.core.management import call_command

    started = time.monotonic()
    call_command(
        "load_demo",
        size=size,
        months=months,
        end_month=end_month,
        seed=seed,
        with_postings=True,
        verbosity=0,
    )
    return time.monotonic() - started


def _close_months_before(period):
    """Close every month before ``period``, as the controller does month by month."""
    from django.utils import timezone

    from accounting.choices import PeriodStatus
    from accounting.models import AccountingPeriod

    start, _end = AccountingPeriod.bounds(period)
    AccountingPeriod.objects.filter(end_date__lt=start).update(
        status=PeriodStatus.CLOSED, closed_at=timezone.now()
    )


def _reopen_all():
    """Reopen the months, so that the next load posts into open months only (rule 4)."""
    from accounting.choices import PeriodStatus
    from accounting.models import AccountingPeriod

    AccountingPeriod.objects.update(status=PeriodStatus.OPEN, closed_at=None)


def _reconcile_history(period):
    """Mark what a month-by-month reconciliation would have cleared: all but 1% of the older items."""
    from django.db import connection

    from accounting.models import AccountingPeriod

    start, _end = AccountingPeriod.bounds(period)
    cutoff = (start - datetime.timedelta(days=62)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bank_transactions SET reconciliation_status = 'reconciled' "
            "WHERE transaction_date < %s AND reconciliation_status = 'unreconciled' AND id NOT LIKE %s",
            [cutoff, "%77"],
        )


# --- The hand-written SQL computing the same numbers -------------------------------------------

CASH_SQL = {
    "balances": """SELECT SUM(CASE WHEN entry_date < %(start)s THEN debit - credit END),
        SUM(CASE WHEN entry_date >= %(start)s THEN debit END),
        SUM(CASE WHEN entry_date >= %(start)s THEN credit END),
        COUNT(CASE WHEN entry_date >= %(start)s THEN 1 END)
        FROM journal_entries WHERE account_id = %(gl)s AND entry_date <= %(end)s""",
    "statement": """SELECT closing_balance FROM bank_statements WHERE bank_account_id = %(account)s
        AND from_date <= %(end)s AND to_date >= %(start)s AND closing_balance IS NOT NULL
        ORDER BY to_date <= %(end)s DESC, to_date DESC, id DESC LIMIT 1""",
    "daily": """SELECT entry_date, SUM(debit), SUM(credit), COUNT(*) FROM journal_entries
        WHERE account_id = %(gl)s AND entry_date >= %(start)s AND entry_date <= %(end)s
        GROUP BY entry_date ORDER BY entry_date""",
}
DIMENSION_SQL = """SELECT cost_center_id, project_id, department_id, SUM(debit), SUM(credit), COUNT(*)
    FROM journal_entries WHERE account_id = %(gl)s AND entry_date >= %(start)s AND entry_date <= %(end)s
    GROUP BY cost_center_id, project_id, department_id"""
SIGNED = "IF(direction = 'in', amount, -amount)"
AGEING = f"""COUNT(CASE WHEN transaction_date >= %(d30)s THEN 1 END),
        SUM(CASE WHEN transaction_date >= %(d30)s THEN {SIGNED} END),
        COUNT(CASE WHEN transaction_date BETWEEN %(d60)s AND %(d31)s THEN 1 END),
        SUM(CASE WHEN transaction_date BETWEEN %(d60)s AND %(d31)s THEN {SIGNED} END),
        COUNT(CASE WHEN transaction_date BETWEEN %(d90)s AND %(d61)s THEN 1 END),
        SUM(CASE WHEN transaction_date BETWEEN %(d90)s AND %(d61)s THEN {SIGNED} END),
        COUNT(CASE WHEN transaction_date <= %(d91)s THEN 1 END),
        SUM(CASE WHEN transaction_date <= %(d91)s THEN {SIGNED} END)"""
# Reversed after the month (a range of posting_purpose_date_idx, as the report reads them).
REVERSED_LATER = """SELECT source_id FROM journal_postings WHERE purpose = 'reverse'
        AND source_type = '{}' AND entry_date > %(end)s"""
IN_BOOKS = f"""(posting_status IN ('draft', 'posted') OR (posting_status = 'reversed'
        AND id IN ({REVERSED_LATER.format("bank_transaction")})))"""
VARIANCE_SQL = {
    "balances": CASH_SQL["balances"],
    "statement": CASH_SQL["statement"],
    "reconciliation": """SELECT id, status, balance_status FROM bank_reconciliations
        WHERE bank_account_id = %(account)s AND period_id = %(period)s AND scope_key = ''""",
    # Open at the month's end: unreconciled today, then (apart, so the first stays one index range)
    # matched since only to lines the bank booked after it; in the books then (reversed only later).
    "unreconciled": f"""SELECT cost_center_id, project_id, department_id, {AGEING}
        FROM bank_transactions WHERE bank_account_id = %(account)s AND reconciliation_status = 'unreconciled'
        AND transaction_date <= %(end)s AND {IN_BOOKS}
        GROUP BY cost_center_id, project_id, department_id""",
    "cleared_after": f"""SELECT cost_center_id, project_id, department_id, {AGEING}
        FROM bank_transactions WHERE id IN (SELECT m.bank_transaction_id FROM bank_statement_lines l
            JOIN bank_reconciliation_matches m ON m.statement_line_id = l.id
            WHERE l.bank_account_id = %(account)s AND l.booking_date > %(end)s AND l.match_status = 'matched'
            AND m.status = 'confirmed')
        AND reconciliation_status <> 'unreconciled' AND transaction_date <= %(end)s AND {IN_BOOKS}
        AND NOT EXISTS (SELECT 1 FROM bank_reconciliation_matches m JOIN bank_statement_lines l
            ON l.id = m.statement_line_id WHERE m.bank_transaction_id = bank_transactions.id
            AND m.status = 'confirmed' AND l.booking_date <= %(end)s)
        GROUP BY cost_center_id, project_id, department_id""",
    "cash": f"""SELECT branch_id, cost_center_id, project_id, department_id, COUNT(*), SUM(expected_amount),
        SUM(CASE WHEN deposit_date IS NULL OR deposit_date <= %(end)s THEN deposited_amount END),
        SUM(CASE WHEN deposited_amount IS NOT NULL AND (deposit_date IS NULL OR deposit_date <= %(end)s)
            THEN expected_amount END)
        FROM cash_submissions WHERE bank_account_id = %(account)s
        AND (submission_date >= %(start)s OR (deposit_date >= %(start)s AND deposited_amount IS NOT NULL))
        AND submission_date <= %(end)s AND status <> 'cancelled'
        AND NOT (posting_status = 'reversed' AND id NOT IN ({REVERSED_LATER.format("cash_submission")}))
        GROUP BY branch_id, cost_center_id, project_id, department_id""",
}
# The transfers tracked in the month, as the report reads them: disjoint parts, each a range of one
# index, since the plain OR of the same conditions reads the account's whole history.
IN_VIEW_PARTS = (
    "from_bank_account_id = %(account)s AND initiated_date BETWEEN %(start)s AND %(end)s",
    "to_bank_account_id = %(account)s AND initiated_date BETWEEN %(start)s AND %(end)s",
    "from_bank_account_id = %(account)s AND initiated_date < %(start)s AND received_date >= %(start)s",
    "to_bank_account_id = %(account)s AND initiated_date < %(start)s AND received_date >= %(start)s",
    """status IN ('initiated', 'in_transit') AND initiated_date < %(start)s
    AND (from_bank_account_id = %(account)s OR to_bank_account_id = %(account)s)
    AND (received_date IS NULL OR received_date < %(start)s)""",
    """status = 'failed' AND initiated_date < %(start)s AND failed_date >= %(start)s
    AND (from_bank_account_id = %(account)s OR to_bank_account_id = %(account)s)""",
)


def _in_view(columns):
    parts = (f"(SELECT {columns} FROM bank_transfers WHERE {part})" for part in IN_VIEW_PARTS)
    return " UNION ALL ".join(parts)


TRANSFER_COLUMNS = """id, from_bank_account_id, to_bank_account_id, amount, received_amount, status,
    initiated_date, received_date, reference, failed_date"""
TRANSFER_SQL = {
    "transfers": f"{_in_view(TRANSFER_COLUMNS)} ORDER BY initiated_date, id",
    "allocations": f"""SELECT a.transfer_id, a.line_number, a.amount, a.received_amount, a.cost_center_id,
        a.project_id, a.department_id FROM bank_transfer_allocations a JOIN ({_in_view("id")}) t
        ON a.transfer_id = t.id ORDER BY a.transfer_id, a.line_number""",
    "allocation_groups": f"""SELECT a.from_bank_account_id, a.cost_center_id, a.project_id, a.department_id,
        SUM(a.amount), SUM(a.received_amount), COUNT(*) FROM bank_transfer_allocations a
        JOIN ({_in_view("id")}) t ON a.transfer_id = t.id
        GROUP BY a.from_bank_account_id, a.cost_center_id, a.project_id, a.department_id""",
    "by_status": f"""SELECT from_bank_account_id, status, COUNT(*), SUM(amount), SUM(received_amount)
        FROM ({_in_view("from_bank_account_id, status, amount, received_amount")}) t
        GROUP BY from_bank_account_id, status""",
}
SQL = {
    "cash-position": CASH_SQL,
    "dimensional-analysis": {"dimensions": DIMENSION_SQL},
    "variance-report": VARIANCE_SQL,
    "transfer-tracking": TRANSFER_SQL,
}


def _params(account, period):
    from accounting.models import AccountingPeriod
    from banking.models import BankAccount

    start, end = AccountingPeriod.bounds(period)
    days = {f"d{n}": end - datetime.timedelta(days=n) for n in (30, 31, 60, 61, 90, 91)}
    gl = BankAccount.objects.values_list("gl_account_id", flat=True).get(pk=account)
    return {"account": account, "gl": gl, "period": period, "start": start, "end": end, **days}


def _run_sql(queries, params):
    from django.db import connection

    results = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, params)
            results[name] = cursor.fetchall()
    return results


def _check_same_numbers(report, body, sql):
    """Fail loudly when the hand-written SQL and the report disagree: the comparison would be meaningless."""
    if report in ("cash-position", "variance-report"):
        opening, inflow, outflow, _count = sql["balances"][0]
        closing = (opening or 0) + (inflow or 0) - (outflow or 0)
        book = body["totals"]["closing_balance" if report == "cash-position" else "book_closing_balance"]
        assert Decimal(book) == Decimal(closing).quantize(Decimal("0.01")), (report, book, closing)
    if report == "dimensional-analysis":
        inflow = sum((row[3] for row in sql["dimensions"]), Decimal(0))
        assert Decimal(body["totals"]["inflow"]) == inflow, (report, body["totals"]["inflow"], inflow)
    if report == "variance-report":
        count = sum(sum(row[i] for i in (3, 5, 7, 9)) for row in sql["unreconciled"] + sql["cleared_after"])
        assert body["totals"]["unreconciled_count"] == count, (
            report,
            body["totals"]["unreconciled_count"],
            count,
        )
    if report == "transfer-tracking":
        outgoing = sum(1 for row in sql["transfers"] if row[1] == body["bank_account_id"])
        assert body["totals"]["outgoing_count"] == outgoing, report
        assert body["totals"]["incoming_count"] == len(sql["transfers"]) - outgoing, report


def _percentiles(samples):
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95


class FullCollections:
    """Count the garbage collector's walks of its oldest generation, and the longest, while active."""

    def __init__(self):
        self.count, self.longest_ms, self._started = 0, 0.0, None

    def __enter__(self):
        import gc

        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        import gc

        gc.callbacks.remove(self._callback)

    def _callback(self, phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.count += 1
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._started) * 1000)


def measure(client, *, account, period, requests):
    """Return ``{report: {p50, p95, sql_p50, sql_p95, ratio}}`` for one account-month."""
    params = _params(account, period)
    results = {}
    for report in REPORTS:
        url = f"/api/v1/banking/{report}?bank_account_id={account}&period={period}"
        started = time.perf_counter()
        first = client.get(url)
        cold = (time.perf_counter() - started) * 1000
        assert first.status_code == 200, (report, first.status_code, first.content[:300])
        _check_same_numbers(report, first.json(), _run_sql(SQL[report], params))
        timings, sql_timings = [], []
        # Two blocks (see the module's docstring): the report's requests, then the SQL's runs.
        with FullCollections() as collections:
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                # The test client ties each answer to itself (response.json holds it), a cycle a
                # server has not: undone, so that the answer is freed as a server frees it.
                del response.json
        for _ in range(requests):
            started = time.perf_counter()
            _run_sql(SQL[report], params)
            sql_timings.append((time.perf_counter() - started) * 1000)
        p50, p95 = _percentiles(timings)
        sql_p50, sql_p95 = _percentiles(sql_timings)
        results[report] = {
            "first": cold,
            "p50": p50,
            "p95": p95,
            "sql_p50": sql_p50,
            "sql_p95": sql_p95,
            "ratio": p95 / sql_p95 if sql_p95 else math.inf,
            "full_collections": collections.count,
            "longest_collection": collections.longest_ms,
        }
    return results


def counts(account, period):
    from django.db import connection

    params = _params(account, period)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bank_transactions")
        transactions = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM journal_entries")
        lines = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM journal_entries WHERE account_id = %(gl)s "
            "AND entry_date >= %(start)s AND entry_date <= %(end)s",
            params,
        )
        month_lines = cursor.fetchone()[0]
    return {"transactions": transactions, "gl_lines": lines, "month_lines": month_lines}


def machine():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@innodb_buffer_pool_size")
        version, pool = cursor.fetchone()
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {memory}, MariaDB {version} (innodb_buffer_pool_size "
        f"{int(pool) / 1024**2:,.0f} MiB), Python {platform.python_version()}, load average {load}"
    )


def table(title, size, result, goal_ms):
    lines = [
        f"**{title}** ({size['transactions']:,} transactions, {size['gl_lines']:,} GL lines; "
        f"{size['month_lines']:,} GL lines of the account in the month)",
        "",
        "| report | first ms | p50 ms | p95 ms | SQL p50 ms | SQL p95 ms | p95 / SQL p95 "
        f"| p95 ≤ {goal_ms:.0f} ms | ≤ 2× SQL | full GCs (longest ms) |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|:---:|---:|",
    ]
    for report, r in result.items():
        fast = "yes" if r["p95"] <= goal_ms else "no"
        close = "yes" if r["ratio"] <= 2 else "no"
        lines.append(
            f"| {report} | {r['first']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['sql_p50']:.1f} "
            f"| {r['sql_p95']:.1f} | {r['ratio']:.2f} | {fast} | {close} "
            f"| {r['full_collections']} ({r['longest_collection']:.1f}) |"
        )
    return "\n".join(lines)


def remeasure(args):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    if args.no_close:
        _reopen_all()
    out = []
    for period in (args.period, args.busy_period):
        size = counts(args.account, period)
        result = measure(client, account=args.account, period=period, requests=args.requests)
        out.append(
            table(f"{args.account} {period}, {size['transactions']:,} rows", size, result, args.goal_ms)
        )
        print(out[-1], flush=True)
    out.append(f"Machine: {machine()}.")
    print(out[-1])
    if args.output:
        Path(args.output).write_text("\n\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="Transactions in the big load (1,000,000)."
    )
    parser.add_argument(
        "--small", type=int, default=100_000, help="Transactions in the first load (100,000)."
    )
    parser.add_argument("--requests", type=int, default=50, help="Requests per report (at least 50).")
    parser.add_argument("--account", default="ba-op")
    parser.add_argument("--period", default="2025-10", help="The measured month (kept unchanged by step 2).")
    parser.add_argument("--busy-period", default="2025-06", help="A month that grows with the big load.")
    parser.add_argument("--goal-ms", type=float, default=50.0)
    parser.add_argument("--no-reconcile", action="store_true", help="Leave the whole history unreconciled.")
    parser.add_argument("--no-close", action="store_true", help="Leave every month open (no closed months).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--reuse", action="store_true", help="Measure the data a --keep run left, at its size; load nothing."
    )
    parser.add_argument("--output", default="", help="Also write the Markdown tables to this file.")
    args = parser.parse_args()
    if args.requests < 1 or args.rows < 1 or args.small < 1:
        parser.error("--rows, --small and --requests must be positive.")
    small = min(args.small, args.rows)

    before, after = _raise_buffer_pool()
    print(f"innodb_buffer_pool_size: {before / 1024**2:,.0f} MiB -> {after / 1024**2:,.0f} MiB", flush=True)
    if args.reuse:
        _setup_django()
        return remeasure(args)
    _recreate_database()
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    out = []
    try:
        call_command("migrate", verbosity=0, interactive=False)
        seconds = _load(small, seed=2025, end_month="2025-12", months=24)
        print(f"loaded {small:,} transactions with postings in {seconds:.0f} s", flush=True)
        if not args.no_reconcile:
            _reconcile_history(args.period)
        if not args.no_close:
            _close_months_before(args.period)
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-1")
        client = Client()
        client.force_login(user)
        size = counts(args.account, args.period)
        first = measure(client, account=args.account, period=args.period, requests=args.requests)
        out.append(table(f"{args.account} {args.period}, {small:,} rows", size, first, args.goal_ms))
        print(out[-1], flush=True)
        if args.rows > small:
            # Another seed over the months before the measured one: its rows stay exactly as they were.
            end = (datetime.date.fromisoformat(f"{args.period}-01") - datetime.timedelta(days=1)).strftime(
                "%Y-%m"
            )
            months = 24 - (datetime.date(2025, 12, 1).year * 12 + 12 - (int(end[:4]) * 12 + int(end[5:])))
            _reopen_all()
            seconds = _load(args.rows - small, seed=2026, end_month=end, months=months)
            print(f"loaded {args.rows - small:,} more transactions in {seconds:.0f} s", flush=True)
            if not args.no_reconcile:
                _reconcile_history(args.period)
            if not args.no_close:
                _close_months_before(args.period)
            size = counts(args.account, args.period)
            second = measure(client, account=args.account, period=args.period, requests=args.requests)
            out.append(table(f"{args.account} {args.period}, {args.rows:,} rows", size, second, args.goal_ms))
            print(out[-1], flush=True)
            size = counts(args.account, args.busy_period)
            busy = measure(client, account=args.account, period=args.busy_period, requests=args.requests)
            out.append(
                table(f"{args.account} {args.busy_period}, {args.rows:,} rows", size, busy, args.goal_ms)
            )
            print(out[-1], flush=True)
        out.append(f"Machine: {machine()}.")
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        out.append(f"Command: `.venv/bin/python bench/run.py --rows {args.rows}` (commit {commit or '?'}).")
        print(out[-2], out[-1], sep="\n")
        if args.output:
            Path(args.output).write_text("\n\n".join(out) + "\n")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database()


if __name__ == "__main__":
    main()
