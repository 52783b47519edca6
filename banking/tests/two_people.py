"""Two people through the API, as segregation of duties wants them: a clerk records, an accountant posts.

Import the fixtures into a test module (``from banking.tests.two_people import accountant, clerk,
ok, segregation``) and mark it ``pytest.mark.usefixtures("segregation")``.
"""

import pytest
from django.test import override_settings

from accounting.tests.factories import UserFactory
from cnperp.tests.api import client_for


@pytest.fixture
def segregation():
    with override_settings(BANKING_SEGREGATION_OF_DUTIES=True):
        yield


def staff_client(username):
    """An API client of a new superuser (every permission; the duties still apply to them)."""
    user = UserFactory(username=username)
    user.is_superuser = user.is_staff = True
    user.save()
    return client_for(user)


@pytest.fixture
def clerk():
    return staff_client("clerk")


@pytest.fixture
def accountant():
    return staff_client("accountant-2")


def ok(response, *codes):
    """The response's JSON, once its status is one of ``codes`` (200 or 201 by default)."""
    assert response.status_code in (codes or (200, 201)), (response.status_code, response.content)
    return response.json()
