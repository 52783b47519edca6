"""The banking API: documents written through the services, the guide's JSON as written."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from accounting.tests.factories import AccountingPeriodFactory, GLAccountFactory
from banking.choices import PostingStatus, ReconciliationStatus, TransactionType, TransferStatus
from banking.models import (
    BankAccount,
    BankTransaction,
    BankTransfer,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    StatementCsvProfile,
)
from banking.tests.factories import (
    BankAccountFactory,
    BankReconciliationFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    PostingRuleFactory,
    StatementCsvProfileFactory,
)
from cnperp.tests.api import client_for, ids, user_with_perms
from dimensions.tests.factories import BranchFactory, CostCenterFactory, DepartmentFactory, ProjectFactory

pytestmark = pytest.mark.django_db

TRANSACTIONS = "/api/v1/banking/transactions"
SUBMISSIONS = "/api/v1/banking/cash-submissions"
FLOATS = "/api/v1/banking/float-allocations"
TRANSFERS = "/api/v1/banking/transfers"

SMOKE_TEST = {
    "id": "smoke-test-1",
    "transaction_type": "deposit",
    "amount": "5000.00",
    "transaction_date": "2025-10-15",
    "bank_account_id": "ba-op",
    "branch_id": "test-branch",
    "cost_center_id": "cc-hq",
    "posting_status": "draft",
}


@pytest.fixture
def company():
    """The guide's names: account ba-op, branch test-branch, cost centre cc-hq."""
    return {
        "ba_op": BankAccountFactory(id="ba-op", name="Operating"),
        "ba_sav": BankAccountFactory(id="ba-sav", name="Savings"),
        "branch": BranchFactory(id="test-branch", code="TB", name="Test branch"),
        "branch_north": BranchFactory(id="br-north", code="NO", name="North"),
        "cc_hq": CostCenterFactory(id="cc-hq", code="HQ", name="Head office"),
        "cc_ops": CostCenterFactory(id="cc-ops", code="OPS", name="Operations"),
        "project": ProjectFactory(id="prj-roll", code="ROLL", name="Rollout"),
        "department": DepartmentFactory(id="dep-fin", code="FIN", name="Finance"),
    }


def _error_fields(response):
    return set(response.json())


# --- Bank transactions: create, read, change, delete -------------------------


def test_the_guides_smoke_test_object_is_created_as_written(admin_api, company):
    # when
    response = admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in SMOKE_TEST} == SMOKE_TEST
    assert body["direction"] == "in"
    assert body["created_by"] == "root-admin"
    assert body["posted_at"] is None
    stored = BankTransaction.objects.get(pk="smoke-test-1")
    assert stored.amount == Decimal("5000.00")
    assert stored.cost_center_id == "cc-hq"


