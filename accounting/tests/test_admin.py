"""The ledger's admin screens: chart of accounts, periods, and the read-only postings and GL lines."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from accounting.choices import AccountType, PeriodStatus, SourceType
from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from accounting.tests.factories import (
    AccountingPeriodFactory,
    DimensionAssignmentFactory,
    GLAccountFactory,
    JournalEntryFactory,
    JournalPostingFactory,
)
from cnperp.tests.admin_pages import add_url, change_url, changelist_url, delete_url, form_data, inputs_named
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def posting():
    """A posted bank deposit of 250.00: bank debited, income credited, both lines on cc-hq."""
    bank = GLAccountFactory(id="gl-bank", code="1100", name="Bank", account_type=AccountType.ASSET)
    income = GLAccountFactory(id="gl-sales", code="4000", name="Sales", account_type=AccountType.INCOME)
    head_office = CostCenterFactory(id="cc-hq", code="HQ", name="Head office")
    posting = JournalPostingFactory(
        id="jp-1",
        reference="BT-bt-00042",
        source_type=SourceType.BANK_TRANSACTION,
        source_id="bt-00042",
        entry_date=datetime.date(2025, 10, 15),
    )
    for number, (account, side) in enumerate([(bank, "debit"), (income, "credit")], start=1):
        line = JournalEntryFactory(
            id=f"je-{number}",
            posting=posting,
            line_number=number,
            account=account,
            cost_center=head_office,
            **{side: Decimal("250.00")},
        )
        DimensionAssignmentFactory(id=f"da-{number}", journal_entry=line, cost_center=head_office)
    return posting


def test_the_chart_of_accounts_is_searched_and_filtered(staff):
    # given an asset and an expense account
    GLAccountFactory(id="gl-bank", code="1100", name="Bank current account", account_type=AccountType.ASSET)
    GLAccountFactory(id="gl-fees", code="6100", name="Bank charges", account_type=AccountType.EXPENSE)

    # when the list is searched by code and filtered by type
    by_code = staff.get(changelist_url(GLAccount), {"q": "6100"})
    expenses = staff.get(changelist_url(GLAccount), {"account_type__exact": AccountType.EXPENSE})

    # then each finds the expense account only
    assert [row.pk for row in by_code.context["cl"].result_list] == ["gl-fees"]
    assert [row.pk for row in expenses.context["cl"].result_list] == ["gl-fees"]


def test_adding_a_gl_account_records_who_created_it(staff, superuser):
    response = staff.post(
        add_url(GLAccount),
        {
            "id": "gl-clearing",
            "code": "1190",
            "name": "In transit",
            "account_type": "asset",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    account = GLAccount.objects.get(pk="gl-clearing")
    assert (account.created_by, account.updated_by) == (superuser, superuser)


@pytest.mark.parametrize("new_parent", ["gl-top", "gl-child"])
def test_a_gl_account_is_not_put_under_itself_or_its_child_on_the_form(staff, new_parent):
    # given gl-top as gl-child's parent
    top = GLAccountFactory(id="gl-top", code="1000", name="Cash and bank", account_type=AccountType.ASSET)
    GLAccountFactory(id="gl-child", code="1100", name="Bank", account_type=AccountType.ASSET, parent=top)
    data = form_data(staff.get(change_url(top)))

    # when gl-top's form names itself or its child as its parent
    response = staff.post(change_url(top), {**data, "parent": new_parent, "name": "Renamed"})

    # then the form shows the error on the parent field and nothing is saved
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == ["A GL account cannot be its own ancestor."]
    top.refresh_from_db()
    assert (top.parent_id, top.name) == (None, "Cash and bank")


def test_a_period_is_added_by_its_month_and_its_dates_follow(staff):
    # when a period is added with its name only
    response = staff.post(add_url(AccountingPeriod), {"id": "2025-11", "start_date": "", "end_date": ""})

    # then it spans the month and is open
    assert response.status_code == 302
    period = AccountingPeriod.objects.get(pk="2025-11")
    assert (period.start_date, period.end_date) == (datetime.date(2025, 11, 1), datetime.date(2025, 11, 30))
    assert period.status == PeriodStatus.OPEN


def test_a_period_with_a_bad_name_is_refused_on_the_form(staff):
    response = staff.post(add_url(AccountingPeriod), {"id": "2025-13", "start_date": "", "end_date": ""})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["id"]
    assert len(errors) == 1, errors  # said once (the model's check repeated the field's)
    assert not AccountingPeriod.objects.exists()


def test_the_period_list_shows_each_status_and_filters_by_it(staff):
    AccountingPeriodFactory(id="2025-09", status=PeriodStatus.CLOSED)
    AccountingPeriodFactory(id="2025-10")

    listing = staff.get(changelist_url(AccountingPeriod))
    closed = staff.get(changelist_url(AccountingPeriod), {"status__exact": PeriodStatus.CLOSED})

    assert "column-status" in listing.content.decode()
    assert [row.pk for row in closed.context["cl"].result_list] == ["2025-09"]


def test_a_status_is_never_typed_in_and_a_period_never_edited(staff):
    # given an open period
    period = AccountingPeriodFactory(id="2025-10")

    # when the add form and the period's own page are opened
    adding = staff.get(add_url(AccountingPeriod))
    viewing = staff.get(change_url(period))
    posted = staff.post(change_url(period), {"start_date": "2025-10-02", "end_date": "2025-10-31"})

    # then the status is nowhere editable and the period's page is read-only
    assert inputs_named(adding, "status") == 0
    assert viewing.status_code == 200
    assert inputs_named(viewing, "start_date") == 0
    assert posted.status_code == 403


def test_a_period_with_postings_cannot_be_deleted(staff, posting):
    response = staff.post(delete_url(posting.period), {"post": "yes"})

    assert response.status_code == 403
    assert AccountingPeriod.objects.filter(pk=posting.period_id).exists()


@pytest.mark.parametrize("model", [JournalPosting, JournalEntry, DimensionAssignment])
def test_ledger_rows_are_never_added_in_the_admin(staff, posting, model):
    listing = staff.get(changelist_url(model))
    adding = staff.get(add_url(model))

    assert listing.status_code == 200
    assert adding.status_code == 403


def test_a_posting_shows_its_lines_and_cannot_be_changed_or_deleted(staff, posting):
    # when the posting's page is opened, then changed, then deleted
    viewing = staff.get(change_url(posting))
    changing = staff.post(change_url(posting), {"description": "edited"})
    deleting = staff.post(delete_url(posting), {"post": "yes"})

    # then it shows both lines and its totals balance, and both writes are refused
    assert viewing.status_code == 200
    (lines,) = viewing.context["inline_admin_formsets"]
    assert [form.instance.pk for form in lines.formset.forms] == ["je-1", "je-2"]
    assert "balanced" in viewing.content.decode()
    assert inputs_named(viewing, "description") == 0
    assert (changing.status_code, deleting.status_code) == (403, 403)
    posting.refresh_from_db()
    assert posting.description == ""


def test_a_gl_line_shows_its_dimensions_and_cannot_be_changed_or_deleted(staff, posting):
    line = JournalEntry.objects.get(pk="je-1")

    viewing = staff.get(change_url(line))
    changing = staff.post(change_url(line), {"debit": "999.00"})
    deleting = staff.post(delete_url(line), {"post": "yes"})

    assert viewing.status_code == 200
    (assignments,) = viewing.context["inline_admin_formsets"]
    assert [form.instance.pk for form in assignments.formset.forms] == ["da-1"]
    assert (changing.status_code, deleting.status_code) == (403, 403)
    line.refresh_from_db()
    assert line.debit == Decimal("250.00")


def test_a_dimension_assignment_cannot_be_changed_or_deleted(staff, posting):
    assignment = DimensionAssignment.objects.get(pk="da-1")

    viewing = staff.get(change_url(assignment))
    deleting = staff.post(delete_url(assignment), {"post": "yes"})

    assert viewing.status_code == 200
    assert deleting.status_code == 403


@pytest.mark.parametrize(
    ("model", "term", "expected"),
    [
        (JournalPosting, "bt-00042", ["jp-1"]),
        (JournalPosting, "BT-bt-000", ["jp-1"]),
        (JournalPosting, "bt-00043", []),
        (JournalEntry, "bt-00042", ["je-1", "je-2"]),
        (JournalEntry, "BT-bt", ["je-1", "je-2"]),
        (DimensionAssignment, "bt-00042", ["da-1", "da-2"]),
    ],
)
def test_ledger_rows_are_found_by_reference_start_or_source_id(staff, posting, model, term, expected):
    response = staff.get(changelist_url(model), {"q": term})

    assert response.status_code == 200
    assert sorted(row.pk for row in response.context["cl"].result_list) == expected


def test_gl_lines_are_filtered_by_account_and_by_dimension(staff, posting):
    by_account = staff.get(changelist_url(JournalEntry), {"account__id__exact": "gl-sales"})
    by_cost_centre = staff.get(changelist_url(JournalEntry), {"cost_center__id__exact": "cc-hq"})
    unassigned = staff.get(changelist_url(JournalEntry), {"project__isnull": "True"})

    assert [row.pk for row in by_account.context["cl"].result_list] == ["je-2"]
    assert sorted(row.pk for row in by_cost_centre.context["cl"].result_list) == ["je-1", "je-2"]
    assert sorted(row.pk for row in unassigned.context["cl"].result_list) == ["je-1", "je-2"]


def test_the_gl_line_list_reads_its_page_in_one_query(staff, posting, django_assert_max_num_queries):
    # given many more lines on the same accounts and dimension
    for number in range(3, 23):
        JournalEntryFactory(
            id=f"je-{number}",
            posting=posting,
            line_number=number,
            account_id="gl-bank",
            cost_center_id="cc-hq",
            debit=Decimal("1.00"),
        )

    # when the list is opened, then the rows cost the same few queries however many there are
    with django_assert_max_num_queries(20):
        response = staff.get(changelist_url(JournalEntry))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 22
