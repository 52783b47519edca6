"""The service's public doors: health for load balancers, the docs, the schema."""

import re

import pytest


@pytest.mark.django_db
def test_health_answers_200_when_the_database_answers(api_client):
    # when
    response = api_client.get("/health")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_docs_serve_swagger_ui(client):
    # when
    response = client.get("/docs")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content
    _served_from_our_own_static_files(response.content.decode())


def test_redoc_serves_html(client):
    response = client.get("/redoc")
    assert response.status_code == 200
    assert b"redoc" in response.content.lower()
    _served_from_our_own_static_files(response.content.decode())


def _served_from_our_own_static_files(page):
    # Without internet access (or when a CDN's @latest changes) the pages went blank: their
    # scripts come from the app's static files (drf-spectacular-sidecar), each one found.
    from django.conf import settings
    from django.contrib.staticfiles import finders

    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page
    scripts = re.findall(r'src="([^"]+\.js)"', page)
    assert scripts, page[:500]
    for src in scripts:
        assert src.startswith(settings.STATIC_URL), src
        assert finders.find(src[len(settings.STATIC_URL) :]), src


def test_the_schema_is_served_as_openapi(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/banking/transactions" in schema["paths"]
