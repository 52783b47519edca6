"""The service's public doors: health for load balancers, the docs, the schema."""

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


def test_redoc_serves_html(client):
    response = client.get("/redoc")
    assert response.status_code == 200
    assert b"redoc" in response.content.lower()


def test_the_schema_is_served_as_openapi(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/banking/transactions" in schema["paths"]
