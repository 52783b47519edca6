"""A request's declared charset: only plain text encodings, else 415 before anything is decoded.

Django decodes the query string and form bodies with the Content-Type header's
charset, for any request (a GET included), and utf-7 spells a lone UTF-16
surrogate ("+2AA-" is U+D800), which no database column or answer can hold: a
search, a filter or a form field carrying one used to end in a 500. Given such a
header, when a client sends it to the API, the admin or the workbench, then the
answer is 415 naming the header and the charset, and nothing changed. UTF-8, no
charset and Latin-1 work as before. All through the real test client.
"""

import datetime
import json
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.test import Client, RequestFactory
from django.test.client import encode_multipart
from django.urls import reverse
from rest_framework.test import APIClient

from banking.models import BankTransaction
from banking.tests.factories import BankAccountFactory, BankTransactionFactory
from cnperp.tests.admin_pages import changelist_url

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
TRANSACTIONS = "/api/v1/banking/transactions"
# utf-7 for U+D800, a lone surrogate; "%2B" is the "+" once percent-encoded.
SURROGATE_UTF7 = "+2AA-"
DRAFT = {
    "bank_account_id": "ba-op",
    "transaction_type": "deposit",
    "direction": "in",
    "amount": "12.00",
    "transaction_date": "2025-10-16",
}
# Each decodes some input into a lone surrogate, or is no text encoding at all
# (utf-16 is merely not on the list); written as clients write them (any case, quoted).
REFUSED = [
    "utf-7",
    "UTF-7",
    '"utf-7"',
    "unicode_escape",
    "raw_unicode_escape",
    "punycode",
    "idna",
    "base64_codec",
    "rot13",
    "bz2_codec",
    "utf-16",
]
# Python knows no such codec. Django ignores it and reads the request as UTF-8;
# it is refused all the same, since the client said it sent something else.
UNKNOWN = ["x-no-such-charset", "utf8mb4", ""]
ACCEPTED = [
    "utf-8",
    "UTF-8",
    "utf8",
    '"utf-8"',
    "us-ascii",
    "latin-1",
    "iso-8859-1",
    "iso-8859-15",
    "cp1252",
    "iso-8859-2",
    "windows-1250",
    "koi8-r",
]


@pytest.fixture
def account():
    return BankAccountFactory(id="ba-op", name="Operating account")


@pytest.fixture
def transaction(account):
    return BankTransactionFactory(
        id="bt-1", bank_account=account, amount=Decimal("10.00"), transaction_date=datetime.date(2025, 10, 15)
    )


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def form_body(fields):
    """``fields`` urlencoded, each value already spelled in the charset the request declares."""
    return "&".join(f"{quote(key)}={quote(value, safe='')}" for key, value in fields.items())


def content_type(media_type, charset):
    return media_type if charset is None else f"{media_type}; charset={charset}"


def assert_unsupported(response, charset):
    assert response.status_code == 415, response.content[:300]
    body = response.json()
    assert body["code"] == "unsupported_charset"
    assert "Content-Type" in body["detail"]
    assert f'charset "{charset.strip(chr(34))}"' in body["detail"]
    assert "UTF-8" in body["detail"]
    # Refused inside the observability middleware: logged and counted like any answer,
    # and inside the security middleware: its headers are on the refusal too.
    assert response["X-Request-ID"]
    assert response["X-Content-Type-Options"] == "nosniff"


def get(client, url, query=None, declared=None):
    """GET ``url`` with the Content-Type header ``declared`` (DRF's client takes it as ``content_type``)."""
    if declared is None:
        return client.get(url, query)
    if isinstance(client, APIClient):
        return client.get(url, query, content_type=declared)
    return client.get(url, query, CONTENT_TYPE=declared)


def snapshot():
    return list(BankTransaction.objects.order_by("pk").values_list())


# --- Writes -------------------------------------------------------------------


@pytest.mark.parametrize("charset", REFUSED + UNKNOWN)
def test_a_form_post_to_the_api_in_a_refused_charset_is_415_and_records_nothing(admin_api, account, charset):
    before = snapshot()
    body = form_body({**DRAFT, "description": SURROGATE_UTF7, "reference": SURROGATE_UTF7})

    response = admin_api.generic("POST", TRANSACTIONS, body, content_type=content_type(FORM, charset))

    assert_unsupported(response, charset)
    assert snapshot() == before


