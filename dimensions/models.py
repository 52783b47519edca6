"""Dimensions: the tags finance staff put on every document and every GL line.

Cost centres, projects and departments each form an optional hierarchy (a
parent), so reports can roll children up into their parents. Branches are the
places that hold tills and cash floats. A document without a dimension is
reported under "unassigned", never dropped.
"""

from django.core.exceptions import ValidationError
from django.db import models

from cnperp.fields import TrackedModel, key_field
from cnperp.hierarchy import HeldHierarchy


class DimensionType(models.TextChoices):
    COST_CENTER = "cost_center", "Cost centre"
    PROJECT = "project", "Project"
    DEPARTMENT = "department", "Department"


# Levels of a hierarchy, the root counted: deep enough for any chart of cost centres, and a
# bound on the walks of the roll-ups and these checks.
MAX_DEPTH = 20


UNASSIGNED_KEY = "unassigned"


class Dimension(HeldHierarchy, TrackedModel):
    """A value of one dimension: code, name, optional parent, active flag."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        if self._state.adding and isinstance(self.pk, str) and self.pk.lower() == UNASSIGNED_KEY:
            # The reports key lines without this dimension "unassigned": a value of that id would
            # be merged with them (and listed twice, its own amounts counted twice).
            raise ValidationError(
                {"id": f'"{self.pk}" is the reports\' name for lines without a value; choose another id.'}
            )
        # A parent chain that loops back would make roll-ups never end.
        seen = {self.pk}
        node = self.parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": "A dimension cannot be its own ancestor."})
            seen.add(node.pk)
            if len(seen) > MAX_DEPTH:
                raise ValidationError(
                    {"parent": f"A hierarchy has at most {MAX_DEPTH} levels; this parent is deeper."}
                )
            node = node.parent
        if self.pk is not None and not self._state.adding:
            self._check_subtree_depth(len(seen))

    def _check_subtree_depth(self, depth):
        """Refuse a move that would push this value's descendants below the depth limit."""
        model = type(self)
        level, below = [self.pk], 0
        while level:
            level = list(model._default_manager.filter(parent_id__in=level).values_list("pk", flat=True))
            below += bool(level)
            if depth + below > MAX_DEPTH:
                raise ValidationError(
                    {
                        "parent": f"A hierarchy has at most {MAX_DEPTH} levels; "
                        "moved here, its children would not fit."
                    }
                )

    def ancestors(self):
        """Return the parents of this value, nearest first."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class CostCenter(Dimension):
    id = key_field("cc")

    class Meta(Dimension.Meta):
        db_table = "cost_centers"
        verbose_name = "cost centre"


class Project(Dimension):
    id = key_field("prj")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta(Dimension.Meta):
        db_table = "projects"

    def clean(self):
        super().clean()
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})


class Department(Dimension):
    id = key_field("dep")

    class Meta(Dimension.Meta):
        db_table = "departments"


class Branch(TrackedModel):
    """A place of business with a till and a cash float, such as ``test-branch``."""

    id = key_field("br")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    default_cost_center = models.ForeignKey(
        CostCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="branches"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "branches"
        ordering = ["code"]
        verbose_name_plural = "branches"

    def __str__(self):
        return f"{self.code} {self.name}"


DIMENSION_MODELS = {
    DimensionType.COST_CENTER: CostCenter,
    DimensionType.PROJECT: Project,
    DimensionType.DEPARTMENT: Department,
}
