"""Prometheus metrics, served at ``/metrics``.

The request metrics (count, latency, 503s for a database outage) are kept in
each process by the middleware.

Under gunicorn each worker is a process of its own; ``cnperp/gunicorn.conf.py``
sets ``PROMETHEUS_MULTIPROC_DIR`` so ``/metrics`` adds up every worker's values.

The business figures (postings in the open periods, drafts waiting, statements
imported, the variance of each account's latest reconciliation) are read from the
database at scrape time by :class:`LedgerCollector`: the database is the one
place every worker, every ``manage.py`` command and every cron job writes to,
so the figures are right whichever process did the work and survive restarts,
and nothing has to remember to count. Each is one small grouped query on an
index; when the database cannot be read, ``cnperp_ledger_metrics_up`` is 0 and
the HTTP metrics are still served.
"""

import logging
import os
import time
from decimal import Decimal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as _PROCESS_REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "cnperp_http_requests_total", "HTTP requests answered, by method and status.", ["method", "status"]
)
HTTP_LATENCY = Histogram(
    "cnperp_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL route.",
    ["method", "route"],
    # The promises are 100 ms for period queries and 500 ms for any API answer.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DATABASE_UNAVAILABLE = Counter(
    "cnperp_database_unavailable_total", "Requests answered 503 because the database could not be used."
)
# --- Read from the database at scrape time ---------------------------------------------------

# Each read is bounded by an index range that does not grow with the history: the postings of
# the open periods only (posting_period_date_idx; a closed period takes no posting, so its count
# is final and tells an operator nothing new), the drafts only (idx_bt_status_date), and two small
# tables. At a million transactions they take a few milliseconds (docs/reliability.md).
LEDGER_QUERIES = {
    "postings": """SELECT p.period_id, COUNT(*) FROM journal_postings p
        WHERE p.period_id IN (SELECT a.id FROM accounting_periods a WHERE a.status <> 'closed')
        GROUP BY p.period_id""",
    "drafts": "SELECT COUNT(*) FROM bank_transactions WHERE posting_status = 'draft'",
    # One row per imported statement file.
    "imports": """SELECT format, COUNT(*), COALESCE(SUM(new_line_count), 0),
        COALESCE(SUM(duplicate_line_count), 0) FROM bank_statements GROUP BY format""",
    # The whole-account reconciliation (empty scope) of each account's latest reconciled month.
    "reconciliations": """SELECT r.bank_account_id, r.period_id, r.status, r.variance
        FROM bank_reconciliations r
        WHERE r.scope_key = '' AND r.period_id = (SELECT MAX(l.period_id) FROM bank_reconciliations l
            WHERE l.bank_account_id = r.bank_account_id AND l.scope_key = '')""",
}
IMPORT_COLUMNS = {
    "cnperp_statements_imported": 1,
    "cnperp_statement_lines_imported": 2,
    "cnperp_statement_lines_duplicate": 3,
}


def _ledger_families():
    """Return the ledger metric families, empty, in the order they are exposed."""
    return {
        "postings": GaugeMetricFamily(
            "cnperp_ledger_postings",
            "GL postings (and reversals) in each open accounting period; rises as postings are made.",
            labels=["period"],
        ),
        "drafts": GaugeMetricFamily(
            "cnperp_bank_transactions_draft", "Bank transactions recorded but not yet posted to the GL."
        ),
        "cnperp_statements_imported": CounterMetricFamily(
            "cnperp_statements_imported", "Bank statement files imported, by format.", labels=["format"]
        ),
        "cnperp_statement_lines_imported": CounterMetricFamily(
            "cnperp_statement_lines_imported",
            "Statement lines added by imports, by format (lines seen before are not counted).",
            labels=["format"],
        ),
        "cnperp_statement_lines_duplicate": CounterMetricFamily(
            "cnperp_statement_lines_duplicate",
            "Statement lines recognised as already imported and skipped, by format.",
            labels=["format"],
        ),
        "variance": GaugeMetricFamily(
            "cnperp_ledger_reconciliation_variance",
            "Variance (statement less book) of each bank account's latest whole-account reconciliation, "
            "in the account's currency.",
            labels=["bank_account_id", "period"],
        ),
        "finalized": GaugeMetricFamily(
            "cnperp_ledger_reconciliation_finalized",
            "1 when each bank account's latest whole-account reconciliation is signed off.",
            labels=["bank_account_id", "period"],
        ),
        "up": GaugeMetricFamily(
            "cnperp_ledger_metrics_up", "1 when the ledger figures could be read from the database."
        ),
        "seconds": GaugeMetricFamily(
            "cnperp_ledger_metrics_seconds", "Time taken to read the ledger figures at this scrape."
        ),
    }


class LedgerCollector:
    """Collect the ledger's business figures from the database, once per scrape."""

    def __init__(self, alias="default"):
        self.alias = alias

    def describe(self):
        # Named up front so a registry never calls collect() (and the database) just to register.
        return list(_ledger_families().values())

    def _read(self):
        from django.db import connections

        results = {}
        with connections[self.alias].cursor() as cursor:
            for name, sql in LEDGER_QUERIES.items():
                cursor.execute(sql)
                results[name] = cursor.fetchall()
        return results

    def collect(self):
        from django.db import DatabaseError

        started = time.perf_counter()
        try:
            results = self._read()
        except DatabaseError as exc:
            # A scrape during an outage still answers: the HTTP metrics show the outage.
            logger.warning("ledger metrics not read: %s", str(exc)[:200])
            results = None
        families = _ledger_families()
        families["up"].add_metric([], 0 if results is None else 1)
        families["seconds"].add_metric([], time.perf_counter() - started)
        if results is not None:
            for period, count in results["postings"]:
                families["postings"].add_metric([period], count)
            families["drafts"].add_metric([], results["drafts"][0][0])
            for row in results["imports"]:
                for name, column in IMPORT_COLUMNS.items():
                    families[name].add_metric([row[0]], int(row[column]))
            for account, period, status, variance in results["reconciliations"]:
                # The Decimal as the books keep it; the exposition writes it out as a number.
                if variance is not None:  # none without a statement: nothing to compare
                    families["variance"].add_metric([account, period], Decimal(variance))
                families["finalized"].add_metric([account, period], 1 if status == "finalized" else 0)
        yield from families.values()


def exposition(*, ledger=True):
    """Return ``(body, content_type)`` of the metrics, summed over workers when multiprocess.

    The ledger figures (``ledger``) come from the database once per scrape, not
    once per worker: they are the same whichever worker reads them.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _PROCESS_REGISTRY
    body = generate_latest(registry)
    if ledger:
        figures = CollectorRegistry()
        figures.register(LedgerCollector())
        body += generate_latest(figures)
    else:
        body += b"# The ledger's figures are shown to a scraper with DJANGO_METRICS_TOKEN only.\n"
    return body, CONTENT_TYPE_LATEST
