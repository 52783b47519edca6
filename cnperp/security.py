"""Sign-in defences: failed-login lockout, API rate limits and the token endpoint.

Lockout: after ``LOGIN_LOCKOUT_FAILURES`` failed sign-ins for one username from
one address within ``LOGIN_LOCKOUT_MINUTES``, that pair is locked for the rest
of the window, even with the right password. It lives in the authentication
backend, so the admin login, the browsable API's login and the token endpoint
are all covered by the same code. Counters live in the default cache: with
several gunicorn workers, point ``DJANGO_CACHE_URL`` at a shared cache so the
workers count together.

Rate limits: ``cnperp.throttles`` (DRF's anonymous and per-user throttles).
"""

import hashlib
import unicodedata

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from cnperp.api import StrictCharField
from cnperp.client_address import client_address
from cnperp.throttles import AnonRateThrottle

LOCKOUT_PREFIX = "cnperp:login-failures:"


def _account(username):
    """Return what the failures are counted against: the account the database finds for ``username``.

    MariaDB compares usernames under its collation, so "MARY", "märy" and "mary"
    sign in to the same account; counting them apart gave each spelling its own
    allowance of guesses. The database's own match is used when it finds one
    account; otherwise (no such user, or a database that compares exactly) the
    name without case or accents.
    """
    from django.contrib.auth import get_user_model

    username = str(username or "")
    if username:
        model = get_user_model()
        field = model.USERNAME_FIELD
        found = list(model._default_manager.filter(**{field: username}).values_list(field, flat=True)[:2])
        if len(found) == 1:
            username = found[0]
    # The stored name without case or accents: the same count whichever spelling found it.
    plain = unicodedata.normalize("NFKD", username)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def _lockout_key(username, request):
    address = (client_address(request) if request is not None else "") or "-"
    # Hashed so any username (spaces, unicode, very long) makes a valid cache key.
    digest = hashlib.sha256(f"{_account(username)}|{address}".encode()).hexdigest()
    return LOCKOUT_PREFIX + digest


def _limits():
    return (
        int(getattr(settings, "LOGIN_LOCKOUT_FAILURES", 5)),
        int(getattr(settings, "LOGIN_LOCKOUT_MINUTES", 15)),
    )


def login_locked(key):
    """Return whether sign-ins counted under ``key`` (``_lockout_key``) are locked."""
    failures, _minutes = _limits()
    return failures > 0 and (cache.get(key) or 0) >= failures


def login_failure_record(key):
    """Count one failed sign-in; the window starts at the first failure."""
    failures, minutes = _limits()
    if failures <= 0:
        return
    if not cache.add(key, 1, timeout=minutes * 60):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=minutes * 60)


def login_failures_clear(key):
    cache.delete(key)


class LockoutModelBackend(ModelBackend):
    """Django's username/password backend, refusing a locked username+address pair."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        # Once per attempt: finding the account behind the name is a query.
        key = _lockout_key(username, request)
        if login_locked(key):
            # PermissionDenied stops authenticate() from trying other backends.
            raise PermissionDenied("Too many failed sign-ins; try again later.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(key)
        else:
            login_failures_clear(key)
        return user

    @staticmethod
    def _username_field():
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)


class TokenView(APIView):
    """Exchange a username and password for the user's API token (created on first use)."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        summary="Get an API token",
        description="Send a username and password; the answer is the user's token, to send as "
        "`Authorization: Token <key>`. After LOGIN_LOCKOUT_FAILURES failed attempts from one address "
        "the username is locked there for LOGIN_LOCKOUT_MINUTES (429).",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenAnswer", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Missing field, or wrong username or password."),
            429: OpenApiResponse(description="Locked after too many failed sign-ins, or rate limited."),
        },
        tags=["auth"],
    )
    def post(self, request):
        form = TokenRequestSerializer(data=request.data if request.data is not None else {})
        form.is_valid(raise_exception=True)
        username = form.validated_data["username"]
        locked = Response(
            {
                "detail": "Too many failed sign-ins for this username from this address; "
                f"try again in {_limits()[1]} minutes.",
                "code": "login_locked",
            },
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        key = _lockout_key(username, request._request)
        if login_locked(key):
            return locked
        user = authenticate(request._request, username=username, password=form.validated_data["password"])
        if user is None:
            if login_locked(key):
                return locked
            return Response(
                {"non_field_errors": ["Wrong username or password."]}, status=status.HTTP_400_BAD_REQUEST
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
