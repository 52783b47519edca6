"""Create (or find) an API user, put them in groups and print their token.

``make run`` calls ``create_api_user admin --superuser --reset-password`` so the
printed login works in the admin and the token works against the API. The
finance roles are groups (``--group clerk``, ``accountant``, ``controller``,
``auditor``, ``admin``; docs/security.md); ``--staff`` lets the user sign in to
the admin, where they see what their role allows. A ``--password`` must pass
Django's password validators.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounting.services import SYSTEM_USERNAME
from cnperp.roles import ROLES


class Command(BaseCommand):
    help = "Create or find an API user, add groups, and print the user's API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            dest="groups",
            metavar="NAME",
            help=f"Add to this group; the roles are {', '.join(ROLES)}. Repeatable.",
        )
        parser.add_argument(
            "--create-groups", action="store_true", help="Create groups that do not exist yet."
        )
        parser.add_argument(
            "--superuser", action="store_true", help="Make the user staff and superuser (admin login)."
        )
        parser.add_argument(
            "--staff", action="store_true", help="Let the user sign in to the admin (within their role)."
        )
        parser.add_argument("--email", default=None)
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--password", default=None, help="Set this password.")
        password.add_argument(
            "--reset-password", action="store_true", help="Set a new generated password and print it."
        )

    def handle(
        self,
        *args,
        username,
        groups,
        create_groups,
        superuser,
        staff,
        email,
        password,
        reset_password,
        **options,
    ):
        username = username.strip()
        if not username:
            raise CommandError("Give a username.")
        user_model = get_user_model()
        existing = user_model.objects.filter(username=username).first()
        if existing is not None and not existing.is_active:
            # A password or a token for an account that cannot sign in works nowhere, and the
            # printed token would read as if it did.
            raise CommandError(self._inactive_refusal(username))
        if existing is None:
            # The checks the admin's user form makes: a name too long for its column was a
            # database error, and a space or a NUL made a user nobody could type.
            try:
                user_model._meta.get_field("username").run_validators(username)
            except ValidationError as exc:
                raise CommandError(f"username {username!r}: " + " ".join(exc.messages)) from exc
        if email is not None:
            try:
                user_model._meta.get_field("email").run_validators(email)
                if email:
                    validate_email(email)
            except ValidationError as exc:
                raise CommandError("--email: " + " ".join(exc.messages)) from exc
        with transaction.atomic():
            group_objects = self._groups(groups, create=create_groups)
            user, created = user_model.objects.get_or_create(username=username)
            new_password = password
            if new_password is None and (created or reset_password):
                # A new user without a password could never sign in to the admin.
                new_password = secrets.token_urlsafe(15)
            if password is not None:
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise CommandError("--password: " + " ".join(exc.messages)) from exc
            if new_password is not None:
                user.set_password(new_password)
            if email is not None:
                user.email = email
            if superuser:
                user.is_staff = True
                user.is_superuser = True
            if staff:
                user.is_staff = True
            user.save()
            user.groups.add(*group_objects)
            token, _ = Token.objects.get_or_create(user=user)

        self.stdout.write(f"username: {user.username}")
        if new_password is not None:
            self.stdout.write(f"password: {new_password}")
        self.stdout.write(f"token: {token.key}")

    def _inactive_refusal(self, username):
        if username == SYSTEM_USERNAME:
            return (
                f'"{username}" is the service account commands act as without --user; it is inactive so '
                "that nobody can sign in as it, and gets no password, group or token. Nothing changed."
            )
        return (
            f'"{username}" is inactive: it cannot sign in, so a password or token would not work. '
            f"Activate it first in the admin (Users, {username}, Active), then run this again. "
            "Nothing changed."
        )

    def _groups(self, names, *, create):
        found = []
        for name in names:
            group = Group.objects.filter(name=name).first()
            if group is None:
                if not create:
                    raise CommandError(
                        f'No group named "{name}". The roles are {", ".join(ROLES)} (made by migrate); '
                        "create other groups first or pass --create-groups."
                    )
                group = Group.objects.create(name=name)
            found.append(group)
        return found
