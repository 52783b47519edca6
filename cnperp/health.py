"""Liveness for load balancers and cron: 200 when the database answers, 503 when not."""

from django.db import DatabaseError, connection
from django.http import JsonResponse


def health(request):
    """Return 200 with ``{"status": "ok"}`` when the database answers a query, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable", "detail": str(exc)[:200]},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok"})
