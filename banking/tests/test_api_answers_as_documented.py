"""What an integrator met at the API's edges: OPTIONS of an export, an unknown format, the documented
shape of a list, allocation errors in one shape, and transfer actions that a retry may repeat."""

import pytest
from django.test import override_settings

from banking.choices import TransferStatus
from banking.models import BankTransaction, BankTransfer
from banking.tests.factories import (
    BankAccountFactory,
    BankTransactionFactory,
    ReconciliationMatchFactory,
    StatementLineFactory,
)
from dimensions.tests.factories import CostCenterFactory, ProjectFactory

pytestmark = pytest.mark.django_db

TRANSFERS = "/api/v1/banking/transfers"
TRANSFER = {
    "id": "tr-oct-1",
    "from_bank_account_id": "ba-op",
    "to_bank_account_id": "ba-sav",
    "amount": "1000.00",
    "initiated_date": "2025-10-10",
    "allocations": [
        {"amount": "600.00", "cost_center_id": "cc-hq"},
        {"amount": "400.00", "cost_center_id": "cc-ops", "project_id": "prj-roll"},
    ],
}


@pytest.fixture
def company():
    """Two accounts, two cost centres and a project, by the guide's names."""
    return {
        "ba_op": BankAccountFactory(id="ba-op", name="Operating"),
        "ba_sav": BankAccountFactory(id="ba-sav", name="Savings"),
        "cc_hq": CostCenterFactory(id="cc-hq", code="HQ", name="Head office"),
        "cc_ops": CostCenterFactory(id="cc-ops", code="OPS", name="Operations"),
        "project": ProjectFactory(id="prj-roll", code="ROLL", name="Rollout"),
    }


REPORTS = {
    "cash-position": "bank_account_id=ba-op&period=2025-10",
    "dimensional-analysis": "bank_account_id=ba-op&period=2025-10",
    "variance-report": "bank_account_id=ba-op&period=2025-10",
    "transfer-tracking": "bank_account_id=ba-op&period=2025-10",
}


# --- OPTIONS of a report asked as an export ------------------------------------


@pytest.mark.parametrize("report", list(REPORTS))
@pytest.mark.parametrize(
    ("export", "accept"), [("csv", None), ("xlsx", None), (None, "text/csv")], ids=["csv", "xlsx", "accept"]
)
def test_options_of_a_report_asked_as_an_export_answers_its_description_as_json(
    admin_api, company, report, export, accept
):
    # given a report's URL asking for a spreadsheet
    url = f"/api/v1/banking/{report}?{REPORTS[report]}" + (f"&format={export}" if export else "")
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    # when its description is asked for
    response = admin_api.options(url, **headers)
    # then it is the description, as JSON
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["name"]


# --- A format the endpoint does not render ----------------------------------------


@pytest.mark.parametrize("wanted", ["csv", "xlsx", "bogus"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/banking/transactions/bt-1",
        "/api/v1/banking/transactions",
        "/api/v1/accounting/journal-entries",
        "/api/v1/dimensions/cost-centers",
        "/api/v1/banking/reconciliation/matches?bank_account_id=ba-op&period=2025-10",
    ],
)
def test_a_format_the_endpoint_does_not_render_is_a_400_naming_format(admin_api, company, url, wanted):
    # given a record that exists
    BankTransactionFactory(id="bt-1", bank_account=company["ba_op"])
    # when it is asked for in a format this endpoint does not give
    joiner = "&" if "?" in url else "?"
    response = admin_api.get(f"{url}{joiner}format={wanted}")
    # then the answer names the parameter and the formats on offer, and denies no record
    assert response.status_code == 400, response.content
    message = response.json()["format"][0]
    assert f'"{wanted}"' in message
    assert "json" in message
    assert "xlsx" not in message.split(";", 1)[1]


def test_a_report_still_names_its_exports_for_an_unknown_format(admin_api, company):
    response = admin_api.get(f"/api/v1/banking/cash-position?{REPORTS['cash-position']}&format=bogus")
    assert response.status_code == 400
    message = response.json()["format"][0]
    assert "csv" in message and "xlsx" in message


