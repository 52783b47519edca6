"""List filters for dimensions and branches."""

import django_filters

from cnperp.filters import StrictBooleanFilter
from dimensions.models import Branch, CostCenter, Department, Project


class DimensionFilterSet(django_filters.FilterSet):
    parent_id = django_filters.CharFilter(field_name="parent_id", help_text="Direct children of this value.")
    is_active = StrictBooleanFilter()
    code = django_filters.CharFilter()


class CostCenterFilterSet(DimensionFilterSet):
    class Meta:
        model = CostCenter
        fields = ["parent_id", "is_active", "code"]


class ProjectFilterSet(DimensionFilterSet):
    class Meta:
        model = Project
        fields = ["parent_id", "is_active", "code"]


class DepartmentFilterSet(DimensionFilterSet):
    class Meta:
        model = Department
        fields = ["parent_id", "is_active", "code"]


class BranchFilterSet(django_filters.FilterSet):
    is_active = StrictBooleanFilter()
    code = django_filters.CharFilter()
    default_cost_center_id = django_filters.CharFilter(field_name="default_cost_center_id")

    class Meta:
        model = Branch
        fields = ["is_active", "code", "default_cost_center_id"]
