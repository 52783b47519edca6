"""API permissions: signed in, and holding the model permission for the action."""

from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated


class FinanceModelPermissions(DjangoModelPermissions):
    """Django model permissions, reads included (DRF lets any signed-in user read).

    Views without a queryset (reports) need only a signed-in user here; their own
    ``permission_classes`` narrow that further.

    A viewset action that changes a record through ``POST`` (receiving a transfer,
    say) is a change, not an addition: the viewset names the permission it needs
    in ``action_permissions`` (``{"receive": "change"}``), so the whole mapping of
    requests to permissions stays in this one class.
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
        model = self._queryset(view).model
        return request.user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")