def test_a_transaction_without_an_id_gets_a_generated_one(admin_api, company):
    data = {k: v for k, v in SMOKE_TEST.items() if k not in ("id", "posting_status")}
    response = admin_api.post(TRANSACTIONS, data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["id"].startswith("bt-")


def test_a_transaction_is_listed_and_retrieved(admin_api, company):
    # given
    BankTransactionFactory(id="bt-a.1", bank_account=company["ba_op"], amount=Decimal("12.50"))
    # when
    listed = admin_api.get(TRANSACTIONS)
    retrieved = admin_api.get(f"{TRANSACTIONS}/bt-a.1")
    # then
    assert ids(listed) == ["bt-a.1"]
    assert listed.json()["count"] == 1
    assert retrieved.status_code == 200
    assert retrieved.json()["amount"] == "12.50"
    assert retrieved.json()["bank_account_id"] == "ba-op"


def test_a_draft_transaction_is_changed_with_patch_and_put(admin_api, company):
    # given
    admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    # when
    patched = admin_api.patch(
        f"{TRANSACTIONS}/smoke-test-1",
        {"description": "Till takings", "project_id": "prj-roll"},
        format="json",
    )
    put = admin_api.put(f"{TRANSACTIONS}/smoke-test-1", {**SMOKE_TEST, "amount": "4999.99"}, format="json")
    # then
    assert patched.status_code == 200, patched.content
    assert patched.json()["project_id"] == "prj-roll"
    assert put.status_code == 200, put.content
    stored = BankTransaction.objects.get(pk="smoke-test-1")
    assert stored.amount == Decimal("4999.99")
    assert stored.updated_by.username == "root-admin"


def test_the_id_cannot_be_changed_by_an_update(admin_api, company):
    admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    response = admin_api.patch(f"{TRANSACTIONS}/smoke-test-1", {"id": "other"}, format="json")
    # Refused, not dropped: the client must not believe the record was renamed.
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["id"][0]
    assert BankTransaction.objects.filter(pk="smoke-test-1").exists()
    assert not BankTransaction.objects.filter(pk="other").exists()


def test_a_draft_transaction_is_deleted(admin_api, company):
    admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    response = admin_api.delete(f"{TRANSACTIONS}/smoke-test-1")
    assert response.status_code == 204
    assert admin_api.get(f"{TRANSACTIONS}/smoke-test-1").status_code == 404


def test_a_posted_transaction_answers_409_on_change_and_delete(admin_api, company):
    # given a posted transaction (status set directly, as posting would)
    BankTransactionFactory(id="bt-posted", bank_account=company["ba_op"], amount=Decimal("10.00"))
    BankTransaction.objects.filter(pk="bt-posted").update(posting_status=PostingStatus.POSTED)
    # when
    patched = admin_api.patch(f"{TRANSACTIONS}/bt-posted", {"amount": "99.00"}, format="json")
    put = admin_api.put(
        f"{TRANSACTIONS}/bt-posted",
        {
            "transaction_type": "deposit",
            "amount": "99.00",
            "transaction_date": "2025-10-15",
            "bank_account_id": "ba-op",
            "posting_status": "posted",
        },
        format="json",
    )
    deleted = admin_api.delete(f"{TRANSACTIONS}/bt-posted")
    # then
    for response in (patched, put, deleted):
        assert response.status_code == 409, response.content
        assert "posted and cannot be changed" in response.json()["detail"]
    stored = BankTransaction.objects.get(pk="bt-posted")
    assert stored.amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": 12}, None),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "5.001"}, "amount"),
        ({"amount": "12345678901234567.00"}, "amount"),
        ({"amount": None}, "amount"),
        ({"transaction_date": "15/10/2025"}, "transaction_date"),
        ({"transaction_type": "gift"}, "transaction_type"),
        ({"cost_centre_id": "cc-hq"}, "cost_centre_id"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"id": "ünïcode"}, "id"),
        ({"bank_account_id": "ba-nowhere"}, "bank_account_id"),
        ({"bank_account_id": {"id": "ba-op"}}, "bank_account_id"),
        ({"cost_center_id": "cc-nowhere"}, "cost_center_id"),
        ({"posting_status": "posted"}, "posting_status"),
        ({"direction": "out"}, "direction"),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_changes_nothing(admin_api, company, change, field):
    # when
    response = admin_api.post(TRANSACTIONS, {**SMOKE_TEST, **change}, format="json")
    # then
    if field is None:  # a JSON number is a valid amount
        assert response.status_code == 201, response.content
        assert response.json()["amount"] == "12.00"
        return
    assert response.status_code == 400, response.content
    assert _error_fields(response) == {field}
    assert BankTransaction.objects.count() == 0


def test_a_duplicate_id_answers_400_naming_id(admin_api, company):
    assert admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json").status_code == 201
    response = admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["id"][0]
    assert BankTransaction.objects.count() == 1


def test_an_inactive_cost_center_is_refused_under_the_clients_field_name(admin_api, company):
    # given
    company["cc_hq"].is_active = False
    company["cc_hq"].save()
    # when
    response = admin_api.post(TRANSACTIONS, SMOKE_TEST, format="json")
    # then the service's error on cost_center reaches the client as cost_center_id
    assert response.status_code == 400
    assert set(response.json()) == {"cost_center_id"}
    assert "inactive" in response.json()["cost_center_id"][0]


