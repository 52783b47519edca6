"""What the API does with a body that is almost right, and how every refusal is shaped.

- Text fields take JSON strings only: ``"reference": 5`` used to be stored as
  ``"5"``, hiding a client that had lost the leading zeros of ``"005"``.
- An ``id`` in an update that differs from the record's is refused; it used to
  be dropped silently, so the client believed it had renamed the record.
- Every refusal that names no field carries a ``code``, DRF's own (an unknown
  record's 404, 405) as well as the project's.
"""

import pytest

from banking.models import BankAccount, BankTransaction, BankTransfer
from banking.tests.posting_setup import ledger_setup
from dimensions.models import CostCenter

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    return ledger_setup()


def _transaction(**change):
    body = {"bank_account_id": "ba-op", "transaction_type": "deposit", "amount": "10.00"}
    return {**body, "transaction_date": "2025-10-10", **change}


# --- Text fields take strings ------------------------------------------------------------


@pytest.mark.parametrize("value", [5, 5.5, True, ["005"], {"n": 5}])
@pytest.mark.parametrize("field", ["reference", "description", "counterparty_name"])
def test_a_transaction_text_field_given_a_non_string_answers_400_naming_it(admin_api, ledger, field, value):
    response = admin_api.post(f"{BASE}/transactions", _transaction(**{field: value}), format="json")

    assert response.status_code == 400, response.content
    assert response.json()[field] == ["Not a valid string."]
    assert not BankTransaction.objects.exists()


def test_a_string_reference_with_leading_zeros_is_kept_as_sent(admin_api, ledger):
    response = admin_api.post(f"{BASE}/transactions", _transaction(reference="005"), format="json")

    assert response.status_code == 201, response.content
    assert BankTransaction.objects.get().reference == "005"


def test_a_chosen_id_that_is_a_number_answers_400(admin_api, ledger):
    response = admin_api.post(f"{BASE}/transactions", _transaction(id=12345), format="json")

    assert response.status_code == 400, response.content
    assert response.json()["id"] == ["Not a valid string."]
    assert not BankTransaction.objects.exists()


def test_a_text_change_given_a_number_changes_nothing(admin_api, ledger):
    response = admin_api.patch(f"{BASE}/bank-accounts/ba-op", {"name": 7}, format="json")

    assert response.status_code == 400, response.content
    assert "name" in response.json()
    assert BankAccount.objects.get(pk="ba-op").name != "7"


def test_a_dimension_code_given_a_number_answers_400(admin_api):
    response = admin_api.post(
        "/api/v1/dimensions/cost-centers", {"id": "cc-x", "code": 101, "name": "Sales"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "code" in response.json()
    assert not CostCenter.objects.filter(pk="cc-x").exists()


def test_a_token_request_with_a_numeric_username_answers_400(api_client):
    response = api_client.post("/api/v1/auth/token", {"username": 5, "password": "x"}, format="json")

    assert response.status_code == 400, response.content
    assert "username" in response.json()


# --- The id is fixed once created --------------------------------------------------------


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_update_with_another_id_answers_400_and_changes_nothing(admin_api, ledger, method):
    record = admin_api.get(f"{BASE}/bank-accounts/ba-op").json()
    body = {**record, "id": "ba-renamed", "name": "Renamed"} if method == "put" else {"id": "ba-renamed"}
    body = {key: value for key, value in body.items() if key not in ("created_at", "created_by")}
    body = {key: value for key, value in body.items() if key not in ("updated_at", "updated_by")}

    response = getattr(admin_api, method)(f"{BASE}/bank-accounts/ba-op", body, format="json")

    assert response.status_code == 400, response.content
    assert "cannot be changed" in response.json()["id"][0]
    assert "ba-op" in response.json()["id"][0]
    assert not BankAccount.objects.filter(pk="ba-renamed").exists()
    assert BankAccount.objects.get(pk="ba-op").name == record["name"]


def test_an_update_that_sends_the_records_own_id_back_is_accepted(admin_api, ledger):
    body = {"id": "ba-op", "name": "Operating"}

    response = admin_api.patch(f"{BASE}/bank-accounts/ba-op", body, format="json")

    assert response.status_code == 200, response.content
    assert BankAccount.objects.get(pk="ba-op").name == "Operating"


def test_a_transaction_update_with_another_id_changes_nothing(admin_api, ledger):
    created = admin_api.post(f"{BASE}/transactions", _transaction(id="tx-a"), format="json")
    assert created.status_code == 201, created.content

    response = admin_api.patch(f"{BASE}/transactions/tx-a", {"id": "tx-b", "amount": "20.00"}, format="json")

    assert response.status_code == 400, response.content
    assert "id" in response.json()
    assert list(BankTransaction.objects.values_list("id", "amount")) == [("tx-a", 10)]


# --- Every refusal without a field names its code ----------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "named"),
    [
        ("get", f"{BASE}/transactions/nosuch", "bank transaction"),
        ("post", f"{BASE}/transfers/nosuch/receive", "bank transfer"),
        ("post", f"{BASE}/transfers/nosuch/fail", "bank transfer"),
        ("patch", f"{BASE}/bank-accounts/nosuch", "bank account"),
        ("delete", f"{BASE}/csv-profiles/nosuch", "CSV statement profile"),
        ("get", "/api/v1/dimensions/cost-centers/nosuch", "cost centre"),
    ],
)
def test_an_unknown_record_answers_404_naming_it_with_the_not_found_code(
    admin_api, ledger, method, url, named
):
    response = getattr(admin_api, method)(url, {}, format="json")

    assert response.status_code == 404, response.content
    # The record and the id asked for, not "No BankTransfer matches the given query."
    assert response.json() == {"detail": f'No {named} has the id "nosuch".', "code": "not_found"}
    assert not BankTransfer.objects.exists()


def test_a_record_left_out_by_the_requests_filters_is_not_said_to_be_missing(admin_api, ledger):
    response = admin_api.get(f"{BASE}/bank-accounts/ba-op", {"currency": "XYZ"})

    assert response.status_code == 404, response.content
    assert response.json()["detail"] == (
        'No bank account with the id "ba-op" is among those this request\'s filters select.'
    )


def test_a_method_the_endpoint_does_not_offer_answers_405_with_its_code(admin_api, ledger):
    response = admin_api.delete(f"{BASE}/transfers")

    assert response.status_code == 405, response.content
    assert response.json() == {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/cash-position?period=2025-10&bank_account_id=ba-op"),
        ("put", "/variance-report?period=2025-10"),
        ("delete", "/transfer-tracking?bank_account_id=ba-op"),
        ("post", "/reconciliation/matches"),
    ],
)
def test_writing_to_a_read_only_endpoint_answers_405_not_403(admin_api, ledger, method, path):
    # A report answers GET only; a write was told it lacked a permission that does not exist.
    response = getattr(admin_api, method)(f"{BASE}{path}", {}, format="json")

    assert response.status_code == 405, response.content
    assert response.json()["code"] == "method_not_allowed"


