"""Sign-in defences: failed-login lockout (admin and token endpoint), password validators, API rate limits."""

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
PASSWORD = "Correct-horse-2025"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mary():
    user = get_user_model().objects.create_user("mary", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="auditor"))
    return user


def token_request(password, *, address="10.0.0.1", username="mary"):
    client = APIClient(REMOTE_ADDR=address)
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def test_the_token_endpoint_gives_the_users_token(mary):
    response = token_request(PASSWORD)
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=mary).key}


def test_a_wrong_password_is_a_400_that_does_not_say_which_part_was_wrong(mary):
    for username in ("mary", "nobody"):
        response = token_request("wrong", username=username)
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Wrong username or password."]}


@override_settings(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=10)
def test_after_too_many_failures_the_username_is_locked_from_that_address(mary):
    # Given three failed attempts from one address
    for _attempt in range(3):
        assert token_request("guess").status_code in (400, 429)

    # When the right password comes from there
    response = token_request(PASSWORD)

    # Then it is refused with a clear answer, and no token is made
    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"
    assert "10 minutes" in response.json()["detail"]
    assert not Token.objects.exists()

    # But the same person from another address still gets in
    assert token_request(PASSWORD, address="10.0.0.2").status_code == 200


@override_settings(LOGIN_LOCKOUT_FAILURES=3)
def test_a_successful_sign_in_clears_the_count(mary):
    token_request("guess")
    token_request("guess")
    assert token_request(PASSWORD).status_code == 200
    token_request("guess")
    token_request("guess")
    assert token_request(PASSWORD).status_code == 200


@override_settings(LOGIN_LOCKOUT_FAILURES=3)
def test_the_admin_login_is_locked_the_same_way(mary):
    client = Client(REMOTE_ADDR="10.0.0.9")
    for _attempt in range(3):
        response = client.post("/admin/login/", {"username": "mary", "password": "guess"})
        assert response.status_code == 200  # the form again, with its error

    response = client.post("/admin/login/?next=/admin/", {"username": "mary", "password": PASSWORD})

    assert response.status_code == 200  # not the redirect into the admin
    assert "_auth_user_id" not in client.session
    elsewhere = Client(REMOTE_ADDR="10.0.0.10")
    assert (
        elsewhere.post("/admin/login/?next=/admin/", {"username": "mary", "password": PASSWORD}).status_code
        == 302
    )


@override_settings(LOGIN_LOCKOUT_FAILURES=3)
def test_the_admin_login_works_before_the_limit(mary):
    client = Client(REMOTE_ADDR="10.0.0.9")
    client.post("/admin/login/", {"username": "mary", "password": "guess"})
    response = client.post("/admin/login/?next=/admin/", {"username": "mary", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(mary.pk)


def test_djangos_password_validators_are_configured():
    names = {validator["NAME"].rsplit(".", 1)[-1] for validator in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
    for weak in ("short1", "password1234", "123456789012"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password(PASSWORD)


def test_create_api_user_refuses_a_weak_password_and_creates_nobody():
    with pytest.raises(CommandError, match=r"--password: .*too short"):
        call_command("create_api_user", "weak", "--password", "abc123", stdout=StringIO())
    assert not get_user_model().objects.filter(username="weak").exists()


def _rates(user, anon):
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": user, "anon": anon}}
    )


def test_a_user_beyond_the_rate_limit_gets_a_429_saying_when_to_come_back(mary):
    client = APIClient()
    client.force_authenticate(mary)
    with _rates("3/minute", None):
        answers = [client.get("/api/v1/banking/transactions").status_code for _request in range(3)]
        response = client.get("/api/v1/banking/transactions")
    assert 429 not in answers
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled. Expected available in")
    assert int(response["Retry-After"]) > 0


def test_each_user_has_their_own_allowance(mary):
    ben = get_user_model().objects.create_user("ben")
    ben.groups.add(Group.objects.get(name="auditor"))
    with _rates("2/minute", None):
        for user in (mary, ben):
            client = APIClient()
            client.force_authenticate(user)
            assert [client.get("/api/v1/banking/transactions").status_code for _r in range(3)][-1] == 429


def test_anonymous_requests_have_a_rate_limit_per_address(mary):
    # DRF throttles after the permission check, so strangers meet the limit where they
    # are let in at all: the token endpoint, the door a password guesser knocks on.
    with _rates(None, "2/minute"):
        answers = [token_request("guess", username=f"user{n}").status_code for n in range(3)]
        elsewhere = token_request(PASSWORD, address="10.0.0.2")
    assert answers == [400, 400, 429]
    assert elsewhere.status_code == 200


def test_the_suite_runs_without_rate_limits():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"anon": None, "user": None}


def _forwarded_token_request(forwarded, *, address="10.0.0.1", username="mary", password="guess"):
    client = APIClient(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def test_a_made_up_forwarded_address_does_not_escape_the_anonymous_limit(mary):
    # Without a proxy in front, X-Forwarded-For is whatever the caller wrote.
    with _rates(None, "2/minute"):
        answers = [
            _forwarded_token_request(f"203.0.113.{n}", username=f"user{n}").status_code for n in range(3)
        ]
    assert answers == [400, 400, 429]


@override_settings(TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_limit_counts_the_address_the_proxy_saw(mary):
    # nginx appends the address it saw: what the client wrote stays on the left.
    with _rates(None, "2/minute"):
        answers = [
            _forwarded_token_request(
                f"203.0.113.{n}, 198.51.100.7", username=f"user{n}", address="127.0.0.1"
            ).status_code
            for n in range(3)
        ]
        other_client = _forwarded_token_request("198.51.100.8", address="127.0.0.1", password=PASSWORD)
    assert answers == [400, 400, 429]
    assert other_client.status_code == 200


@override_settings(LOGIN_LOCKOUT_FAILURES=2, TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_lockout_is_per_client_not_per_proxy(mary):
    for _attempt in range(2):
        _forwarded_token_request("198.51.100.7", address="127.0.0.1")
    locked = _forwarded_token_request("198.51.100.7", address="127.0.0.1", password=PASSWORD)
    elsewhere = _forwarded_token_request("198.51.100.8", address="127.0.0.1", password=PASSWORD)
    assert locked.status_code == 429
    assert elsewhere.status_code == 200


def test_the_audit_trail_records_the_connections_address_not_a_made_up_header(mary):
    from auditlog.models import LogEntry

    from dimensions.models import CostCenter

    mary.is_superuser = True
    mary.save()
    client = APIClient(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6")
    client.force_authenticate(mary)
    body = {"code": "CC-XFF", "name": "Forwarded"}
    response = client.post("/api/v1/dimensions/cost-centers", body, format="json")
    assert response.status_code == 201, response.content
    entry = LogEntry.objects.get_for_object(CostCenter.objects.get(code="CC-XFF")).get()
    assert entry.remote_addr == "10.0.0.9"
