from cnperp.api import RecordViewSet
from dimensions.api.serializers import (
    BranchSerializer,
    CostCenterSerializer,
    DepartmentSerializer,
    ProjectSerializer,
)
from dimensions.filters import BranchFilterSet, CostCenterFilterSet, DepartmentFilterSet, ProjectFilterSet
from dimensions.models import Branch, CostCenter, Department, Project

DIMENSION_ORDERING = ["code", "name", "id", "created_at"]
DIMENSION_SEARCH = ["code", "name", "description"]


class CostCenterViewSet(RecordViewSet):
    """Cost centres; deleting one still in use answers 409."""

    queryset = CostCenter.objects.select_related("created_by", "updated_by")
    serializer_class = CostCenterSerializer
    filterset_class = CostCenterFilterSet
    ordering_fields = DIMENSION_ORDERING
    search_fields = DIMENSION_SEARCH


class ProjectViewSet(RecordViewSet):
    """Projects; deleting one still in use answers 409."""

    queryset = Project.objects.select_related("created_by", "updated_by")
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    ordering_fields = [*DIMENSION_ORDERING, "start_date", "end_date"]
    search_fields = DIMENSION_SEARCH


class DepartmentViewSet(RecordViewSet):
    """Departments; deleting one still in use answers 409."""

    queryset = Department.objects.select_related("created_by", "updated_by")
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet
    ordering_fields = DIMENSION_ORDERING
    search_fields = DIMENSION_SEARCH


class BranchViewSet(RecordViewSet):
    """Branches with their tills and floats; deleting one still in use answers 409."""

    queryset = Branch.objects.select_related("created_by", "updated_by")
    serializer_class = BranchSerializer
    filterset_class = BranchFilterSet
    ordering_fields = ["code", "name", "id", "created_at"]
    search_fields = ["code", "name", "address"]
