"""Prometheus metrics, served at ``/metrics``.

Other modules import the recording functions, not the metric objects, so the
names and labels stay in one place::

    from cnperp import metrics
    transaction.on_commit(lambda: metrics.posting_recorded(source_type="bank_transaction"))

Under gunicorn each worker is a process of its own; ``cnperp/gunicorn.conf.py``
sets ``PROMETHEUS_MULTIPROC_DIR`` so ``/metrics`` adds up every worker's values.
"""

import os
from decimal import Decimal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as _PROCESS_REGISTRY

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
POSTINGS = Counter(
    "cnperp_postings_total", "Balanced GL postings committed, by source document type.", ["source_type"]
)
STATEMENT_IMPORTS = Counter(
    "cnperp_statement_imports_total",
    "Bank statement files imported, by format and outcome (imported, duplicate, rejected).",
    ["format", "outcome"],
)
STATEMENT_LINES = Counter(
    "cnperp_statement_lines_imported_total", "Statement lines added by imports, by format.", ["format"]
)
RECONCILIATION_VARIANCE = Gauge(
    "cnperp_reconciliation_variance",
    "Variance of the latest reconciliation of each bank account (book minus bank), in account currency.",
    ["bank_account_id"],
    multiprocess_mode="mostrecent",
)


def posting_recorded(*, source_type, count=1):
    """Count ``count`` committed postings of ``source_type``; call it from ``transaction.on_commit``."""
    POSTINGS.labels(source_type=str(source_type)).inc(count)


def statement_import_recorded(*, format, outcome, lines=0):
    """Count one statement import (``outcome``: imported, duplicate or rejected) and its new lines."""
    STATEMENT_IMPORTS.labels(format=str(format), outcome=str(outcome)).inc()
    if lines:
        STATEMENT_LINES.labels(format=str(format)).inc(lines)


def reconciliation_variance_set(*, bank_account_id, variance):
    """Publish the variance of a bank account's latest reconciliation."""
    RECONCILIATION_VARIANCE.labels(bank_account_id=str(bank_account_id)).set(float(Decimal(variance)))


def exposition():
    """Return ``(body, content_type)`` of every metric, summed over workers when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _PROCESS_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
