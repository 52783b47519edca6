"""Settings read from the environment, and the MySQL session they produce."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from cnperp.settings import database_from_url


def test_a_mysql_url_gets_strict_mode_read_committed_and_utf8mb4():
    config = database_from_url("mysql://cnperp:pw@db.internal:3306/cnperp")
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert (config["NAME"], config["HOST"], config["PORT"], config["USER"]) == (
        "cnperp",
        "db.internal",
        3306,
        "cnperp",
    )
    assert config["OPTIONS"]["charset"] == "utf8mb4"
    assert config["OPTIONS"]["isolation_level"] == "read committed"
    assert "STRICT_TRANS_TABLES" in config["OPTIONS"]["init_command"]


def test_a_sqlite_url_is_the_embedded_default():
    config = database_from_url("sqlite:////tmp/cnperp.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/tmp/cnperp.sqlite3"


def test_thresholds_are_decimals_with_the_guides_defaults():
    # The suite runs without the variables set, so the guide's defaults apply.
    assert settings.BANKING_RECONCILIATION_THRESHOLD == Decimal("1000.00")
    assert settings.BANKING_VARIANCE_ALERT_THRESHOLD == Decimal("5000.00")


@pytest.mark.mariadb
@pytest.mark.django_db
def test_the_live_mariadb_session_is_strict_and_read_committed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode, @@SESSION.tx_isolation, @@character_set_connection")
        sql_mode, isolation, charset = cursor.fetchone()
    assert "STRICT_TRANS_TABLES" in sql_mode
    assert isolation == "READ-COMMITTED"
    assert charset == "utf8mb4"
