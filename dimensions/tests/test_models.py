import pytest
from django.core.exceptions import ValidationError

from dimensions.models import CostCenter
from dimensions.tests.factories import CostCenterFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_a_client_chosen_key_is_kept():
    cost_center = CostCenter.objects.create(id="cc-hq", code="HQ", name="Head office")
    assert CostCenter.objects.get(pk="cc-hq") == cost_center


def test_a_key_is_generated_when_none_is_given():
    cost_center = CostCenter.objects.create(code="OPS", name="Operations")
    assert cost_center.id.startswith("cc-")
    assert len(cost_center.id) <= 64


@pytest.mark.parametrize("bad", ["has space", "slash/key", "x" * 65, "", "ünïcode"])
def test_a_key_outside_the_allowed_alphabet_is_refused(bad):
    cost_center = CostCenter(id=bad, code="BAD", name="Bad")
    with pytest.raises(ValidationError) as err:
        cost_center.full_clean()
    assert "id" in err.value.message_dict


def test_a_dimension_cannot_be_its_own_ancestor():
    parent = CostCenterFactory(id="cc-parent")
    child = CostCenterFactory(id="cc-child", parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as err:
        parent.full_clean()
    assert "parent" in err.value.message_dict


def test_ancestors_are_listed_nearest_first():
    top = CostCenterFactory(id="cc-top")
    middle = CostCenterFactory(id="cc-mid", parent=top)
    leaf = CostCenterFactory(id="cc-leaf", parent=middle)
    assert leaf.ancestors() == [middle, top]


def test_a_project_cannot_end_before_it_starts():
    import datetime

    project = ProjectFactory.build(
        id="prj-x", start_date=datetime.date(2025, 10, 1), end_date=datetime.date(2025, 9, 1)
    )
    with pytest.raises(ValidationError) as err:
        project.full_clean()
    assert "end_date" in err.value.message_dict
