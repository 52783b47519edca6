"""Strangers are refused everywhere: every operation of the schema, every admin screen.

``test_schema.py`` walks the URL resolver; this walks the published schema
(every path and every method it documents) and the admin's registry, so an
endpoint cannot be missed by either.
"""

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# The only operation open to strangers: where they exchange a password for a token.
PUBLIC_OPERATIONS = {("post", "/api/v1/auth/token")}
METHODS = ("get", "post", "put", "patch", "delete")


def _operations():
    schema = APIClient().get("/api/schema", {"format": "json"}).json()
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item and (method, path) not in PUBLIC_OPERATIONS:
                yield method, re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture(scope="module")
def operations(django_db_blocker):
    with django_db_blocker.unblock():
        return sorted(_operations())


def test_the_schema_documents_every_app(operations):
    paths = {path for _method, path in operations}
    for prefix in ("/api/v1/dimensions/", "/api/v1/accounting/", "/api/v1/banking/"):
        assert any(path.startswith(prefix) for path in paths), prefix
    assert len(operations) > 90


@pytest.mark.parametrize("credentials", [None, "Token not-a-real-token", "Bearer x", "Basic cm9vdDpyb290"])
def test_every_operation_refuses_a_stranger_with_401(operations, credentials):
    client = APIClient()
    if credentials:
        client.credentials(HTTP_AUTHORIZATION=credentials)
    wrong = {}
    for method, path in operations:
        response = getattr(client, method)(path, {}, format="json")
        if response.status_code != 401 or response.get("WWW-Authenticate") != "Token":
            wrong[f"{method.upper()} {path}"] = response.status_code
    assert wrong == {}


def test_the_token_endpoint_is_the_one_door_open_and_gives_nothing_away():
    response = APIClient().post("/api/v1/auth/token", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_every_admin_screen_sends_a_stranger_to_the_login():
    client = Client()
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
