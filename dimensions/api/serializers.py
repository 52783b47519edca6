from cnperp.api import StrictModelSerializer, key_field, ref_field, user_field
from dimensions.models import Branch, CostCenter, Department, Project

TRACKING_FIELDS = ("created_at", "created_by", "updated_at", "updated_by")


class DimensionSerializer(StrictModelSerializer):
    """A dimension value: code, name, optional parent, active flag."""

    created_by = user_field()
    updated_by = user_field()

    class Meta:
        fields = ("id", "code", "name", "parent_id", "is_active", "description", *TRACKING_FIELDS)
        read_only_fields = ("created_at", "updated_at")


class CostCenterSerializer(DimensionSerializer):
    """A cost centre, such as ``cc-hq``."""

    id = key_field(CostCenter)
    parent_id = ref_field(CostCenter, "parent", required=False)

    class Meta(DimensionSerializer.Meta):
        model = CostCenter


class ProjectSerializer(DimensionSerializer):
    """A project, with optional start and end dates."""

    id = key_field(Project)
    parent_id = ref_field(Project, "parent", required=False)

    class Meta(DimensionSerializer.Meta):
        model = Project
        fields = (*DimensionSerializer.Meta.fields, "start_date", "end_date")


class DepartmentSerializer(DimensionSerializer):
    """A department."""

    id = key_field(Department)
    parent_id = ref_field(Department, "parent", required=False)

    class Meta(DimensionSerializer.Meta):
        model = Department


class BranchSerializer(StrictModelSerializer):
    """A branch with a till and a cash float, such as ``test-branch``."""

    id = key_field(Branch)
    default_cost_center_id = ref_field(CostCenter, "default_cost_center", required=False)
    created_by = user_field()
    updated_by = user_field()

    class Meta:
        model = Branch
        fields = ("id", "code", "name", "address", "default_cost_center_id", "is_active", *TRACKING_FIELDS)
        read_only_fields = ("created_at", "updated_at")
