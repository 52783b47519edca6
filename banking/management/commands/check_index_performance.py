"""Check that the reports' period queries use indexes and are fast:
``manage.py check_index_performance --table bank_transactions``.

The deployment guide's ``test_index_performance`` step. The four reports run
once for one bank account and month (by default the first account and the
month of its latest transaction) while their SQL is recorded; every query that
reads ``--table`` is then explained (``EXPLAIN`` on MariaDB/MySQL, ``EXPLAIN
QUERY PLAN`` on SQLite) to show the index it uses, and timed (median of
``--runs``). The guide promises period queries under 100 ms: the slowest one is
compared against that, and a miss is a non-zero exit.
"""

import re
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounting.models import AccountingPeriod
from banking import reports
from banking.models import BankAccount, BankTransaction
from cnperp.exceptions import DomainError

PROMISE_MS = 100.0
TABLES = (
    "bank_transactions",
    "journal_entries",
    "bank_transfers",
    "bank_transfer_allocations",
    "cash_submissions",
    "bank_statements",
    "bank_reconciliations",
)
SQLITE_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\S+)|USING (INTEGER PRIMARY KEY)")


class Recorder:
    """Keep the SQL and parameters of every query, as ``connection.execute_wrapper`` passes them."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        # A UNION of parenthesised SELECTs (transfer tracking) opens with "(".
        if not many and sql.lstrip(" (").upper().startswith("SELECT"):
            self.queries.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)


def reads_table(sql, table):
    quoted = {f"`{table}`", f'"{table}"', table}
    return any(re.search(rf"\b(FROM|JOIN)\s+{re.escape(name)}(\s|$)", sql) for name in quoted)


class Command(BaseCommand):
    help = "EXPLAIN the reports' period queries on a table, show the indexes used and time them (< 100 ms)."

    def add_arguments(self, parser):
        parser.add_argument("--table", required=True, help=f"One of: {', '.join(TABLES)}.")
        parser.add_argument("--account", metavar="ID", help="The bank account (default: the first one).")
        parser.add_argument(
            "--period", metavar="YYYY-MM", help="The month (default: of the latest transaction)."
        )
        parser.add_argument("--runs", type=int, default=20, help="Timed runs per query (20).")

    def handle(self, *args, table, account=None, period=None, runs=20, **options):
        if table not in TABLES:
            raise CommandError(f'Unknown table "{table}"; use one of: {", ".join(TABLES)}.')
        if runs < 1:
            raise CommandError("--runs must be a positive number.")
        account = account or BankAccount.objects.order_by("pk").values_list("pk", flat=True).first()
        if account is None:
            raise CommandError("There is no bank account, so no report query to check.")
        if period is None:
            latest = (
                BankTransaction.objects.filter(bank_account_id=account)
                .order_by("-transaction_date")
                .values_list("transaction_date", flat=True)
                .first()
            )
            period = AccountingPeriod.code_for(latest) if latest else "2025-10"
        recorder = Recorder()
        try:
            with connection.execute_wrapper(recorder):
                reports.cash_position_get(period=period, bank_account_id=account)
                reports.dimensional_analysis_get(period=period, bank_account_id=account)
                reports.variance_report_get(period=period, bank_account_id=account)
                reports.transfer_tracking_get(period=period, bank_account_id=account)
        except DomainError as exc:
            name = {"bank_account_id": "--account"}.get(exc.field, f"--{exc.field}")
            raise CommandError(f"{name}: {exc.message}") from exc
        queries = list(dict.fromkeys(q for q in recorder.queries if reads_table(q[0], table)))
        self.stdout.write(
            f"{table}: {len(queries)} report queries for {account} {period} ({connection.vendor})"
        )
        slowest = 0.0
        for number, (sql, params) in enumerate(queries, start=1):
            plan = self.explain(sql, params, table)
            median = self.time(sql, params, runs)
            slowest = max(slowest, median)
            self.stdout.write(f"  {number}. {median:.1f} ms  {plan}")
            self.stdout.write(f"     {sql[:160]}{'...' if len(sql) > 160 else ''}")
        verdict = "within" if slowest < PROMISE_MS else "OVER"
        self.stdout.write(
            f"Slowest period query: {slowest:.1f} ms, {verdict} the guide's promise of {PROMISE_MS:.0f} ms."
        )
        if slowest >= PROMISE_MS:
            raise CommandError(
                f"A period query on {table} took {slowest:.1f} ms (promise: < {PROMISE_MS:.0f} ms)."
            )

    def explain(self, sql, params, table):
        """Return the plan's index use for ``table``, such as ``index idx_bt_recon (ref, 120 rows)``."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                details = [row[-1] for row in cursor.fetchall() if table in row[-1]]
                used = []
                for detail in details:
                    match = SQLITE_INDEX.search(detail)
                    used.append(
                        f"index {match.group(1) or match.group(2)}" if match else f"no index ({detail})"
                    )
                return "; ".join(used) or "no plan line for the table"
            cursor.execute("EXPLAIN " + sql, params)
            columns = [column[0].lower() for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        used = []
        for row in rows:
            if str(row.get("table") or "").startswith("<union"):
                continue  # the UNION's result, gathered from the lines before it: no table is read
            # Every plan line, named by its table: a subquery's alias (U0) reads the table too.
            key, extra = row.get("key"), row.get("extra") or ""
            if row.get("table") is None and "Impossible WHERE" in extra:
                # Nothing can match (a list of ids that is empty this month): no row is read at all.
                used.append(f"nothing to read ({extra})")
                continue
            label = f"index {key}" if key else "NO INDEX (full scan)"
            detail = f"{row.get('type')}, ~{row.get('rows')} rows" + (f", {extra}" if extra else "")
            used.append(f"{row.get('table')}: {label} ({detail})")
        return "; ".join(used) or "no plan line"

    def time(self, sql, params, runs):
        samples = []
        with connection.cursor() as cursor:
            for _ in range(runs):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)
