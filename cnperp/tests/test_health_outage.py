"""``/health`` says 503, with a clear body, while the database cannot be reached."""

import pytest
from django.db import connection


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_health_answers_503_while_the_database_is_unreachable(client):
    # Given the database connection points at a port where nothing listens,
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1
    try:
        # when a load balancer asks,
        response = client.get("/health")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    # then it hears 503 and why, not a 500.
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    # And once the database is back, /health is 200 again without a restart.
    assert client.get("/health").status_code == 200
