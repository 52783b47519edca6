"""The accounting API: the chart of accounts, periods and GL lines (read-only)."""

import datetime
from decimal import Decimal

import pytest

from accounting.choices import SourceType
from accounting.models import GLAccount
from accounting.tests.factories import (
    AccountingPeriodFactory,
    DimensionAssignmentFactory,
    GLAccountFactory,
    JournalEntryFactory,
    JournalPostingFactory,
)
from cnperp.tests.api import client_for, ids, user_with_perms
from dimensions.tests.factories import CostCenterFactory, DepartmentFactory, ProjectFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounting/gl-accounts"
PERIODS = "/api/v1/accounting/periods"
LINES = "/api/v1/accounting/journal-entries"


def test_a_gl_account_goes_through_create_read_change_delete(admin_api):
    created = admin_api.post(
        ACCOUNTS, {"id": "gl-1100", "code": "1100", "name": "Bank", "account_type": "asset"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert ids(admin_api.get(ACCOUNTS, {"account_type": "asset"})) == ["gl-1100"]
    assert ids(admin_api.get(ACCOUNTS, {"account_type": "income"})) == []
    changed = admin_api.patch(f"{ACCOUNTS}/gl-1100", {"name": "Bank: operating"}, format="json")
    assert changed.json()["name"] == "Bank: operating"
    assert admin_api.delete(f"{ACCOUNTS}/gl-1100").status_code == 204
    assert not GLAccount.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account_type": "bucket"}, "account_type"),
        ({"code": "1000"}, "code"),
        ({"id": "gl/1"}, "id"),
        ({"parent_id": "gl-nowhere"}, "parent_id"),
        ({"balance": "10.00"}, "balance"),
    ],
)
def test_a_bad_gl_account_names_the_field(admin_api, body, field):
    GLAccountFactory(id="gl-1000", code="1000")
    base = {"code": "2000", "name": "Payables", "account_type": "liability"}
    response = admin_api.post(ACCOUNTS, {**base, **body}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_a_gl_account_with_lines_answers_409_on_delete(admin_api):
    JournalEntryFactory(account=GLAccountFactory(id="gl-1100"), debit=Decimal("5.00"))
    response = admin_api.delete(f"{ACCOUNTS}/gl-1100")
    assert response.status_code == 409
    assert GLAccount.objects.filter(pk="gl-1100").exists()


def test_periods_are_listed_and_read_but_not_written(admin_api):
    AccountingPeriodFactory(id="2025-09")
    AccountingPeriodFactory(id="2025-10", status="closed")
    assert ids(admin_api.get(PERIODS)) == ["2025-09", "2025-10"]
    assert ids(admin_api.get(PERIODS, {"status": "closed"})) == ["2025-10"]
    assert admin_api.get(f"{PERIODS}/2025-10").json()["end_date"] == "2025-10-31"
    assert admin_api.post(PERIODS, {"id": "2025-11"}, format="json").status_code == 405
    assert admin_api.patch(f"{PERIODS}/2025-10", {"status": "open"}, format="json").status_code == 405


def test_the_year_filter_takes_the_books_first_to_last_year_only(admin_api):
    for code in ("1900-01", "2025-10", "2999-12"):
        AccountingPeriodFactory(id=code)
    assert ids(admin_api.get(PERIODS, {"year": "2025"})) == ["2025-10"]
    assert ids(admin_api.get(PERIODS, {"year": "1900"})) == ["1900-01"]
    assert ids(admin_api.get(PERIODS, {"year": "2999"})) == ["2999-12"]
    for outside in ("1899", "3000"):
        assert admin_api.get(PERIODS, {"year": outside}).status_code == 400


@pytest.mark.parametrize("year", ["99999", "0", "-5", "1e10", "1899", "3000", "2025.5", "twenty"])
def test_a_year_outside_the_books_or_not_whole_is_a_400_naming_it(admin_api, year):
    # A year Python's dates cannot hold used to reach the query and answer 500.
    AccountingPeriodFactory(id="2025-10")
    response = admin_api.get(PERIODS, {"year": year})
    assert response.status_code == 400, response.content
    assert response.json() == {"year": ["Give a year from 1900 to 2999, as a whole number."]}


def test_a_gl_account_cannot_be_its_own_parent(admin_api):
    GLAccountFactory(id="gl-x1", code="1000", name="Cash")
    response = admin_api.patch(f"{ACCOUNTS}/gl-x1", {"parent_id": "gl-x1", "name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"parent_id": ["A GL account cannot be its own ancestor."]}
    account = GLAccount.objects.get(pk="gl-x1")
    assert (account.parent_id, account.name) == (None, "Cash")


def test_gl_accounts_cannot_be_each_others_parent(admin_api):
    # given gl-top as gl-child's parent (through gl-mid)
    GLAccountFactory(id="gl-top", code="1000")
    GLAccountFactory(id="gl-mid", code="1100", parent_id="gl-top")
    GLAccountFactory(id="gl-child", code="1110", parent_id="gl-mid")
    # when gl-top is put under its own descendant, directly or two levels down
    for descendant in ("gl-mid", "gl-child"):
        response = admin_api.patch(f"{ACCOUNTS}/gl-top", {"parent_id": descendant}, format="json")
        # then it is refused on parent_id and nothing changes
        assert response.status_code == 400
        assert set(response.json()) == {"parent_id"}
        assert GLAccount.objects.get(pk="gl-top").parent_id is None
    # while a move that makes no loop is still taken
    response = admin_api.patch(f"{ACCOUNTS}/gl-child", {"parent_id": "gl-top"}, format="json")
    assert response.status_code == 200, response.content
    assert GLAccount.objects.get(pk="gl-child").parent_id == "gl-top"


@pytest.fixture
def gl():
    """Two balanced postings: one in September with dimensions, one in October without."""
    bank, sales = GLAccountFactory(id="gl-bank"), GLAccountFactory(id="gl-sales", account_type="income")
    cost_center, project = CostCenterFactory(id="cc-hq"), ProjectFactory(id="prj-roll")
    department = DepartmentFactory(id="dep-fin")
    september = JournalPostingFactory(
        reference="BT-bt-1",
        source_type=SourceType.BANK_TRANSACTION,
        source_id="bt-1",
        entry_date=datetime.date(2025, 9, 30),
        period=AccountingPeriodFactory(id="2025-09"),
    )
    october = JournalPostingFactory(
        reference="CS-cs-1",
        source_type=SourceType.CASH_SUBMISSION,
        source_id="cs-1",
        entry_date=datetime.date(2025, 10, 2),
        period=AccountingPeriodFactory(id="2025-10"),
    )
    dims = {"cost_center": cost_center, "project": project, "department": department}
    je_1 = JournalEntryFactory(
        id="je-1", posting=september, line_number=1, account=bank, debit=Decimal("100.00"), **dims
    )
    JournalEntryFactory(
        id="je-2", posting=september, line_number=2, account=sales, credit=Decimal("100.00"), **dims
    )
    je_3 = JournalEntryFactory(
        id="je-3", posting=october, line_number=1, account=bank, debit=Decimal("40.00")
    )
    JournalEntryFactory(id="je-4", posting=october, line_number=2, account=sales, credit=Decimal("40.00"))
    DimensionAssignmentFactory(journal_entry=je_1, dimension_type="cost_center", cost_center=cost_center)
    DimensionAssignmentFactory(journal_entry=je_1, dimension_type="project", project=project)
    DimensionAssignmentFactory(journal_entry=je_3, dimension_type="cost_center")


def test_a_gl_line_is_read_with_its_dimension_assignments(admin_api, gl):
    body = admin_api.get(f"{LINES}/je-1").json()
    assert body["reference"] == "BT-bt-1"
    assert body["debit"] == "100.00"
    assert body["credit"] == "0.00"
    assert body["account_id"] == "gl-bank"
    assert body["period_id"] == "2025-09"
    assert sorted((a["dimension_type"], a["value_id"]) for a in body["dimension_assignments"]) == [
        ("cost_center", "cc-hq"),
        ("project", "prj-roll"),
    ]
    unassigned = admin_api.get(f"{LINES}/je-3").json()["dimension_assignments"]
    assert unassigned == [{"dimension_type": "cost_center", "value_id": None}]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["je-1", "je-2", "je-3", "je-4"]),
        ({"account_id": "gl-sales"}, ["je-2", "je-4"]),
        ({"period": "2025-10"}, ["je-3", "je-4"]),
        ({"date_from": "2025-10-01"}, ["je-3", "je-4"]),
        ({"date_to": "2025-09-30"}, ["je-1", "je-2"]),
        ({"reference": "CS-cs-1"}, ["je-3", "je-4"]),
        ({"source_type": "bank_transaction"}, ["je-1", "je-2"]),
        ({"source_id": "cs-1"}, ["je-3", "je-4"]),
        ({"cost_center_id": "cc-hq"}, ["je-1", "je-2"]),
        ({"project_id": "prj-roll"}, ["je-1", "je-2"]),
        ({"department_id": "dep-fin"}, ["je-1", "je-2"]),
        ({"search": "BT-bt"}, ["je-1", "je-2"]),
    ],
)
def test_each_gl_line_filter_narrows_the_list(admin_api, gl, query, expected):
    assert sorted(ids(admin_api.get(LINES, query))) == expected


