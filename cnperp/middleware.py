"""Every request: an id, one JSON log line, Prometheus counts, and 503 (not 500) when the database is down;
415 for a request whose Content-Type declares a charset that could spell what no text can hold.

A database outage is not a bug in the request, so it must not look like one: the
client gets ``503`` with ``Retry-After`` and a body that says what happened, the
load balancer can tell it from a 500, and the connection that failed is dropped
(Django closes a connection that raised) so the next request reconnects by
itself once the database is back.
"""

import codecs
import logging
import re
import sys
import time
import uuid

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject, empty

from cnperp import metrics
from cnperp.handlers import UNREADABLE_CHARSET
from cnperp.jsonlog import current_request_id

logger = logging.getLogger("cnperp.request")

# A client's id is echoed into logs and headers: keep it to safe characters.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
# Operational errors the request's own input causes, with the database up: a regular expression
# the server cannot compile (MariaDB 1139, MySQL 3685 to 3698). Counting them as outages let any
# query string raise the outage metric and answer "database unavailable".
INPUT_ERROR_CODES = frozenset({1139, *range(3685, 3699)})


def is_outage(exception):
    """Return whether ``exception`` means the database could not serve, rather than a bad request."""
    if not isinstance(exception, DATABASE_ERRORS):
        return False
    code = exception.args[0] if exception.args else None
    return code not in INPUT_ERROR_CODES


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
    if request is not None and is_outage(sys.exc_info()[1]):
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
        if is_outage(exception):
            return self._outage(request, exception)
        if isinstance(exception, DATABASE_ERRORS):
            return JsonResponse(
                {"detail": "A pattern in the query is not a valid regular expression.", "code": "invalid"},
                status=400,
            )
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
        # A client may send any method name; each would be a new series for ever.
        method = request.method if request.method in HTTP_METHODS else "other"
        metrics.HTTP_REQUESTS.labels(method=method, status=str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
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


# The request charsets accepted, as ``codecs.lookup(name).name`` spells them.
# Django decodes the query string (of any request, a GET included) and form
# bodies with the Content-Type header's charset, and Python has codecs whose
# decoders produce a lone UTF-16 surrogate (utf-7 reads "+2AA-" as U+D800;
# unicode_escape and raw_unicode_escape read "\ud800"; punycode, idna) or that
# are no text encoding at all (base64_codec, rot13, bz2_codec). No database
# column, log line or answer can hold such a string, so it ends in a 500. The
# decoders below cannot produce one: strict UTF-8 refuses encoded surrogates,
# ASCII is seven bits, and the single-byte tables (ISO-8859 and Windows code
# pages, KOI8) map every byte to a plain character. UTF-8 is the web's default;
# the tables are for older clients of European banks and ERPs.
ALLOWED_REQUEST_CHARSETS = frozenset(
    {
        "utf-8",
        "ascii",
        *(f"iso8859-{part}" for part in (1, 2, 3, 4, 5, 7, 9, 13, 15)),
        *(f"cp{page}" for page in range(1250, 1259)),
        "koi8-r",
        "koi8-u",
    }
)


def _normalised_charset(name):
    """Return Python's name for the codec ``name``, or None when Python knows no such codec."""
    try:
        return codecs.lookup(name).name
    except (LookupError, TypeError, ValueError):
        return None


class RequestCharsetMiddleware:
    """Answer 415 to a request whose Content-Type declares a charset outside the allow-list.

    It reads ``request.content_params``, the parameters Django parsed from the
    header and set ``request.encoding`` from, before any view or other
    middleware decodes the query string or the body. A charset Python does not
    know is refused too: Django would quietly read such a request as UTF-8,
    which is not what the client said it sent.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        params = getattr(request, "content_params", None) or {}
        if "charset" in params:
            charset = params["charset"]
            if _normalised_charset(charset) not in ALLOWED_REQUEST_CHARSETS:
                return unsupported_charset_response(charset)
        return self.get_response(request)


def unsupported_charset_response(charset):
    """Return the 415 answer for a request whose Content-Type names ``charset``."""
    if charset == UNREADABLE_CHARSET:
        declared = "a charset parameter that cannot be read"
    else:
        shown = charset if len(charset) <= 40 else charset[:40] + "..."
        known = "not one this service accepts" if _normalised_charset(charset) else "not a known encoding"
        declared = f'charset "{shown}", which is {known}'
    return JsonResponse(
        {
            "detail": (
                f"The Content-Type header declares {declared}. "
                "Send UTF-8 text: charset=utf-8, or no charset at all."
            ),
            "code": "unsupported_charset",
        },
        status=415,
    )