@pytest.mark.parametrize("media_type", ["multipart", "application/json"])
def test_other_bodies_in_utf7_are_415_too(admin_api, account, media_type):
    before = snapshot()
    fields = {**DRAFT, "description": SURROGATE_UTF7}
    if media_type == "multipart":
        boundary = "BoUnDaRy"
        body = encode_multipart(boundary, fields)
        declared = f"multipart/form-data; boundary={boundary}; charset=utf-7"
    else:
        body = json.dumps({**fields, "description": SURROGATE_UTF7})
        declared = "application/json; charset=utf-7"

    response = admin_api.generic("POST", TRANSACTIONS, body, content_type=declared)

    assert_unsupported(response, "utf-7")
    assert snapshot() == before


@pytest.mark.parametrize("charset", [None, "utf-8", "latin-1", "cp1252"])
def test_a_form_post_in_utf8_no_charset_or_latin1_is_recorded(admin_api, account, charset):
    # "Café" in the declared charset: é is one byte in Latin-1 and cp1252, two in UTF-8.
    description = "Café".encode(charset or "utf-8")
    body = form_body(DRAFT) + "&description=" + quote(description, safe="")

    response = admin_api.generic("POST", TRANSACTIONS, body, content_type=content_type(FORM, charset))

    assert response.status_code == 201, response.content[:300]
    assert BankTransaction.objects.get(pk=response.json()["id"]).description == "Café"


def test_signing_in_to_the_admin_in_utf7_is_415_and_signs_nobody_in(superuser):
    client = Client()
    body = form_body({"username": "root-admin", "password": "s3cret-pass-1", "next": "/admin/"})

    response = client.generic("POST", reverse("admin:login"), body, content_type=f"{FORM}; charset=utf-7")

    assert_unsupported(response, "utf-7")
    assert "_auth_user_id" not in client.session
    superuser.refresh_from_db()
    assert superuser.last_login is None


@pytest.mark.parametrize("charset", [None, "utf-8"])
def test_signing_in_to_the_admin_in_utf8_works(superuser, charset):
    client = Client()
    body = form_body({"username": "root-admin", "password": "s3cret-pass-1", "next": "/admin/"})

    response = client.generic("POST", reverse("admin:login"), body, content_type=content_type(FORM, charset))

    assert response.status_code == 302, response.content[:300]
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_an_admin_form_in_latin1_is_still_djangos_own_400(superuser):
    # Django reads an urlencoded form it parses itself as UTF-8 only; the middleware lets it be.
    client = Client()
    body = form_body({"username": "root-admin", "password": "s3cret-pass-1"})

    response = client.generic("POST", reverse("admin:login"), body, content_type=f"{FORM}; charset=latin-1")

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


# --- Reads: a GET's query string is decoded with the declared charset too -------


def target(read):
    """The client fixture, the URL and the query (carrying a lone surrogate in utf-7) of ``read``."""
    return {
        "admin changelist": ("admin_client", changelist_url(BankTransaction), {"q": SURROGATE_UTF7}),
        "workbench lines": (
            "admin_client",
            reverse("admin:banking_bankaccount_reconcile_api", args=["ba-op", "2025-10", "lines"]),
            {"status": "all", "q": SURROGATE_UTF7},
        ),
        "workbench books": (
            "admin_client",
            reverse("admin:banking_bankaccount_reconcile_api", args=["ba-op", "2025-10", "books"]),
            {"status": "all", "q": SURROGATE_UTF7},
        ),
        "API search": ("admin_api", TRANSACTIONS, {"search": SURROGATE_UTF7}),
    }[read]


READS = ["admin changelist", "workbench lines", "workbench books", "API search"]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("charset", ["utf-7", "unicode_escape", "x-no-such-charset"])
def test_a_get_declaring_a_refused_charset_is_415_not_500(request, transaction, read, charset):
    fixture, url, query = target(read)
    client = request.getfixturevalue(fixture)
    if charset == "unicode_escape":
        query = {key: "\\ud800" if value == SURROGATE_UTF7 else value for key, value in query.items()}

    response = get(client, url, query, f"{FORM}; charset={charset}")

    assert_unsupported(response, charset)


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("charset", [None, "utf-8", "latin-1"])
def test_a_get_in_utf8_no_charset_or_latin1_works(request, transaction, read, charset):
    fixture, url, query = target(read)
    client = request.getfixturevalue(fixture)
    response = get(client, url, query, content_type(FORM, charset))

    assert response.status_code == 200, response.content[:300]


