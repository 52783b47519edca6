"""One domain error type, mapped to a clear 4xx by one exception handler.

Services raise :class:`DomainError` (or a subclass) with a message finance staff
can act on and, where one field is at fault, the field's name. The API answers
``{"field": ["message"]}`` for field errors (DRF's own shape) and
``{"detail": "...", "code": "..."}`` otherwise.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message, *, field=None, code=None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_data(self):
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message, "code": self.code}


class ConflictError(DomainError):
    """The request is valid but the record's state forbids it (posted, reversed, closed)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class NotFoundError(DomainError):
    """A record the request names does not exist."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


def _missing_record(context):
    """Name the record a detail route did not find, as the services do (not "No BankTransfer matches
    the given query.", which names a class and not the id that was asked for)."""
    view = context.get("view")
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    wanted = (getattr(view, "kwargs", None) or {}).get(lookup)
    queryset = getattr(view, "queryset", None)
    if wanted is None or queryset is None:
        return None
    label = queryset.model._meta.verbose_name
    request = context.get("request")
    if request is not None and set(request.query_params) - {"format"}:
        # The record may exist and be left out by the request's own filters.
        return f'No {label} with the id "{wanted}" is among those this request\'s filters select.'
    return f'No {label} has the id "{wanted}".'


def api_exception_handler(exc, context):
    """Turn domain and model errors into 4xx answers; leave the rest to DRF."""
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF answers 403 when the first authenticator is the session one, which
        # offers no challenge; an API client without credentials must see 401,
        # and the token scheme is the challenge it can answer.
        exc.status_code = status.HTTP_401_UNAUTHORIZED
        exc.auth_header = "Token"
    if isinstance(exc, DomainError):
        return Response(exc.as_data(), status=exc.status_code)
    # Django's own two, as DRF converts them, so that the answer below can name its code.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_missing_record(context) or (exc.args[0] if exc.args else None))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        names = sorted({obj._meta.verbose_name for obj in exc.protected_objects})
        return Response(
            {
                "detail": "This record is still referred to by: " + ", ".join(names) + ".",
                "code": "protected",
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, list):
        # A bare list names no field; the answer is always an object (the schema's 400).
        exc = exceptions.ValidationError({"non_field_errors": exc.detail})
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and set(response.data) == {"detail"}:
        # DRF's own answers (an unknown record's 404, 403, 405, 415, 429) carry only
        # ``detail``; clients branch on ``code``, as they do for the domain errors.
        response.data["code"] = _code(exc)
    return response


def _code(exc):
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _is_api(request):
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    """A URL no route matches: JSON under ``/api/`` (clients parse it), Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": "No such endpoint or record.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """A request Django refuses before any view (a body over the limit): JSON under ``/api/``."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = (
            f"The request body is larger than the {limit:,} bytes a request may carry "
            "(a statement file goes as a multipart upload, which has its own limit)."
        )
        return JsonResponse({"detail": detail, "code": "request_too_large"}, status=413)
    return JsonResponse({"detail": "The request could not be read.", "code": "bad_request"}, status=400)


def server_error(request):
    """An unexpected failure: JSON under ``/api/``, Django's page elsewhere. Logged by Django."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "An unexpected error; it has been logged.", "code": "error"}, status=500
        )
    return defaults.server_error(request)
