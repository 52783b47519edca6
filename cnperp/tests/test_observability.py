"""What operations see: request ids, one JSON log line per request, /ready, /metrics, and 503 on outages."""

import json
import logging
import socket

import pytest
from django.core.management import call_command
from django.db import connection

from cnperp.jsonlog import JsonFormatter, RequestIdFilter


@pytest.fixture
def request_lines(caplog):
    caplog.set_level(logging.INFO, logger="cnperp.request")

    def lines():
        formatter, stamp = JsonFormatter(), RequestIdFilter()
        records = [r for r in caplog.records if r.name == "cnperp.request"]
        for record in records:
            stamp.filter(record)
        return [json.loads(formatter.format(r)) for r in records]

    return lines


@pytest.mark.django_db
def test_a_request_id_from_the_client_is_echoed_and_logged(admin_api, request_lines):
    # when
    response = admin_api.get("/api/v1/banking/transactions", HTTP_X_REQUEST_ID="lb-7f3a.1")
    # then
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a.1"
    (line,) = request_lines()
    assert line["request_id"] == "lb-7f3a.1"
    assert line["user"] == "root-admin"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/banking/transactions", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "cnperp.request"


@pytest.mark.django_db
def test_a_request_without_an_id_gets_a_fresh_one_and_an_unsafe_id_is_replaced(client, request_lines):
    first = client.get("/health")
    second = client.get("/health", HTTP_X_REQUEST_ID="bad id\nINJECTED")
    assert len(first["X-Request-ID"]) == 32
    assert second["X-Request-ID"] != "bad id\nINJECTED" and len(second["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert [line["user"] for line in request_lines()] == [None, None]


def test_the_json_formatter_writes_one_line_with_extras():
    record = logging.LogRecord("cnperp.test", logging.WARNING, __file__, 1, "posted %s", ("jp-1",), None)
    record.account = "ba-op"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "posted jp-1" and data["account"] == "ba-op" and data["level"] == "WARNING"


@pytest.mark.django_db
def test_ready_answers_200_when_the_database_is_migrated(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "applied"}


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_ready_answers_503_naming_the_migration_that_is_not_applied(client):
    # given the ledger triggers' migration rolled back (as during a deployment's migrate)
    call_command("migrate", "accounting", "0001", verbosity=0)
    try:
        # when
        response = client.get("/ready")
    finally:
        call_command("migrate", verbosity=0)
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["migrations"] == "pending"
    # (the migrations after it, which depend on it, are pending too)
    assert body["pending"][:2] == [
        "accounting.0002_ledger_immutability_triggers",
        "accounting.0003_posting_chain",
    ]
    assert client.get("/ready").status_code == 200


@pytest.mark.django_db
def test_metrics_count_requests_by_method_and_status_and_time_them(client):
    # given
    client.get("/health")
    client.get("/no-such-page")
    # when
    response = client.get("/metrics")
    # then
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert 'cnperp_http_requests_total{method="GET",status="200"}' in text
    assert 'cnperp_http_requests_total{method="GET",status="404"}' in text
    assert 'cnperp_http_request_duration_seconds_bucket{le="0.5",method="GET",route="health"}' in text
    # The business figures come from the database (test_metrics_collector.py), never from
    # per-process counters that a command or another worker would not move.
    assert "cnperp_postings_total" not in text
    # Without DJANGO_METRICS_TOKEN the ledger's figures are not shown at all.
    assert "# TYPE cnperp_ledger_postings gauge" not in text


@pytest.mark.django_db
def test_metrics_show_the_ledgers_figures_only_to_the_scraper_with_the_token(client, settings):
    settings.METRICS_TOKEN = "scrape-me-2025"

    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    scraper = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-2025")

    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert "cnperp_ledger" not in anonymous.content.decode() + wrong.content.decode()
    assert scraper.status_code == 200
    assert "# TYPE cnperp_ledger_postings gauge" in scraper.content.decode()


def _closed_port():
    # A port nothing listens on: bound, then released.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_down():
    """Point the default connection at a port where no database listens; put it back afterwards."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = _closed_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_an_api_request_during_a_database_outage_gets_503_with_a_clear_body(admin_api, database_down):
    # when
    response = admin_api.get("/api/v1/banking/transactions", HTTP_X_REQUEST_ID="outage-1")
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["X-Request-ID"] == "outage-1"
    body = response.json()
    assert body["code"] == "database_unavailable" and "database is unavailable" in body["detail"]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_probes_say_503_during_an_outage_and_the_service_recovers_without_a_restart(client, database_down):
    # during the outage
    assert client.get("/health").status_code == 503
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    # when the database is back (the fixture's settings restored), the same process answers again
    connection.close()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_after_an_outage_the_next_request_reconnects_by_itself(client):
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = _closed_port()
    try:
        assert client.get("/health").status_code == 503
    finally:
        connection.settings_dict["PORT"] = saved_port
    # no restart, no manual reconnect: Django dropped the failed connection
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
