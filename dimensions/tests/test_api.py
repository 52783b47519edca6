"""The dimensions API: cost centres, projects, departments and branches."""

import pytest

from banking.tests.factories import BankTransactionFactory
from cnperp.tests.api import client_for, ids, user_with_perms
from dimensions.models import Branch, CostCenter, Department, Project
from dimensions.tests.factories import BranchFactory, CostCenterFactory, DepartmentFactory, ProjectFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/dimensions"
RESOURCES = [
    ("cost-centers", CostCenter, CostCenterFactory, "cc-hq"),
    ("projects", Project, ProjectFactory, "prj-roll"),
    ("departments", Department, DepartmentFactory, "dep-fin"),
    ("branches", Branch, BranchFactory, "test-branch"),
]


@pytest.mark.parametrize(("resource", "model", "factory", "key"), RESOURCES)
def test_each_dimension_goes_through_create_read_change_delete(admin_api, resource, model, factory, key):
    url = f"{BASE}/{resource}"
    # when created with the client's key
    created = admin_api.post(url, {"id": key, "code": "K1", "name": "First"}, format="json")
    # then
    assert created.status_code == 201, created.content
    assert created.json()["created_by"] == "root-admin"
    assert ids(admin_api.get(url)) == [key]
    assert admin_api.get(f"{url}/{key}").json()["name"] == "First"
    # when changed
    assert admin_api.patch(f"{url}/{key}", {"name": "Renamed"}, format="json").status_code == 200
    put = admin_api.put(f"{url}/{key}", {"code": "K2", "name": "Put"}, format="json")
    assert put.status_code == 200, put.content
    assert model.objects.get(pk=key).code == "K2"
    # when deleted
    assert admin_api.delete(f"{url}/{key}").status_code == 204
    assert not model.objects.exists()


@pytest.mark.parametrize(("resource", "model", "factory", "key"), RESOURCES)
def test_a_generated_key_is_given_when_none_is_sent(admin_api, resource, model, factory, key):
    response = admin_api.post(f"{BASE}/{resource}", {"code": "GEN", "name": "Generated"}, format="json")
    assert response.status_code == 201
    assert model.objects.filter(pk=response.json()["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "cc hq", "code": "X", "name": "X"}, "id"),
        ({"id": "cc-taken", "code": "X", "name": "X"}, "id"),
        ({"code": "TAKEN", "name": "X"}, "code"),
        ({"code": "X"}, "name"),
        ({"code": "X", "name": "X", "parent_id": "cc-nowhere"}, "parent_id"),
        ({"code": "X", "name": "X", "is_active": "perhaps"}, "is_active"),
        ({"code": "X", "name": "X", "colour": "blue"}, "colour"),
        ({"code": ["X"], "name": "X"}, "code"),
    ],
)
def test_bad_input_answers_400_naming_the_field(admin_api, body, field):
    CostCenterFactory(id="cc-taken", code="TAKEN")
    response = admin_api.post(f"{BASE}/cost-centers", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}
    assert CostCenter.objects.count() == 1


def test_a_dimension_cannot_become_its_own_ancestor(admin_api):
    CostCenterFactory(id="cc-top")
    CostCenterFactory(id="cc-child", parent_id="cc-top")
    response = admin_api.patch(f"{BASE}/cost-centers/cc-top", {"parent_id": "cc-child"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"parent_id"}


def test_a_project_cannot_end_before_it_starts(admin_api):
    response = admin_api.post(
        f"{BASE}/projects",
        {"code": "P", "name": "P", "start_date": "2025-10-01", "end_date": "2025-09-01"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"end_date"}


def test_a_cost_center_in_use_answers_409_on_delete(admin_api):
    # given a transaction tagged with the cost centre
    BankTransactionFactory(cost_center=CostCenterFactory(id="cc-hq"))
    # when
    response = admin_api.delete(f"{BASE}/cost-centers/cc-hq")
    # then
    assert response.status_code == 409
    assert "bank transaction" in response.json()["detail"]
    assert CostCenter.objects.filter(pk="cc-hq").exists()


def test_a_branch_with_a_default_cost_center_is_created(admin_api):
    CostCenterFactory(id="cc-hq")
    response = admin_api.post(
        f"{BASE}/branches",
        {"id": "test-branch", "code": "TB", "name": "Test branch", "default_cost_center_id": "cc-hq"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["default_cost_center_id"] == "cc-hq"
    assert ids(admin_api.get(f"{BASE}/branches", {"default_cost_center_id": "cc-hq"})) == ["test-branch"]


def test_dimension_filters_narrow_the_list(admin_api):
    top = CostCenterFactory(id="cc-top", code="TOP", name="Group")
    CostCenterFactory(id="cc-a", code="A1", name="Alpha shop", parent=top)
    CostCenterFactory(id="cc-b", code="B1", name="Beta shop", parent=top, is_active=False)
    url = f"{BASE}/cost-centers"
    assert ids(admin_api.get(url, {"parent_id": "cc-top"})) == ["cc-a", "cc-b"]
    assert ids(admin_api.get(url, {"is_active": "false"})) == ["cc-b"]
    assert ids(admin_api.get(url, {"code": "A1"})) == ["cc-a"]
    assert ids(admin_api.get(url, {"search": "beta"})) == ["cc-b"]
    assert ids(admin_api.get(url, {"ordering": "-code"})) == ["cc-top", "cc-b", "cc-a"]


def test_a_user_without_permissions_gets_403():
    CostCenterFactory(id="cc-hq")
    nobody = client_for(user_with_perms("nobody"))
    reader = client_for(user_with_perms("reader", "dimensions.view_costcenter"))
    assert nobody.get(f"{BASE}/cost-centers").status_code == 403
    assert reader.get(f"{BASE}/cost-centers").status_code == 200
    assert reader.post(f"{BASE}/cost-centers", {"code": "X", "name": "X"}, format="json").status_code == 403
    assert reader.delete(f"{BASE}/cost-centers/cc-hq").status_code == 403


def test_a_missing_record_answers_404(admin_api):
    assert admin_api.get(f"{BASE}/departments/dep-nowhere").status_code == 404