# --- The documented shape of every list ------------------------------------------


def _documented_shape(schema, content):
    body = content.get("application/json", {}).get("schema")
    if body is None:
        return None
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    if body.get("type") == "array":
        return "list"
    if "results" in body.get("properties", {}):
        return "page"
    return "object"


# The query a GET needs to answer 200 at all.
REQUIRED_QUERY = {
    "/api/v1/banking/reconciliation": {"bank_account_id": "ba-op", "period": "2025-10"},
    "/api/v1/banking/reconciliation/matches": {"bank_account_id": "ba-op", "period": "2025-10"},
    "/api/v1/banking/cash-position": {"bank_account_id": "ba-op", "period": "2025-10"},
    "/api/v1/banking/dimensional-analysis": {"bank_account_id": "ba-op", "period": "2025-10"},
    "/api/v1/banking/variance-report": {"bank_account_id": "ba-op", "period": "2025-10"},
    "/api/v1/banking/transfer-tracking": {"bank_account_id": "ba-op", "period": "2025-10"},
}


def test_every_list_answers_the_shape_its_schema_documents(admin_api, company):
    # given a match to list, so that the matches answer has a row
    line = StatementLineFactory(statement__bank_account=company["ba_op"], booking_date="2025-10-05")
    ReconciliationMatchFactory(
        bank_account=company["ba_op"],
        statement_line=line,
        bank_transaction=BankTransactionFactory(bank_account=company["ba_op"]),
    )
    schema = admin_api.get("/api/schema", {"format": "json"}).json()
    checked = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        shape = _documented_shape(schema, get["responses"].get("200", {}).get("content", {}))
        if shape is None:
            continue
        # when the list is read
        response = admin_api.get(path, REQUIRED_QUERY.get(path, {}))
        assert response.status_code == 200, (path, response.content)
        body = response.json()
        # then it has the documented shape
        real = "list" if isinstance(body, list) else "page" if "results" in body else "object"
        assert real == shape, path
        checked.append(path)
    assert "/api/v1/banking/reconciliation/matches" in checked


# --- Allocation errors: keyed by index and field as the client sent them -------------


def test_an_inactive_cost_centre_in_an_allocation_is_named_as_an_unknown_one_is(admin_api, company):
    # given a cost centre retired
    CostCenterFactory(id="cc-old", code="OLD", name="Old", is_active=False)
    first = {"amount": "600.00", "cost_center_id": "cc-hq"}
    sent = [first, {"amount": "400.00", "cost_center_id": "cc-old"}]
    unknown = [first, {"amount": "400.00", "cost_center_id": "cc-nope"}]
    # when a transfer allocates to it, or to one that does not exist
    inactive = admin_api.post(TRANSFERS, {**TRANSFER, "allocations": sent}, format="json")
    missing = admin_api.post(TRANSFERS, {**TRANSFER, "allocations": unknown}, format="json")
    # then both name the allocation by its index and the field as sent
    assert inactive.status_code == 400, inactive.content
    assert missing.status_code == 400, missing.content
    assert list(missing.json()["allocations"]) == ["1"]
    assert list(missing.json()["allocations"]["1"]) == ["cost_center_id"]
    assert list(inactive.json()) == ["allocations"]
    assert list(inactive.json()["allocations"]) == ["1"]
    assert list(inactive.json()["allocations"]["1"]) == ["cost_center_id"]
    assert "inactive" in inactive.json()["allocations"]["1"]["cost_center_id"][0]
    assert not BankTransfer.objects.exists()


def test_a_repeated_combination_names_the_allocation_that_repeats_it(admin_api, company):
    sent = [{"amount": "500.00", "cost_center_id": "cc-hq"}, {"amount": "500.00", "cost_center_id": "cc-hq"}]
    response = admin_api.post(TRANSFERS, {**TRANSFER, "allocations": sent}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["allocations"]) == ["1"]
    assert list(response.json()["allocations"]["1"]) == ["non_field_errors"]


