"""Helpers for API tests: users holding exactly the permissions a test names."""

from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounting.tests.factories import UserFactory


def user_with_perms(username, *perms):
    """Return a user holding ``perms`` (``"banking.view_banktransaction"``) and nothing else."""
    user = UserFactory(username=username)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response):
    """The ids on one page of a list answer, in order."""
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]
