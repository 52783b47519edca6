"""The whole API schema validates without a warning, and every endpoint refuses strangers.

Both tests walk everything mounted under ``/api/v1/``, including the routes other
modules add, so a new endpoint cannot skip documentation or authentication.
"""

import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from rest_framework.authtoken.models import Token

from banking.api.views import BankTransactionViewSet
from cnperp.tests.api import user_with_perms


def test_the_schema_validates_without_warnings(tmp_path):
    from drf_spectacular.drainage import GENERATOR_STATS

    # given a clean warning counter
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yml"
    # when (--fail-on-warn raises on any warning or error, --validate checks OpenAPI 3)
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    # then
    assert not GENERATOR_STATS
    text = target.read_text()
    assert "/api/v1/banking/transactions/{id}:" in text


def _api_patterns():
    """Yield (route, callback) for every view under /api/v1/."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route, entry.callback

    yield from walk(api.url_patterns, "/api/v1/")


SAMPLE_VALUES = ("x1", "2025-10", "1")


def _concrete_urls():
    """One concrete URL per route, with each parameter filled by a value the route accepts."""
    urls = []
    for route, callback in _api_patterns():
        for sample in SAMPLE_VALUES:
            url = re.sub(r"\(\?P<\w+>[^)]*\)|<(?:\w+:)?\w+>", sample, route)
            try:
                match = resolve(url)
            except Resolver404:
                continue
            if match.func is callback:
                urls.append(url)
                break
        else:
            raise AssertionError(f"No sample value fits the route {route!r}; extend SAMPLE_VALUES.")
    return sorted(set(urls))


# Where a stranger gets a token: the one endpoint open without credentials.
PUBLIC_URLS = {"/api/v1/auth/token"}
API_URLS = [url for url in _concrete_urls() if url not in PUBLIC_URLS]


def test_every_router_endpoint_is_walked():
    assert "/api/v1/banking/transactions" in API_URLS
    assert "/api/v1/banking/transactions/x1" in API_URLS
    assert "/api/v1/dimensions/cost-centers" in API_URLS
    assert "/api/v1/accounting/journal-entries/x1" in API_URLS


@pytest.mark.django_db
@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_endpoint_answers_401_without_credentials(api_client, url, method):
    # when a client sends no credentials
    response = getattr(api_client, method)(url, {}, format="json")
    # then it is told to authenticate, and how
    assert response.status_code == 401, (url, response.status_code, response.content[:200])
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_a_bad_token_answers_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/v1/banking/transactions")
    assert response.status_code == 401


@pytest.mark.django_db
def test_token_authentication_works(api_client):
    # given a user allowed to read transactions, and their token
    user = user_with_perms("reader", "banking.view_banktransaction")
    token = Token.objects.create(user=user)
    # when
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api_client.get("/api/v1/banking/transactions")
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("app", ["dimensions", "accounting", "banking"])
def test_each_api_root_lists_its_endpoints_for_a_signed_in_user(admin_api, app):
    response = admin_api.get(f"/api/v1/{app}/")
    assert response.status_code == 200
    assert response.json()


def test_the_transaction_detail_route_does_not_swallow_deeper_routes():
    # given the detail route ^transactions/<id>$ and the guide's post-accounting route
    match = resolve("/api/v1/banking/transactions/smoke-test.1")
    assert match.func.cls is BankTransactionViewSet
    assert match.kwargs == {"pk": "smoke-test.1"}
    # then a deeper path never reaches the transaction viewset
    try:
        deeper = resolve("/api/v1/banking/transactions/smoke-test-1/post-accounting")
    except Resolver404:
        return
    assert getattr(deeper.func, "cls", None) is not BankTransactionViewSet


def _router_list_urls():
    from accounting.api.urls import router as accounting_router
    from banking.api.urls import router as banking_router
    from dimensions.api.urls import router as dimensions_router

    for app, router in (
        ("dimensions", dimensions_router),
        ("accounting", accounting_router),
        ("banking", banking_router),
    ):
        for prefix, _viewset, _basename in router.registry:
            yield f"/api/v1/{app}/{prefix}"


@pytest.mark.django_db
@pytest.mark.parametrize("url", sorted(_router_list_urls()))
def test_the_browsable_api_renders_each_list_with_its_forms(client, superuser, url):
    # given a signed-in session, as in a browser
    client.force_login(superuser)
    # when
    response = client.get(url, HTTP_ACCEPT="text/html")
    # then
    assert response.status_code == 200
    assert b"<html" in response.content


@pytest.mark.django_db
def test_the_api_root_links_each_apps_root_and_the_banking_root_reaches_every_banking_page(admin_api):
    root = admin_api.get("/api/v1/")
    assert root.status_code == 200
    links = root.json()
    assert links["banking"] == "http://testserver/api/v1/banking/"
    assert {"dimensions", "accounting", "auth/token", "schema", "docs"} <= set(links)
    for app in ("dimensions", "accounting", "banking"):
        assert admin_api.get(links[app]).status_code == 200

    banking = admin_api.get(links["banking"]).json()
    # The reports, the import and the reconciliation are no viewsets; the page links them too.
    for page in ("cash-position", "variance-report", "transfer-tracking", "statements", "reconciliation"):
        assert banking[page] == f"http://testserver/api/v1/banking/{page}"
    assert banking["statements/import"] == "http://testserver/api/v1/banking/statements/import"
    assert banking["transactions"] == "http://testserver/api/v1/banking/transactions"


@pytest.mark.django_db
def test_the_api_root_needs_a_signed_in_user(api_client):
    response = api_client.get("/api/v1/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type, for a JSON Schema validator."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" not in node:
            return {"anyOf": [node, {"type": "null"}]}
        node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


def _generated_schema():
    import json

    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def _responses(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                yield f"{method.upper()} {path} {status}", response


def test_every_example_in_the_schema_is_an_answer_its_schema_accepts():
    # The variance report's and transfer tracking's examples left out parts every answer has
    # (by_status, the rows by dimension): a client generated from the schema would refuse them.
    import jsonschema

    schema = _generated_schema()
    components = _json_schema(schema["components"])
    checked, problems = 0, []
    for where, response in _responses(schema):
        for media_type, content in response.get("content", {}).items():
            for name, example in (content.get("examples") or {}).items():
                validator = jsonschema.Draft202012Validator(
                    {**_json_schema(content["schema"]), "components": components}
                )
                checked += 1
                problems += [
                    f"{where} {media_type} {name}: {list(error.absolute_path)} {error.message[:120]}"
                    for error in validator.iter_errors(example["value"])
                ]
    assert checked >= 5  # the four reports and the reconciliation show one each
    assert problems == []


def test_every_error_answer_is_documented_as_json_only():
    # The reports listed text/csv and XLSX bodies for their 400, 401, 403 and 404: an error is JSON.
    errors = {
        where: sorted(response["content"])
        for where, response in _responses(_generated_schema())
        if where.rsplit(" ", 1)[1][0] in "45" and "content" in response
    }
    assert errors
    assert {where: types for where, types in errors.items() if types != ["application/json"]} == {}