def test_allocations_that_do_not_add_up_stay_on_allocations(admin_api, company):
    sent = [{"amount": "600.00", "cost_center_id": "cc-hq"}]
    response = admin_api.post(TRANSFERS, {**TRANSFER, "allocations": sent}, format="json")
    assert response.status_code == 400, response.content
    assert isinstance(response.json()["allocations"], list)


# --- Transfer actions repeated --------------------------------------------------


@pytest.fixture
def transfer(admin_api, company):
    assert admin_api.post(TRANSFERS, TRANSFER, format="json").status_code == 201
    return f"{TRANSFERS}/tr-oct-1"


@override_settings(TIME_ZONE="UTC")
def test_a_receipt_sent_again_as_it_was_is_a_retry(admin_api, transfer):
    body = {"received_date": "2025-10-12", "received_amount": "990.00"}
    # given a transfer received
    first = admin_api.post(f"{transfer}/receive", body, format="json")
    assert first.status_code == 200, first.content
    legs = BankTransaction.objects.count()
    # when the same receipt is sent again
    again = admin_api.post(f"{transfer}/receive", body, format="json")
    # then it is the transfer as it stands, and nothing new
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert BankTransaction.objects.count() == legs


def test_another_receipt_of_a_received_transfer_names_what_was_recorded(admin_api, transfer):
    admin_api.post(f"{transfer}/receive", {"received_date": "2025-10-12"}, format="json")
    for other in (
        {"received_date": "2025-10-13"},
        {"received_date": "2025-10-12", "received_amount": "999.00"},
    ):
        response = admin_api.post(f"{transfer}/receive", other, format="json")
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "transfer_received"
        assert "1000.00" in response.json()["detail"] and "2025-10-12" in response.json()["detail"]
    assert BankTransfer.objects.get().received_amount == 1000
    assert BankTransaction.objects.count() == 2


def test_a_receipt_without_an_amount_repeats_one_of_the_whole_amount(admin_api, transfer):
    admin_api.post(f"{transfer}/receive", {"received_date": "2025-10-12", "received_amount": "1000.00"})
    again = admin_api.post(f"{transfer}/receive", {"received_date": "2025-10-12"}, format="json")
    assert again.status_code == 200, again.content


def test_a_failure_sent_again_as_it_was_is_a_retry(admin_api, transfer):
    body = {"reason": "Beneficiary closed", "failed_date": "2025-10-11"}
    first = admin_api.post(f"{transfer}/fail", body, format="json")
    assert first.status_code == 200, first.content
    again = admin_api.post(f"{transfer}/fail", body, format="json")
    undated = admin_api.post(f"{transfer}/fail", {"reason": "Beneficiary closed"}, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert undated.status_code == 200, undated.content


def test_another_failure_of_a_failed_transfer_keeps_the_recorded_reason(admin_api, transfer):
    admin_api.post(f"{transfer}/fail", {"reason": "Beneficiary closed", "failed_date": "2025-10-11"})
    for other in ({"reason": "Wrong IBAN"}, {"reason": "Beneficiary closed", "failed_date": "2025-10-12"}):
        response = admin_api.post(f"{transfer}/fail", other, format="json")
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "transfer_failed"
        assert "Beneficiary closed" in response.json()["detail"]
    assert BankTransfer.objects.get().failure_reason == "Beneficiary closed"


def test_receiving_a_failed_transfer_or_failing_a_received_one_names_its_state(admin_api, transfer, company):
    admin_api.post(f"{transfer}/receive", {"received_date": "2025-10-12"}, format="json")
    failed = admin_api.post(f"{transfer}/fail", {"reason": "x"}, format="json")
    assert failed.status_code == 409
    assert failed.json()["code"] == "transfer_received"
    assert BankTransfer.objects.get().status == TransferStatus.RECEIVED