def test_a_latin1_search_finds_what_it_spells(admin_api, transaction):
    BankTransactionFactory(bank_account=transaction.bank_account, reference="Café-7")
    # "Caf%E9" is "Café" in Latin-1, and would not decode as UTF-8.
    response = get(admin_api, f"{TRANSACTIONS}?search=Caf%E9", declared=f"{FORM}; charset=latin-1")

    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == ["Café-7"]


# --- The rule itself ------------------------------------------------------------


@pytest.mark.parametrize("charset", ACCEPTED)
def test_plain_text_charsets_pass(admin_api, charset):
    response = get(admin_api, TRANSACTIONS, declared=f"application/json; charset={charset}")

    assert response.status_code == 200, response.content[:300]


def test_django_itself_ignores_an_unknown_charset():
    # Why the middleware refuses one: Django would read the request as UTF-8.
    request = RequestFactory().get("/", CONTENT_TYPE="text/plain; charset=x-no-such-charset")

    assert request.encoding is None
    assert request.content_params == {"charset": "x-no-such-charset"}


def test_an_unknown_charset_is_named_as_unknown(admin_api):
    response = get(admin_api, TRANSACTIONS, declared="text/plain; charset=x-no-such-charset")

    assert_unsupported(response, "x-no-such-charset")
    assert "not a known encoding" in response.json()["detail"]


def test_a_long_charset_is_not_echoed_whole(admin_api):
    response = get(admin_api, TRANSACTIONS, declared="text/plain; charset=" + "x" * 5000)

    assert response.status_code == 415
    assert len(response.content) < 500


def test_nothing_is_refused_without_a_charset(admin_api):
    assert get(admin_api, TRANSACTIONS, declared="text/plain").status_code == 200


def test_the_schema_documents_the_charset_refusal_on_every_operation_with_a_body():
    schema = APIClient().get("/api/schema", {"format": "json"}).json()
    posts = [item["post"] for item in schema["paths"].values() if "post" in item]

    assert posts
    for operation in posts:
        assert "unsupported_charset" in operation["responses"]["415"]["description"], operation["operationId"]


# Content-Type headers whose charset parameter Django cannot even parse (RFC 2231 form):
# the name itself decodes to a lone surrogate, names a codec with a NUL, or an unknown one.
UNPARSABLE_CHARSETS = [
    "application/json; charset*=utf-7''%2B2AA-",
    "application/json; charset*=utf-8''utf-8%00",
    "application/json; charset*=x-nope''a",
]


def _through_the_wsgi_entry_point(content_type):
    """Call the application gunicorn and runserver serve, as a server would, and return the answer."""
    import io
    from wsgiref.util import setup_testing_defaults

    from django.core import signals
    from django.db import close_old_connections

    from cnperp.wsgi import application

    environ = {}
    setup_testing_defaults(environ)
    environ.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": TRANSACTIONS,
            "HTTP_HOST": "testserver",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": "2",
            "wsgi.input": io.BytesIO(b"{}"),
        }
    )
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    # As Django's test client does: the test's transaction must outlive the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        answer["body"] = b"".join(application(environ, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer


@pytest.mark.parametrize("content_type", UNPARSABLE_CHARSETS)
def test_a_charset_parameter_django_cannot_parse_is_a_logged_415_not_a_500(content_type):
    answer = _through_the_wsgi_entry_point(content_type)

    assert answer["status"] == 415, answer
    body = json.loads(answer["body"])
    assert body["code"] == "unsupported_charset"
    assert "charset parameter that cannot be read" in body["detail"]
    assert answer["headers"]["X-Request-ID"]
    assert BankTransaction.objects.count() == 0


def test_the_wsgi_entry_point_still_reads_a_plain_json_request():
    answer = _through_the_wsgi_entry_point("application/json; charset=utf-8")

    assert answer["status"] == 401  # read, then refused for want of credentials


def test_no_accepted_request_charset_can_spell_a_lone_surrogate():
    from cnperp.middleware import ALLOWED_REQUEST_CHARSETS

    # Single-byte tables: every byte is a plain character (or undefined).
    for codec in ALLOWED_REQUEST_CHARSETS - {"utf-8"}:
        text = bytes(range(256)).decode(codec, errors="ignore")
        assert not any(0xD800 <= ord(char) <= 0xDFFF for char in text), codec
    # Strict UTF-8 refuses an encoded surrogate.
    with pytest.raises(UnicodeDecodeError):
        b"\xed\xa0\x80".decode("utf-8")
