"""Admin for dimensions and branches: the values finance staff tag every document with.

Each dimension shows its parent and how many children roll up into it. Pickers
elsewhere in the admin are autocompletes over these screens' search and offer
only active values.
"""

from django.contrib import admin
from django.db.models import Count

from cnperp.admin import AUDIT_FIELDSET, ActiveChoicesMixin, TrackedAdmin
from dimensions.models import Branch, CostCenter, Department, Project


class DimensionAdmin(ActiveChoicesMixin, TrackedAdmin):
    list_display = ("code", "name", "parent", "children_count", "is_active")
    list_display_links = ("code", "name")
    list_filter = ("is_active", "parent")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "=id")
    ordering = ("code",)
    autocomplete_fields = ("parent",)
    fieldsets = (
        (None, {"fields": ("id", "code", "name", "parent", "is_active", "description")}),
        AUDIT_FIELDSET,
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(children_count=Count("children"))

    @admin.display(description="children", ordering="children_count")
    def children_count(self, obj):
        return obj.children_count


@admin.register(CostCenter)
class CostCenterAdmin(DimensionAdmin):
    pass


@admin.register(Project)
class ProjectAdmin(DimensionAdmin):
    list_display = ("code", "name", "parent", "children_count", "start_date", "end_date", "is_active")
    fieldsets = (
        (None, {"fields": ("id", "code", "name", "parent", "is_active", "description")}),
        ("Duration", {"fields": ("start_date", "end_date")}),
        AUDIT_FIELDSET,
    )


@admin.register(Department)
class DepartmentAdmin(DimensionAdmin):
    pass


@admin.register(Branch)
class BranchAdmin(ActiveChoicesMixin, TrackedAdmin):
    list_display = ("code", "name", "default_cost_center", "is_active")
    list_display_links = ("code", "name")
    list_filter = ("is_active", "default_cost_center")
    list_select_related = ("default_cost_center",)
    search_fields = ("code", "name", "=id")
    ordering = ("code",)
    autocomplete_fields = ("default_cost_center",)
    fieldsets = (
        (None, {"fields": ("id", "code", "name", "address", "default_cost_center", "is_active")}),
        AUDIT_FIELDSET,
    )