def test_a_refusal_for_lack_of_permission_names_its_code(api_client, django_user_model, ledger):
    viewer = django_user_model.objects.create_user("nobody", password="x" * 16)
    api_client.force_authenticate(viewer)

    response = api_client.post(f"{BASE}/transactions", _transaction(), format="json")

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert not BankTransaction.objects.exists()


def test_an_unauthenticated_request_answers_401_with_its_code(api_client):
    response = api_client.get(f"{BASE}/transactions")

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("key", ["tx-a\n", "tx-a\r\n"])
def test_a_key_ending_in_a_line_break_is_not_a_key(key):
    # The pattern's "$" also matched before a final newline; the API trims text, the
    # services and commands do not.
    from django.core.exceptions import ValidationError

    from cnperp.fields import key_validator

    with pytest.raises(ValidationError):
        key_validator(key)
    key_validator("tx-a")


# --- Lists refuse a parameter they do not know ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "unknown"),
    [
        ("/api/v1/accounting/journal-entries", {"amount_min": "abc"}, ["amount_min"]),
        (f"{BASE}/transactions", {"year": "abc"}, ["year"]),
        (f"{BASE}/transactions", {"bank_account": "ba-op", "statuss": "draft"}, ["bank_account", "statuss"]),
        ("/api/v1/dimensions/cost-centers", {"active": "true"}, ["active"]),
    ],
)
def test_a_list_answers_400_naming_a_parameter_it_does_not_know(admin_api, ledger, url, query, unknown):
    # It used to answer 200 with every record, which the client took for the filtered list.
    response = admin_api.get(url, query)

    assert response.status_code == 400, response.content
    assert response.json() == {name: ["Unknown parameter."] for name in unknown}


def test_a_list_still_takes_its_filters_search_ordering_paging_and_format(admin_api, ledger):
    query = {
        "bank_account_id": "ba-op",
        "search": "x",
        "ordering": "-transaction_date",
        "page": "1",
        "page_size": "5",
        "format": "json",
    }
    response = admin_api.get(f"{BASE}/transactions", query)

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


# --- Read-only fields are not silently dropped ----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("posted_by", "alice"), ("gl_reference", "BT-forged"), ("reconciliation_status", "reconciled")],
)
def test_a_field_the_system_sets_sent_with_another_value_is_refused_and_records_nothing(
    admin_api, ledger, field, value
):
    # It was dropped without a word: 201, and a client that asked who posted it believed it.
    created = admin_api.post(
        f"{BASE}/transactions", _transaction(id="bt-ro", **{field: value}), format="json"
    )

    assert created.status_code == 400, created.content
    assert list(created.json()) == [field]
    assert "Set by the system" in created.json()[field][0]
    assert not BankTransaction.objects.filter(pk="bt-ro").exists()


def test_a_change_asking_for_a_system_field_is_refused_and_changes_nothing(admin_api, ledger):
    assert admin_api.post(f"{BASE}/transactions", _transaction(id="bt-ro"), format="json").status_code == 201

    changed = admin_api.patch(
        f"{BASE}/transactions/bt-ro", {"amount": "20.00", "gl_reference": "BT-x"}, format="json"
    )

    assert changed.status_code == 400, changed.content
    assert list(changed.json()) == ["gl_reference"]
    assert str(BankTransaction.objects.get(pk="bt-ro").amount) == "10.00"


def test_a_record_sent_back_as_it_was_read_is_taken(admin_api, ledger):
    # A PUT of a GET carries every read-only field with the value the record has: fine.
    assert admin_api.post(f"{BASE}/transactions", _transaction(id="bt-ro"), format="json").status_code == 201
    read = admin_api.get(f"{BASE}/transactions/bt-ro").json()

    put = admin_api.put(f"{BASE}/transactions/bt-ro", {**read, "description": "as read"}, format="json")
    smoke = admin_api.post(
        f"{BASE}/transactions",
        _transaction(id="bt-smoke", posting_status="draft", posted_by=None),
        format="json",
    )

    assert put.status_code == 200, put.content
    assert put.json()["description"] == "as read"
    assert smoke.status_code == 201, smoke.content
