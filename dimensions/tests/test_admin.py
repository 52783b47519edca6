"""The dimensions' admin screens: titles, access, parents and children, search, filters, stamping."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from cnperp.tests.admin_pages import add_url, change_url, changelist_url, inputs_named
from dimensions.models import Branch, CostCenter, Department, Project
from dimensions.tests.factories import BranchFactory, CostCenterFactory, DepartmentFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def tree():
    head_office = CostCenterFactory(id="cc-hq", code="HQ", name="Head office")
    CostCenterFactory(id="cc-hq-fin", code="HQ-FIN", name="Finance", parent=head_office)
    CostCenterFactory(id="cc-hq-ops", code="HQ-OPS", name="Operations", parent=head_office)
    CostCenterFactory(id="cc-old", code="OLD", name="Closed site", is_active=False)
    return head_office


def test_the_admin_is_titled_cnperp_banking(staff):
    # given a signed-in member of staff
    # when they open the admin's index
    response = staff.get(reverse("admin:index"))

    # then every title says CNPERP Banking
    assert response.status_code == 200
    assert response.context["site_header"] == "CNPERP Banking"
    assert response.context["site_title"] == "CNPERP Banking"
    assert response.context["title"] == "CNPERP Banking"


def test_a_user_who_is_not_staff_is_sent_to_the_login_page():
    # given a signed-in user without staff status
    user = get_user_model().objects.create_user("clerk-outside", password="s3cret-pass-1")
    client = Client()
    client.force_login(user)

    # when they open a changelist
    response = client.get(changelist_url(CostCenter))

    # then they are redirected to the admin login
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", [CostCenter, Project, Department, Branch])
def test_each_dimension_changelist_and_add_form_render(staff, model):
    # given one value of each dimension
    CostCenterFactory(id="cc-one")
    ProjectFactory(id="prj-one")
    DepartmentFactory(id="dep-one")
    BranchFactory(id="br-one")

    # when the changelist, the add form and the change form are opened
    listing = staff.get(changelist_url(model))
    adding = staff.get(add_url(model))
    changing = staff.get(change_url(model.objects.get()))

    # then each renders
    assert (listing.status_code, adding.status_code, changing.status_code) == (200, 200, 200)


def test_the_cost_centre_list_shows_each_parent_and_how_many_children_it_has(staff, tree):
    # given a head office with two children
    # when the list is opened
    response = staff.get(changelist_url(CostCenter))

    # then each row carries its parent and its children count
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert rows["cc-hq"].children_count == 2
    assert rows["cc-hq-fin"].children_count == 0
    assert rows["cc-hq-fin"].parent_id == "cc-hq"
    assert "column-children_count" in response.content.decode()


def test_the_cost_centre_list_is_searched_by_code_and_name(staff, tree):
    by_code = staff.get(changelist_url(CostCenter), {"q": "HQ-FIN"})
    by_name = staff.get(changelist_url(CostCenter), {"q": "operations"})

    assert [row.pk for row in by_code.context["cl"].result_list] == ["cc-hq-fin"]
    assert [row.pk for row in by_name.context["cl"].result_list] == ["cc-hq-ops"]


def test_the_cost_centre_list_is_filtered_by_parent_and_by_active_flag(staff, tree):
    children = staff.get(changelist_url(CostCenter), {"parent__id__exact": "cc-hq"})
    inactive = staff.get(changelist_url(CostCenter), {"is_active__exact": "0"})

    assert sorted(row.pk for row in children.context["cl"].result_list) == ["cc-hq-fin", "cc-hq-ops"]
    assert [row.pk for row in inactive.context["cl"].result_list] == ["cc-old"]


def test_adding_a_cost_centre_records_who_created_it(staff, superuser, tree):
    # when a cost centre is added through the form
    response = staff.post(
        add_url(CostCenter),
        {"id": "cc-branch-n", "code": "BR-N", "name": "North branch", "parent": "cc-hq", "is_active": "on"},
    )

    # then it is saved under its parent, stamped with the user
    assert response.status_code == 302
    created = CostCenter.objects.get(pk="cc-branch-n")
    assert created.parent_id == "cc-hq"
    assert created.created_by == superuser
    assert created.updated_by == superuser


def test_a_parent_loop_is_refused_on_the_form(staff, tree):
    # given head office is the parent of finance
    # when finance is made head office's parent
    response = staff.post(
        change_url(tree),
        {"code": "HQ", "name": "Head office", "parent": "cc-hq-fin", "is_active": "on"},
    )

    # then the form says why and nothing changes
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    tree.refresh_from_db()
    assert tree.parent_id is None


def test_a_key_is_chosen_once_and_shown_read_only_afterwards(staff, tree):
    adding = staff.get(add_url(CostCenter))
    changing = staff.get(change_url(tree))

    assert inputs_named(adding, "id") == 1
    assert inputs_named(changing, "id") == 0


def test_pickers_offer_only_active_values(staff, tree):
    # given an active and an inactive cost centre
    # when a document's cost-centre picker searches
    response = staff.get(
        reverse("admin:autocomplete"),
        {"app_label": "banking", "model_name": "banktransaction", "field_name": "cost_center", "term": ""},
    )

    # then only active values are offered
    offered = {item["id"] for item in response.json()["results"]}
    assert "cc-hq" in offered
    assert "cc-old" not in offered
