"""API permissions: signed in, and holding the model permission for the action."""

from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated


class FinanceModelPermissions(DjangoModelPermissions):
    """Django model permissions, reads included (DRF lets any signed-in user read).

    Views without a queryset (reports) need only a signed-in user here; their own
    ``permission_classes`` narrow that further.
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
        return super().has_permission(request, view)
