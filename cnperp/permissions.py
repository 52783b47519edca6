"""API permissions: signed in, and holding the permission of the action.

Two classes cover every endpoint, so a request is judged the same way
wherever it lands; which permission each action needs is the matrix in
``cnperp.roles`` (see docs/security.md):

- :class:`FinanceModelPermissions` for viewsets (records): Django's model
  permissions, reads included, with ``action_permissions`` naming the
  permission of an extra action (``{"receive": "change"}``).
- :class:`RequiredPermissions` for the other views (posting, statements,
  reconciliation, reports): the view names its permissions.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions, IsAuthenticated


def _names(value):
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


class FinanceModelPermissions(DjangoModelPermissions):
    """Django model permissions, reads included (DRF lets any signed-in user read).

    Views without a queryset need only a signed-in user here; their own
    ``permission_classes`` narrow that further (:class:`RequiredPermissions`).

    A viewset action that changes a record through ``POST`` (receiving a transfer,
    say) is a change, not an addition: the viewset names the verb it needs in
    ``action_permissions`` (``{"receive": "change"}``), or a full permission name
    (``{"post": "banking.post_banktransaction"}``).
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return IsAuthenticated().has_permission(request, view)
        verb = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if verb is None:
            return super().has_permission(request, view)
        if not request.user or not request.user.is_authenticated:
            return False
        if "." in verb:
            return request.user.has_perm(verb)
        model = self._queryset(view).model
        return request.user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")


class RequiredPermissions(BasePermission):
    """Signed in and holding every permission the view names.

    Writes need ``view.required_permission`` (a name or a tuple of names); reads
    (GET, HEAD, OPTIONS) need ``view.read_permissions`` when the view sets it,
    else the same as writes. A view that names nothing is refused: a missing
    declaration must never open an endpoint.
    """

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method.lower() not in view.http_method_names or not hasattr(view, request.method.lower()):
            # Nothing answers this method here: let the view say 405, not that a permission lacks.
            return True
        needed = None
        if request.method in SAFE_METHODS:
            needed = _names(getattr(view, "read_permissions", None))
        if needed is None:
            needed = _names(getattr(view, "required_permission", None))
        if not needed:
            return False
        return user.has_perms(needed)


def command_user_check(user, *permissions, doing):
    """Refuse a command run ``--user`` someone who lacks ``permissions`` (the same ones the API checks).

    Without ``--user`` a command acts as the ``system-posting`` service account
    that cron uses, and whoever can run ``manage.py`` on the server is trusted;
    naming a person makes the command act for them, within their role.
    """
    from django.core.management.base import CommandError

    missing = [name for name in permissions if not user.has_perm(name)]
    if missing:
        raise CommandError(
            f'User "{user.get_username()}" may not {doing}: it needs the permission {", ".join(missing)} '
            "(see docs/security.md)."
        )
