"""``manage.py create_api_user``: a login for people, a token for systems."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("create_api_user", *args, stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    return lines


def test_a_new_superuser_gets_a_password_and_a_working_token():
    # when
    printed = run("admin", "--superuser")
    # then
    user = get_user_model().objects.get(username="admin")
    assert set(printed) == {"username", "password", "token"}
    assert printed["username"] == "admin"
    assert user.is_staff and user.is_superuser
    assert user.check_password(printed["password"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printed['token']}")
    assert client.get("/api/v1/banking/transactions").status_code == 200


def test_running_it_again_keeps_the_password_and_the_token():
    first = run("clerk1", "--password", "Given-pass-123")
    second = run("clerk1")
    assert first["password"] == "Given-pass-123"
    assert "password" not in second
    assert second["token"] == first["token"]
    assert get_user_model().objects.get(username="clerk1").check_password("Given-pass-123")


def test_reset_password_sets_and_prints_a_new_one():
    first = run("admin", "--superuser", "--reset-password")
    second = run("admin", "--superuser", "--reset-password")
    assert first["password"] != second["password"]
    assert get_user_model().objects.get(username="admin").check_password(second["password"])
    assert Token.objects.filter(user__username="admin").count() == 1


def test_groups_are_added_when_they_exist():
    Group.objects.get_or_create(name="clerk")  # a role, made by the roles migration
    run("mary", "--group", "clerk", "--email", "mary@example.com")
    user = get_user_model().objects.get(username="mary")
    assert list(user.groups.values_list("name", flat=True)) == ["clerk"]
    assert user.email == "mary@example.com"
    assert not user.is_staff


def test_an_unknown_group_is_an_error_and_creates_nobody():
    with pytest.raises(CommandError, match='No group named "auditors"'):
        run("bob", "--group", "auditors")
    assert not get_user_model().objects.filter(username="bob").exists()


def test_create_groups_creates_the_missing_ones():
    run("bob", "--group", "auditor", "--group", "controller", "--create-groups")
    names = set(get_user_model().objects.get(username="bob").groups.values_list("name", flat=True))
    assert names == {"auditor", "controller"}


def test_a_token_for_a_user_without_permissions_is_refused_with_403():
    printed = run("plain")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printed['token']}")
    assert client.get("/api/v1/banking/transactions").status_code == 403


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("system-posting", "the service account commands act as"),
        ("left-the-company", "Activate it first in the admin"),
    ],
)
def test_an_inactive_account_gets_no_password_no_token_and_no_group(username, reason):
    # Given an account that cannot sign in: the cron service account, or someone deactivated.
    from accounting.services import command_user_get

    users = get_user_model().objects
    if username == "system-posting":
        command_user_get()
    else:
        users.create_user(username=username, password="Old-pass-123", is_active=False)
    before = users.values().get(username=username)

    # When a password, a group and a token are asked for it.
    with pytest.raises(CommandError) as refused:
        call_command(
            "create_api_user", username, "--group", "clerk", "--reset-password", stdout=io.StringIO()
        )

    # Then it is refused in one line naming the account and why; nothing changed.
    message = str(refused.value)
    assert refused.value.returncode == 1
    assert f'"{username}"' in message and "inactive" in message and reason in message
    assert "\n" not in message
    assert users.values().get(username=username) == before
    assert not users.get(username=username).groups.exists()
    assert not Token.objects.filter(user__username=username).exists()
