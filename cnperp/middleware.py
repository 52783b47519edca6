"""Every request: an id, one JSON log line, Prometheus counts, and 503 (not 500) when the database is down.

A database outage is not a bug in the request, so it must not look like one: the
client gets ``503`` with ``Retry-After`` and a body that says what happened, the
load balancer can tell it from a 500, and the connection that failed is dropped
(Django closes a connection that raised) so the next request reconnects by
itself once the database is back.
"""

import logging
import re
import sys
import time
import uuid

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject, empty

from cnperp import metrics
from cnperp.jsonlog import current_request_id

logger = logging.getLogger("cnperp.request")

# A client's id is echoed into logs and headers: keep it to safe characters.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def database_unavailable_response():
    """Return the 503 answer for a request the database could not serve."""
    response = JsonResponse(
        {
            "detail": (
                "The database is unavailable, so this request could not be completed. "
                "Retry in a few seconds; GET /ready says when the service is back."
            ),
            "code": "database_unavailable",
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def note_database_outage(sender, request=None, **kwargs):
    """Mark ``request`` when the exception Django is handling is a database outage."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        request.cnperp_database_down = True


def _username(request):
    # Only a user some layer already loaded: looking one up here would cost a
    # query per request, and fail when the database is down.
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    try:
        return user.get_username() if user.is_authenticated else None
    except DATABASE_ERRORS:
        return None


class RequestObservabilityMiddleware:
    """Give each request an id, log one JSON line for it, count it, and turn outages into 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            if response.status_code == 500 and getattr(request, "cnperp_database_down", False):
                response = self._outage(request)
            elapsed = time.perf_counter() - started
            response["X-Request-ID"] = request_id
            self._record(request, response, elapsed)
            return response
        finally:
            current_request_id.reset(token)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return self._outage(request, exception)
        return None

    def _outage(self, request, exception=None):
        metrics.DATABASE_UNAVAILABLE.inc()
        logger.error(
            "database unavailable",
            extra={"path": request.path, "error": str(exception or "")[:300]},
        )
        return database_unavailable_response()

    def _record(self, request, response, elapsed):
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        metrics.HTTP_REQUESTS.labels(method=request.method, status=str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method=request.method, route=route).observe(elapsed)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "user": _username(request),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
