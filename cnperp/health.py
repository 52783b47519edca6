"""Probes for load balancers, cron and Prometheus.

- ``/health``: liveness; 200 when the database answers, 503 when not.
- ``/ready``: readiness; 200 only when the database answers AND every migration
  on disk is applied, so a new release takes traffic only after ``migrate``.
- ``/metrics``: Prometheus exposition (``cnperp.metrics``).
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from cnperp import metrics

logger = logging.getLogger("cnperp.health")


def _database_error():
    """Return ``None`` when the database answers ``SELECT 1``, else what to tell the caller.

    The driver's own text names the database account and host ("Access denied for
    user 'cnperp'@'10.0.0.5'"); the probes answer anyone, so it goes to the log only.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("The database does not answer.")
        return "The database does not answer; the application log has the error."
    return None


def health(request):
    """Return 200 with ``{"status": "ok"}`` when the database answers a query, else 503."""
    error = _database_error()
    if error is not None:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable", "detail": error},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok"})


def pending_migrations():
    """Return the names (``app.migration``) of migrations on disk that the database lacks."""
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return [f"{m.app_label}.{m.name}" for m, _backwards in executor.migration_plan(targets)]


@require_GET
def ready(request):
    """Return 200 when the database answers and is fully migrated, else 503 saying which is missing."""
    error = _database_error()
    if error is not None:
        return JsonResponse(
            {
                "status": "not ready",
                "database": "unreachable",
                "migrations": "unknown",
                "detail": error,
            },
            status=503,
        )
    try:
        pending = pending_migrations()
    except DatabaseError:
        logger.exception("The migrations could not be read.")
        return JsonResponse(
            {
                "status": "not ready",
                "database": "error",
                "migrations": "unknown",
                "detail": "The migrations could not be read; the application log has the error.",
            },
            status=503,
        )
    if pending:
        return JsonResponse(
            {
                "status": "not ready",
                "database": "ok",
                "migrations": "pending",
                "pending": pending,
                "detail": "Run manage.py migrate before sending traffic here.",
            },
            status=503,
        )
    return JsonResponse({"status": "ready", "database": "ok", "migrations": "applied"})


@require_GET
def prometheus_metrics(request):
    """Return the metrics in the Prometheus text format.

    The ledger's figures (each account's variance and sign-off, drafts, postings
    per month) are financial data: with ``DJANGO_METRICS_TOKEN`` set, only a
    scraper sending it gets an answer (401 otherwise); without it, anyone gets
    the process metrics and nothing of the ledger.
    """
    token = settings.METRICS_TOKEN
    if not token:
        body, content_type = metrics.exposition(ledger=False)
        return HttpResponse(body, content_type=content_type)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is needed (DJANGO_METRICS_TOKEN).\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
