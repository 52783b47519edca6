"""Fixtures shared by every app's tests."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("mysql"):
        return
    skip = pytest.mark.skip(reason="needs MariaDB/MySQL; this run is on " + engine.rsplit(".", 1)[-1])
    for item in items:
        if "mariadb" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_mariadb():
    return connection.vendor == "mysql"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root-admin", "root@example.com", "s3cret-pass-1")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def admin_api(superuser):
    """An API client signed in as a superuser."""
    client = APIClient()
    client.force_authenticate(superuser)
    return client


def _is_transactional(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return "transactional_db" in request.fixturenames or "live_server" in request.fixturenames


@pytest.fixture(autouse=True)
def _ledger_flush_allowed(request):
    """Let Django's flush after a transactional test empty the ledger tables on MariaDB.

    The flush DELETEs every row, which the immutability triggers refuse
    (accounting/migrations/0002). Just before it, the test's own connection sets
    the operators' maintenance variable; Django closes that connection right
    after the flush, so no later test or request ever runs with it set.
    """
    if not _is_transactional(request):
        yield
        return
    # Set up (or reuse) the database fixture first, so this teardown runs before its flush.
    request.getfixturevalue("_django_db_helper")
    yield
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET @cnperp_ledger_maintenance = 1")