@pytest.mark.parametrize(
    ("query", "field"), [({"period": "2025-1"}, "period"), ({"date_to": "x"}, "date_to")]
)
def test_a_bad_gl_line_filter_names_it(admin_api, gl, query, field):
    response = admin_api.get(LINES, query)
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_gl_lines_cannot_be_written_through_the_api(admin_api, gl):
    assert admin_api.post(LINES, {}, format="json").status_code == 405
    assert admin_api.patch(f"{LINES}/je-1", {"debit": "1.00"}, format="json").status_code == 405
    assert admin_api.delete(f"{LINES}/je-1").status_code == 405


def test_reading_gl_lines_needs_the_view_permission(gl):
    assert client_for(user_with_perms("nobody")).get(LINES).status_code == 403
    reader = client_for(user_with_perms("auditor", "accounting.view_journalentry"))
    assert len(ids(reader.get(LINES))) == 4


def test_a_bank_accounts_own_gl_account_stays_active_while_the_bank_account_is(admin_api):
    from banking.tests.factories import BankAccountFactory

    bank = BankAccountFactory(id="ba-op")
    refused = admin_api.patch(f"{ACCOUNTS}/{bank.gl_account_id}", {"is_active": False}, format="json")
    assert refused.status_code == 400, refused.content
    assert 'Bank account "ba-op" keeps its books in this account' in str(refused.json()["is_active"])
    assert GLAccount.objects.get(pk=bank.gl_account_id).is_active

    # Once the bank account is retired, its GL account may be too.
    bank.is_active = False
    bank.save()
    retired = admin_api.patch(f"{ACCOUNTS}/{bank.gl_account_id}", {"is_active": False}, format="json")
    assert retired.status_code == 200, retired.content


def test_a_gl_accounts_type_stays_once_it_has_posted_lines(admin_api):
    # Given an expense account with a posted line, and another with none
    used = GLAccountFactory(id="gl-6200", code="6200", account_type="expense")
    JournalEntryFactory(account=used, debit=Decimal("5.00"))
    GLAccountFactory(id="gl-6300", code="6300", account_type="expense")

    # Turning the used one into income would restate profit and loss: refused, naming the field
    refused = admin_api.patch(f"{ACCOUNTS}/gl-6200", {"account_type": "income"}, format="json")
    assert refused.status_code == 400, refused.content
    assert "has posted lines as expense; its type stays" in str(refused.json()["account_type"])
    assert GLAccount.objects.get(pk="gl-6200").account_type == "expense"

    # The unused one may still be put right, and the used one keeps its other fields editable
    retyped = admin_api.patch(f"{ACCOUNTS}/gl-6300", {"account_type": "income"}, format="json")
    assert retyped.status_code == 200, retyped.content
    renamed = admin_api.patch(f"{ACCOUNTS}/gl-6200", {"name": "Travel"}, format="json")
    assert renamed.status_code == 200, renamed.content