def test_a_transfer_type_without_direction_names_direction(admin_api, company):
    response = admin_api.post(TRANSACTIONS, {**SMOKE_TEST, "transaction_type": "adjustment"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"direction"}


def test_a_list_body_is_refused(admin_api, company):
    response = admin_api.post(TRANSACTIONS, [SMOKE_TEST], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


# --- Permissions ---------------------------------------------------------------


def test_a_user_without_the_view_permission_gets_403(company):
    client = client_for(user_with_perms("nobody"))
    assert client.get(TRANSACTIONS).status_code == 403


def test_a_reader_cannot_create_change_or_delete(company):
    # given
    BankTransactionFactory(id="bt-r", bank_account=company["ba_op"])
    client = client_for(user_with_perms("reader", "banking.view_banktransaction"))
    # then
    assert client.get(TRANSACTIONS).status_code == 200
    assert client.post(TRANSACTIONS, SMOKE_TEST, format="json").status_code == 403
    assert client.patch(f"{TRANSACTIONS}/bt-r", {"description": "x"}, format="json").status_code == 403
    assert client.delete(f"{TRANSACTIONS}/bt-r").status_code == 403


def test_a_clerk_with_add_permission_creates(company):
    client = client_for(
        user_with_perms("clerk", "banking.view_banktransaction", "banking.add_banktransaction")
    )
    assert client.post(TRANSACTIONS, SMOKE_TEST, format="json").status_code == 201


# --- Filters -------------------------------------------------------------------


@pytest.fixture
def ledger(company):
    """Four transactions that differ in one thing each."""
    BankTransactionFactory(
        id="bt-1",
        bank_account=company["ba_op"],
        amount=Decimal("100.00"),
        transaction_date=datetime.date(2025, 9, 30),
        branch=company["branch"],
        cost_center=company["cc_hq"],
        reference="INV-001",
        description="Rent",
    )
    BankTransactionFactory(
        id="bt-2",
        bank_account=company["ba_op"],
        amount=Decimal("250.00"),
        transaction_date=datetime.date(2025, 10, 1),
        project=company["project"],
        counterparty_name="Acme Supplies",
    )
    BankTransactionFactory(
        id="bt-3",
        bank_account=company["ba_sav"],
        transaction_type=TransactionType.FEE,
        direction="out",
        amount=Decimal("7.50"),
        transaction_date=datetime.date(2025, 10, 31),
        department=company["department"],
        cost_center=company["cc_ops"],
        reconciliation_status=ReconciliationStatus.RECONCILED,
    )
    BankTransactionFactory(
        id="bt-4",
        bank_account=company["ba_sav"],
        amount=Decimal("1000.00"),
        transaction_date=datetime.date(2025, 11, 1),
        branch=company["branch_north"],
    )
    BankTransaction.objects.filter(pk="bt-4").update(posting_status=PostingStatus.POSTED)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"bt-1", "bt-2", "bt-3", "bt-4"}),
        ({"bank_account_id": "ba-sav"}, {"bt-3", "bt-4"}),
        ({"branch_id": "test-branch"}, {"bt-1"}),
        ({"cost_center_id": "cc-ops"}, {"bt-3"}),
        ({"project_id": "prj-roll"}, {"bt-2"}),
        ({"department_id": "dep-fin"}, {"bt-3"}),
        ({"posting_status": "posted"}, {"bt-4"}),
        ({"posting_status": "draft"}, {"bt-1", "bt-2", "bt-3"}),
        ({"reconciliation_status": "reconciled"}, {"bt-3"}),
        ({"transaction_type": "fee"}, {"bt-3"}),
        ({"direction": "out"}, {"bt-3"}),
        ({"date_from": "2025-10-01"}, {"bt-2", "bt-3", "bt-4"}),
        ({"date_to": "2025-10-01"}, {"bt-1", "bt-2"}),
        ({"period": "2025-10"}, {"bt-2", "bt-3"}),
        ({"amount_min": "100"}, {"bt-1", "bt-2", "bt-4"}),
        ({"amount_max": "100.00"}, {"bt-1", "bt-3"}),
        ({"reference": "INV-001"}, {"bt-1"}),
        ({"search": "acme"}, {"bt-2"}),
        ({"search": "INV-0"}, {"bt-1"}),
        ({"bank_account_id": "ba-nowhere"}, set()),
    ],
)
def test_each_transaction_filter_narrows_the_list(admin_api, ledger, query, expected):
    response = admin_api.get(TRANSACTIONS, query)
    assert set(ids(response)) == expected


def test_transactions_are_ordered_on_request(admin_api, ledger):
    assert ids(admin_api.get(TRANSACTIONS, {"ordering": "amount"})) == ["bt-3", "bt-1", "bt-2", "bt-4"]
    assert ids(admin_api.get(TRANSACTIONS, {"ordering": "-amount"}))[0] == "bt-4"


