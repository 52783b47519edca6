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