def test_the_list_is_paginated(admin_api, ledger):
    body = admin_api.get(TRANSACTIONS, {"page_size": 3}).json()
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["next"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2025-13"}, "period"),
        ({"period": "October"}, "period"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"amount_min": "lots"}, "amount_min"),
        ({"posting_status": "final"}, "posting_status"),
    ],
)
def test_a_bad_filter_answers_400_naming_it(admin_api, ledger, query, field):
    response = admin_api.get(TRANSACTIONS, query)
    assert response.status_code == 400
    assert set(response.json()) == {field}


# --- Cash submissions and floats -----------------------------------------------


def test_a_cash_submission_goes_through_its_whole_life(admin_api, company):
    # when created
    created = admin_api.post(
        SUBMISSIONS,
        {
            "id": "cs-2025-10-14",
            "branch_id": "test-branch",
            "bank_account_id": "ba-op",
            "submission_date": "2025-10-14",
            "expected_amount": "2500.00",
            "cost_center_id": "cc-hq",
        },
        format="json",
    )
    # then
    assert created.status_code == 201, created.content
    assert created.json()["variance"] is None
    # when the bank credits less than expected
    changed = admin_api.patch(
        f"{SUBMISSIONS}/cs-2025-10-14",
        {"deposited_amount": "2490.00", "deposit_date": "2025-10-15", "status": "deposited"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["variance"] == "-10.00"
    assert ids(admin_api.get(SUBMISSIONS, {"branch_id": "test-branch"})) == ["cs-2025-10-14"]
    assert ids(admin_api.get(SUBMISSIONS, {"period": "2025-09"})) == []
    assert admin_api.get(f"{SUBMISSIONS}/cs-2025-10-14").status_code == 200
    # when deleted
    assert admin_api.delete(f"{SUBMISSIONS}/cs-2025-10-14").status_code == 204
    assert not CashSubmission.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expected_amount": "-1.00"}, "expected_amount"),
        ({"expected_amount": "1.001"}, "expected_amount"),
        ({"deposited_amount": "-0.01"}, "deposited_amount"),
        ({"branch_id": "br-nowhere"}, "branch_id"),
        ({"deposit_transaction_id": "bt-nowhere"}, "deposit_transaction_id"),
        ({"project": "prj-roll"}, "project"),
    ],
)
def test_a_bad_cash_submission_names_the_field(admin_api, company, change, field):
    data = {
        "branch_id": "test-branch",
        "bank_account_id": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": "2500.00",
    }
    response = admin_api.post(SUBMISSIONS, {**data, **change}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_a_posted_cash_submission_answers_409(admin_api, company):
    CashSubmissionFactory(id="cs-posted", branch=company["branch"], bank_account=company["ba_op"])
    CashSubmission.objects.filter(pk="cs-posted").update(posting_status=PostingStatus.POSTED)
    assert admin_api.patch(f"{SUBMISSIONS}/cs-posted", {"notes": "x"}, format="json").status_code == 409
    assert admin_api.delete(f"{SUBMISSIONS}/cs-posted").status_code == 409


def test_a_float_allocation_goes_through_its_whole_life(admin_api, company):
    created = admin_api.post(
        FLOATS,
        {
            "id": "fa-north-1",
            "branch_id": "br-north",
            "bank_account_id": "ba-op",
            "allocation_date": "2025-10-01",
            "amount": "500.00",
            "department_id": "dep-fin",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["outstanding_amount"] == "500.00"
    back = {"returned_amount": "120.00", "return_date": "2025-10-20"}
    # The status follows the returns posted, not a request: asking for one is refused, changing nothing.
    asked = admin_api.patch(f"{FLOATS}/fa-north-1", {**back, "status": "partially_returned"}, format="json")
    assert asked.status_code == 400, asked.content
    assert list(asked.json()) == ["status"]
    assert FloatAllocation.objects.get(pk="fa-north-1").returned_amount == 0
    returned = admin_api.patch(f"{FLOATS}/fa-north-1", back, format="json")
    assert returned.status_code == 200, returned.content
    assert returned.json()["outstanding_amount"] == "380.00"
    assert returned.json()["status"] == "allocated"
    assert ids(admin_api.get(FLOATS, {"department_id": "dep-fin", "amount_min": "500"})) == ["fa-north-1"]
    assert admin_api.delete(f"{FLOATS}/fa-north-1").status_code == 204
    assert not FloatAllocation.objects.exists()


def test_a_float_return_without_its_date_names_return_date(admin_api, company):
    FloatAllocationFactory(id="fa-1", branch=company["branch"], bank_account=company["ba_op"])
    response = admin_api.patch(f"{FLOATS}/fa-1", {"returned_amount": "10.00"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"return_date"}


def test_a_posted_float_answers_409(admin_api, company):
    FloatAllocationFactory(id="fa-posted", branch=company["branch"], bank_account=company["ba_op"])
    FloatAllocation.objects.filter(pk="fa-posted").update(posting_status=PostingStatus.POSTED)
    assert admin_api.patch(f"{FLOATS}/fa-posted", {"purpose": "x"}, format="json").status_code == 409
    assert admin_api.delete(f"{FLOATS}/fa-posted").status_code == 409


# --- Transfers -----------------------------------------------------------------

TRANSFER = {
    "id": "tr-oct-1",
    "from_bank_account_id": "ba-op",
    "to_bank_account_id": "ba-sav",
    "amount": "1000.00",
    "initiated_date": "2025-10-10",
    "reference": "TR-OCT-1",
    "allocations": [
        {"amount": "600.00", "cost_center_id": "cc-hq"},
        {"amount": "400.00", "cost_center_id": "cc-ops", "project_id": "prj-roll"},
    ],
}


def test_a_transfer_is_created_with_its_allocations_and_sending_leg(admin_api, company):
    # when
    response = admin_api.post(TRANSFERS, TRANSFER, format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "initiated"
    assert [(a["amount"], a["cost_center_id"]) for a in body["allocations"]] == [
        ("600.00", "cc-hq"),
        ("400.00", "cc-ops"),
    ]
    assert [(leg["direction"], leg["bank_account_id"], leg["amount"]) for leg in body["legs"]] == [
        ("out", "ba-op", "1000.00")
    ]
    assert admin_api.get(f"{TRANSFERS}/tr-oct-1").json() == body
    assert ids(admin_api.get(TRANSFERS, {"bank_account_id": "ba-sav"})) == ["tr-oct-1"]


def test_a_transfer_without_allocations_carries_its_own_dimensions(admin_api, company):
    data = {k: v for k, v in TRANSFER.items() if k != "allocations"}
    response = admin_api.post(TRANSFERS, {**data, "cost_center_id": "cc-hq"}, format="json")
    assert response.status_code == 201, response.content
    assert [(a["amount"], a["cost_center_id"]) for a in response.json()["allocations"]] == [
        ("1000.00", "cc-hq")
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"allocations": [{"amount": "600.00"}]}, "allocations"),
        ({"allocations": [{"amount": "500.00"}, {"amount": "500.00"}]}, "allocations"),
        ({"allocations": [{"amount": "1000.001"}]}, "allocations"),
        ({"allocations": [{"amount": "1000.00", "colour": "red"}]}, "allocations"),
        ({"to_bank_account_id": "ba-op"}, "to_bank_account_id"),
        ({"amount": "-1000.00"}, "amount"),
        ({"from_bank_account_id": "ba-nowhere"}, "from_bank_account_id"),
    ],
)
def test_a_bad_transfer_names_the_field_and_creates_nothing(admin_api, company, change, field):
    response = admin_api.post(TRANSFERS, {**TRANSFER, **change}, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}
    assert not BankTransfer.objects.exists()
    assert not BankTransaction.objects.exists()


def test_a_transfer_is_received_once(admin_api, company):
    # given
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    # when
    received = admin_api.post(f"{TRANSFERS}/tr-oct-1/receive", {"received_date": "2025-10-12"}, format="json")
    again = admin_api.post(f"{TRANSFERS}/tr-oct-1/receive", {"received_date": "2025-10-13"}, format="json")
    # then
    assert received.status_code == 200, received.content
    body = received.json()
    assert body["status"] == TransferStatus.RECEIVED
    assert body["received_amount"] == "1000.00"
    assert sorted((leg["direction"], leg["bank_account_id"]) for leg in body["legs"]) == [
        ("in", "ba-sav"),
        ("out", "ba-op"),
    ]
    assert again.status_code == 409
    assert admin_api.post(f"{TRANSFERS}/tr-oct-1/fail", {"reason": "x"}, format="json").status_code == 409


def test_a_transfer_cannot_arrive_before_it_left(admin_api, company):
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    response = admin_api.post(f"{TRANSFERS}/tr-oct-1/receive", {"received_date": "2025-10-01"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"received_date"}


def test_a_failed_transfer_keeps_its_reason(admin_api, company):
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    missing = admin_api.post(f"{TRANSFERS}/tr-oct-1/fail", {}, format="json")
    failed = admin_api.post(f"{TRANSFERS}/tr-oct-1/fail", {"reason": "Beneficiary closed"}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()) == {"reason"}
    assert failed.status_code == 200
    assert failed.json()["status"] == "failed"
    assert failed.json()["failure_reason"] == "Beneficiary closed"


def test_receiving_a_transfer_needs_the_change_permission(company, admin_api):
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    adder = client_for(user_with_perms("adder", "banking.view_banktransfer", "banking.add_banktransfer"))
    changer = client_for(
        user_with_perms("changer", "banking.view_banktransfer", "banking.change_banktransfer")
    )
    body = {"received_date": "2025-10-12"}
    assert adder.post(f"{TRANSFERS}/tr-oct-1/receive", body, format="json").status_code == 403
    assert changer.post(f"{TRANSFERS}/tr-oct-1/receive", body, format="json").status_code == 200


def test_a_transfer_is_never_edited_or_deleted(admin_api, company):
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    assert admin_api.patch(f"{TRANSFERS}/tr-oct-1", {"amount": "1.00"}, format="json").status_code == 405
    assert admin_api.delete(f"{TRANSFERS}/tr-oct-1").status_code == 405


def test_a_transfer_leg_cannot_be_deleted_as_a_transaction(admin_api, company):
    admin_api.post(TRANSFERS, TRANSFER, format="json")
    leg = BankTransaction.objects.get(transfer_id="tr-oct-1")
    response = admin_api.delete(f"{TRANSACTIONS}/{leg.pk}")
    assert response.status_code == 409
    assert ids(admin_api.get(TRANSACTIONS, {"transfer_id": "tr-oct-1"})) == [leg.pk]


# --- Bank accounts, posting rules, CSV profiles, reconciliations -----------------


def test_a_bank_account_is_created_changed_and_deleted(admin_api):
    GLAccountFactory(id="gl-1120", code="1120", name="Bank: payroll")
    created = admin_api.post(
        "/api/v1/banking/bank-accounts",
        {
            "id": "ba-pay",
            "name": "Payroll",
            "bank_name": "First National",
            "iban": "GB33BUKB20201555555555",
            "currency": "GBP",
            "gl_account_id": "gl-1120",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    changed = admin_api.patch(
        "/api/v1/banking/bank-accounts/ba-pay", {"name": "Payroll (GBP)"}, format="json"
    )
    assert changed.json()["name"] == "Payroll (GBP)"
    assert ids(admin_api.get("/api/v1/banking/bank-accounts", {"currency": "GBP"})) == ["ba-pay"]
    assert admin_api.delete("/api/v1/banking/bank-accounts/ba-pay").status_code == 204
    assert not BankAccount.objects.filter(pk="ba-pay").exists()


def test_a_bank_account_needs_a_number_or_an_iban(admin_api):
    GLAccountFactory(id="gl-1120", code="1120")
    response = admin_api.post(
        "/api/v1/banking/bank-accounts",
        {"name": "Payroll", "bank_name": "First National", "gl_account_id": "gl-1120"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"account_number"}


def test_a_second_bank_account_on_a_gl_account_already_in_use_is_refused(admin_api):
    # An account's books are the lines on its GL account: a second account on it would show the
    # first's money as its own, and a report of both counted the books once and statements twice.
    GLAccountFactory(id="gl-1120", code="1120")
    GLAccountFactory(id="gl-1121", code="1121")
    body = {"name": "Payroll", "bank_name": "First National", "currency": "GBP", "gl_account_id": "gl-1120"}
    url = "/api/v1/banking/bank-accounts"
    assert (
        admin_api.post(url, {**body, "id": "ba-pay", "account_number": "1"}, format="json").status_code == 201
    )

    second = admin_api.post(url, {**body, "id": "ba-pay2", "account_number": "2"}, format="json")
    other = admin_api.post(
        url, {**body, "id": "ba-pay3", "account_number": "3", "gl_account_id": "gl-1121"}, format="json"
    )
    moved = admin_api.patch(f"{url}/ba-pay3", {"gl_account_id": "gl-1120"}, format="json")
    kept = admin_api.patch(
        f"{url}/ba-pay", {"name": "Payroll (GBP)", "gl_account_id": "gl-1120"}, format="json"
    )

    assert second.status_code == moved.status_code == 400, (second.content, moved.content)
    for response in (second, moved):
        assert "already the ledger account of bank account ba-pay" in response.json()["gl_account_id"][0]
    assert not BankAccount.objects.filter(pk="ba-pay2").exists()
    assert BankAccount.objects.get(pk="ba-pay3").gl_account_id == "gl-1121"
    assert (other.status_code, kept.status_code) == (201, 200)
    # Two accounts that shared one before the rule stay editable: renamed, not refused.
    BankAccount.objects.filter(pk="ba-pay3").update(gl_account_id="gl-1120")
    renamed = admin_api.patch(f"{url}/ba-pay3", {"name": "Payroll 3"}, format="json")
    assert renamed.status_code == 200, renamed.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iban", "GB34BUKB20201555555555"),  # one check digit off
        ("iban", "GB33BUKB2020155555555"),  # a digit short
        ("iban", "GB33"),
        ("iban", "😀🏦"),
        ("bic", "DEUT"),
        ("bic", "DEUTDEFF5"),
        ("bic", "😀🏦"),
    ],
)
def test_a_bank_account_with_a_mistyped_iban_or_bic_is_refused_naming_it(admin_api, field, value):
    GLAccountFactory(id="gl-1120", code="1120")
    body = {"id": "ba-pay", "name": "Payroll", "bank_name": "First National", "currency": "GBP"}
    body.update(gl_account_id="gl-1120", iban="GB33BUKB20201555555555", bic="BUKBGB22")

    response = admin_api.post("/api/v1/banking/bank-accounts", {**body, field: value}, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert not BankAccount.objects.filter(pk="ba-pay").exists()


def test_an_iban_written_in_groups_is_kept_compact_in_capitals(admin_api):
    GLAccountFactory(id="gl-1120", code="1120")
    body = {"id": "ba-pay", "name": "Payroll", "bank_name": "First National", "currency": "GBP"}

    response = admin_api.post(
        "/api/v1/banking/bank-accounts",
        {**body, "gl_account_id": "gl-1120", "iban": "gb33 bukb 2020 1555 5555 55", "bic": "bukbgb22xxx"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["iban"], response.json()["bic"]) == ("GB33BUKB20201555555555", "BUKBGB22XXX")


def test_a_long_iban_written_in_groups_fits_and_an_old_one_does_not_stop_a_rename(admin_api, superuser):
    GLAccountFactory(id="gl-1120", code="1120")
    GLAccountFactory(id="gl-1121", code="1121")  # each bank account has a GL account of its own
    body = {"id": "ba-mt", "name": "Valletta", "bank_name": "Bank of Valletta", "currency": "EUR"}
    # 31 characters compact, 39 as people write it: compacted before its length is checked
    grouped = "mt84 malt 0110 0001 2345 mtlc ast0 01s"

    created = admin_api.post(
        "/api/v1/banking/bank-accounts", {**body, "gl_account_id": "gl-1120", "iban": grouped}, format="json"
    )
    browser = Client()
    browser.force_login(superuser)
    form = {
        "name": "Valletta 2",
        "bank_name": "BOV",
        "currency": "EUR",
        "is_active": "on",
        "gl_account": "gl-1121",
    }
    added = browser.post(
        "/admin/banking/bankaccount/add/",
        {**form, "id": "ba-mt2", "iban": grouped, "bic": "valltmmt", "account_number": "", "branch": ""},
    )
    # An IBAN stored before the check, in groups and with a wrong check digit, keeps its account editable.
    BankAccount.objects.filter(pk="ba-mt").update(iban="gb34 bukb 2020 1555 5555 55")
    renamed = admin_api.patch("/api/v1/banking/bank-accounts/ba-mt", {"name": "Valletta main"}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["iban"] == "MT84MALT011000012345MTLCAST001S"
    assert added.status_code == 302, added.content.decode()[:3000]
    assert BankAccount.objects.get(pk="ba-mt2").iban == "MT84MALT011000012345MTLCAST001S"
    assert BankAccount.objects.get(pk="ba-mt2").bic == "VALLTMMT"
    assert renamed.status_code == 200, renamed.content


def test_a_bank_account_in_use_answers_409_on_delete(admin_api, company):
    BankTransactionFactory(id="bt-1", bank_account=company["ba_op"])
    response = admin_api.delete("/api/v1/banking/bank-accounts/ba-op")
    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert BankAccount.objects.filter(pk="ba-op").exists()


def test_posting_rules_keep_one_default_per_document_type(admin_api):
    GLAccountFactory(id="gl-4000", code="4000", name="Sales")
    rule = {"document_type": "deposit", "contra_account_id": "gl-4000"}
    first = admin_api.post("/api/v1/banking/posting-rules", {**rule, "id": "pr-dep"}, format="json")
    second = admin_api.post("/api/v1/banking/posting-rules", rule, format="json")
    assert first.status_code == 201, first.content
    assert second.status_code == 400
    assert set(second.json()) == {"document_type"}
    changed = admin_api.patch("/api/v1/banking/posting-rules/pr-dep", {"is_active": False}, format="json")
    assert changed.status_code == 200
    assert ids(admin_api.get("/api/v1/banking/posting-rules", {"is_active": "false"})) == ["pr-dep"]
    assert admin_api.delete("/api/v1/banking/posting-rules/pr-dep").status_code == 204
    assert not PostingRule.objects.exists()


def test_a_posting_rule_is_read_back(admin_api):
    PostingRuleFactory(id="pr-1", contra_account=GLAccountFactory(id="gl-9"))
    body = admin_api.get("/api/v1/banking/posting-rules/pr-1").json()
    assert body["contra_account_id"] == "gl-9"
    assert body["bank_account_id"] is None


def test_a_csv_profile_is_checked_like_in_the_admin(admin_api):
    url = "/api/v1/banking/csv-profiles"
    bad = admin_api.post(
        url, {"name": "Split bank", "date_column": "Date", "amount_mode": "split"}, format="json"
    )
    good = admin_api.post(
        url,
        {"id": "csv-acme", "name": "Acme", "date_column": "Date", "amount_column": "Amount"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"debit_column"}
    assert good.status_code == 201, good.content
    assert admin_api.patch(f"{url}/csv-acme", {"delimiter": ";"}, format="json").json()["delimiter"] == ";"
    assert ids(admin_api.get(url, {"amount_mode": "signed"})) == ["csv-acme"]
    assert admin_api.delete(f"{url}/csv-acme").status_code == 204
    assert not StatementCsvProfile.objects.exists()


def test_csv_profiles_are_listed(admin_api):
    StatementCsvProfileFactory(id="csv-1", name="Bank A")
    assert ids(admin_api.get("/api/v1/banking/csv-profiles")) == ["csv-1"]


def test_reconciliations_are_read_only(admin_api, company):
    # given
    BankReconciliationFactory(
        id="rec-op-2025-10",
        bank_account=company["ba_op"],
        period=AccountingPeriodFactory(id="2025-10"),
        variance=Decimal("12.34"),
    )
    url = "/api/v1/banking/reconciliations"
    # then
    assert ids(admin_api.get(url, {"bank_account_id": "ba-op", "period": "2025-10"})) == ["rec-op-2025-10"]
    assert ids(admin_api.get(url, {"period": "2025-11"})) == []
    assert admin_api.get(url, {"period": "2025-1"}).status_code == 400
    assert admin_api.get(f"{url}/rec-op-2025-10").json()["variance"] == "12.34"
    assert admin_api.post(url, {}, format="json").status_code == 405
    assert admin_api.delete(f"{url}/rec-op-2025-10").status_code == 405


def test_the_browsable_apis_html_form_creates_a_transaction(client, superuser, company):
    # given a browser session; the HTML form posts the CSRF token with the fields
    client.force_login(superuser)
    form = {**SMOKE_TEST, "csrfmiddlewaretoken": "token-from-the-form"}
    # when
    response = client.post(TRANSACTIONS, form, HTTP_ACCEPT="application/json")
    # then
    assert response.status_code == 201, response.content
    assert BankTransaction.objects.get(pk="smoke-test-1").amount == Decimal("5000.00")


def test_the_transfer_list_describes_and_offers_the_body_a_transfer_is_started_with(admin_api, company):
    # OPTIONS and the browsable API's form took the transfer as read, every field read-only:
    # there was no form to start a transfer with.
    options = admin_api.options(TRANSFERS)
    page = admin_api.get(TRANSFERS, HTTP_ACCEPT="text/html")

    post = options.json()["actions"]["POST"]
    for name in ("from_bank_account_id", "to_bank_account_id", "amount", "initiated_date"):
        assert post[name]["read_only"] is False, name
    assert "status" not in post
    assert page.status_code == 200
    assert 'name="from_bank_account_id"' in page.content.decode()
