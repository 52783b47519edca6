"""Transfers, float allocations and list parameters, as a review found them wanting.

- A transfer between accounts in different currencies is refused (it was booked 1:1).
- On receipt each allocation records its share of what arrived (it stayed empty,
  and transfer tracking showed 0.00 received for every dimension).
- A float is not recorded as returned before it was given.
- On the lists, `is_consistent=no`, a `page_size` outside 1 to 1000 and an unknown
  `ordering` field are 400s naming the parameter, not silently ignored.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from banking.models import BankTransfer, BankTransferAllocation, CashSubmission
from banking.tests.factories import BankAccountFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    return ledger_setup()


def _split_transfer(client, transfer_id="tr-split"):
    body = {
        "id": transfer_id,
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "100.00",
        "initiated_date": "2025-10-10",
        "allocations": [
            {"amount": "60.00", "cost_center_id": "cc-hq"},
            {"amount": "40.00", "cost_center_id": "cc-ops"},
        ],
    }
    created = client.post(f"{BASE}/transfers", body, format="json")
    assert created.status_code == 201, created.content


# --- Transfers -------------------------------------------------------------------------------


def test_a_transfer_between_accounts_in_different_currencies_is_refused(admin_api, ledger):
    """ba-op is kept in USD, ba-eur in EUR. The transfer is accepted and, received without an
    amount, books 1000.00 into the EUR account: USD moved 1:1 into EUR, and 1190 shows nothing
    in transit. Nothing converts currencies (docs/posting.md: all amounts in the account's
    currency), so such a transfer should be a 400 naming the receiving account."""
    BankAccountFactory(id="ba-eur", name="Euro account", currency="EUR")
    body = {
        "id": "tr-fx",
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-eur",
        "amount": "1000.00",
        "initiated_date": "2025-10-10",
    }

    response = admin_api.post(f"{BASE}/transfers", body, format="json")

    assert response.status_code == 400, response.content
    assert "to_bank_account_id" in response.json()


def test_a_received_transfer_records_what_arrived_on_each_allocation(admin_api, ledger):
    """After ``transfers/{id}/receive`` the transfer says 100.00 received, but its allocations
    keep ``received_amount`` null: the tracking report lists them as null and ``by_dimension``
    shows 0.00 received for every cost centre (docs/reports.md shows them filled in)."""
    _split_transfer(admin_api)
    received = admin_api.post(
        f"{BASE}/transfers/tr-split/receive", {"received_date": "2025-10-12"}, format="json"
    )
    assert received.status_code == 200, received.content

    shares = dict(
        BankTransferAllocation.objects.filter(transfer_id="tr-split").values_list(
            "cost_center_id", "received_amount"
        )
    )
    assert shares == {"cc-hq": Decimal("60.00"), "cc-ops": Decimal("40.00")}

    report = admin_api.get(
        f"{BASE}/transfer-tracking", {"bank_account_id": "ba-op", "period": "2025-10"}
    ).json()
    by_cost_center = {
        row["key"]: row["received_amount"] for row in report["by_dimension"]["outgoing"]["cost_center"]
    }
    assert by_cost_center == {"cc-hq": "60.00", "cc-ops": "40.00"}


# --- Float allocations -----------------------------------------------------------------------


def test_a_float_cannot_be_recorded_as_returned_before_it_was_given(admin_api, ledger):
    """A float allocated on 2025-10-10 is saved with a return date of 2025-10-01 (201); only
    posting the return later refuses that date. A cash submission deposited before it was
    submitted is a 400 naming deposit_date; the float's return date should be refused alike."""
    body = {
        "id": "fa-early",
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "amount": "500.00",
        "allocation_date": "2025-10-10",
        "returned_amount": "100.00",
        "return_date": "2025-10-01",
    }

    response = admin_api.post(f"{BASE}/float-allocations", body, format="json")

    assert response.status_code == 400, response.content
    assert "return_date" in response.json()


def test_a_submission_cannot_be_deposited_with_nothing_deposited(admin_api, ledger):
    body = {
        "id": "cs-said",
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "submission_date": "2025-10-10",
        "expected_amount": "500.00",
        "status": "deposited",
    }

    refused = admin_api.post(f"{BASE}/cash-submissions", body, format="json")
    recorded = admin_api.post(
        f"{BASE}/cash-submissions",
        {**body, "deposited_amount": "500.00", "deposit_date": "2025-10-11"},
        format="json",
    )

    assert refused.status_code == 400, refused.content
    assert "fill in the deposited amount" in refused.json()["status"][0]
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["status"] == "deposited"


def test_a_lone_transfer_transaction_is_refused_naming_its_type(admin_api, ledger):
    body = {"bank_account_id": "ba-op", "transaction_type": "transfer", "direction": "out"}
    body.update(amount="100.00", transaction_date="2025-10-10")

    response = admin_api.post(f"{BASE}/transactions", body, format="json")

    # One leg alone would post into transit with no other side.
    assert response.status_code == 400, response.content
    assert "recorded as a transfer, with both its legs" in response.json()["transaction_type"][0]


def test_a_receipt_or_a_deposit_dated_after_today_is_refused(admin_api, ledger):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    body = {"id": "tr-soon", "from_bank_account_id": "ba-op", "to_bank_account_id": "ba-sav"}
    body.update(amount="100.00", initiated_date="2025-10-10")
    assert admin_api.post(f"{BASE}/transfers", body, format="json").status_code == 201
    submission = {"id": "cs-soon", "bank_account_id": "ba-op", "branch_id": "test-branch"}
    submission.update(submission_date="2025-10-10", expected_amount="500.00")

    received = admin_api.post(f"{BASE}/transfers/tr-soon/receive", {"received_date": tomorrow}, format="json")
    deposited = admin_api.post(
        f"{BASE}/cash-submissions",
        {**submission, "deposited_amount": "500.00", "deposit_date": tomorrow},
        format="json",
    )

    assert received.status_code == 400, received.content
    assert "after today" in received.json()["received_date"][0]
    assert deposited.status_code == 400, deposited.content
    assert "after today" in deposited.json()["deposit_date"][0]
    assert BankTransfer.objects.get(pk="tr-soon").received_date is None


# --- List filters ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["no", "maybe", "2025-02-30"])
def test_the_statement_list_refuses_a_bad_is_consistent(admin_api, ledger, value):
    """GET /statements?is_consistent=no answers 200 with every statement: the filter is
    django-filter's own BooleanFilter, which reads anything but true/false as no filter (the
    bug StrictBooleanFilter fixed for is_active everywhere else)."""
    response = admin_api.get(f"{BASE}/statements", {"is_consistent": value})

    assert response.status_code == 400, response.content
    assert "is_consistent" in response.json()


@pytest.mark.parametrize("value", ["abc", "0", "-5", "5000"])
def test_a_list_refuses_a_bad_page_size(admin_api, ledger, value):
    """GET /transactions?page_size=abc (or 0, -5, 5000) answers 200 with a page of 50 (or
    1000): the bad value is dropped silently. reconciliation/matches answers the same request
    with a 400 naming page_size (MatchListQuerySerializer: 1 to 1000)."""
    response = admin_api.get(f"{BASE}/transactions", {"page_size": value})

    assert response.status_code == 400, response.content
    assert "page_size" in response.json()


@pytest.mark.parametrize("resource", ["transactions", "transfers", "float-allocations"])
def test_a_list_refuses_ordering_by_an_unknown_field(admin_api, ledger, resource):
    """GET /transactions?ordering=amout answers 200 in the default order: the typo is ignored
    and the client believes the list is sorted by amount ("bad input, clear answer",
    docs/architecture.md)."""
    response = admin_api.get(f"{BASE}/{resource}", {"ordering": "amout"})

    assert response.status_code == 400, response.content
    assert "ordering" in response.json()


def test_a_list_still_sorts_and_pages_as_asked(admin_api):
    ledger_setup()
    for amount in ("3.00", "1.00", "2.00"):
        created = admin_api.post(
            "/api/v1/banking/transactions",
            {
                "bank_account_id": "ba-op",
                "transaction_type": "deposit",
                "amount": amount,
                "transaction_date": "2025-10-10",
            },
            format="json",
        )
        assert created.status_code == 201, created.content

    response = admin_api.get("/api/v1/banking/transactions?ordering=-amount,id&page_size=2")

    assert response.status_code == 200, response.content
    assert [row["amount"] for row in response.json()["results"]] == ["3.00", "2.00"]
    assert response.json()["count"] == 3


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1e3"])
def test_a_list_refuses_a_page_that_is_no_page_number(admin_api, ledger, value):
    response = admin_api.get(f"/api/v1/banking/transactions?page={value}")

    assert response.status_code == 400, response.content
    assert "page" in response.json()


def test_a_page_past_the_end_is_still_not_found(admin_api, ledger):
    response = admin_api.get("/api/v1/banking/transactions?page=99")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


def test_a_transfer_whose_sending_leg_was_reversed_cannot_be_received(admin_api, ledger):
    from banking.posting import bank_transaction_post, bank_transaction_reverse

    body = {
        "id": "tr-undone",
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "100.00",
        "initiated_date": "2025-10-10",
    }
    assert admin_api.post("/api/v1/banking/transfers", body, format="json").status_code == 201
    leg = BankTransfer.objects.get(pk="tr-undone").legs.get()
    bank_transaction_post(transaction_id=leg.pk, user=ledger["user"])
    bank_transaction_reverse(
        transaction_id=leg.pk, user=ledger["user"], reversal_date=leg.transaction_date, reason="Sent twice"
    )

    response = admin_api.post(
        "/api/v1/banking/transfers/tr-undone/receive", {"received_date": "2025-10-12"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "sending_leg_reversed"
    transfer = BankTransfer.objects.get(pk="tr-undone")
    assert transfer.status != "received" and transfer.legs.count() == 1


def test_a_submission_recorded_with_what_reached_the_bank_is_deposited(admin_api, ledger):
    # Recorded with its deposited amount and no status, it said "submitted" for good: a finance
    # user filtering the deposited ones did not find it.
    body = {
        "id": "cs-counted",
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "submission_date": "2025-10-10",
        "expected_amount": "500.00",
    }
    url = f"{BASE}/cash-submissions"

    counted = admin_api.post(
        url, {**body, "deposited_amount": "498.00", "deposit_date": "2025-10-11"}, format="json"
    )
    listed = admin_api.get(url, {"status": "deposited"})
    cleared = admin_api.patch(
        f"{url}/cs-counted", {"deposited_amount": None, "deposit_date": None}, format="json"
    )
    counted_again = admin_api.patch(
        f"{url}/cs-counted", {"deposited_amount": "500.00", "deposit_date": "2025-10-12"}, format="json"
    )

    assert counted.status_code == 201, counted.content
    assert counted.json()["status"] == "deposited"
    assert [row["id"] for row in listed.json()["results"]] == ["cs-counted"]
    assert (cleared.status_code, cleared.json()["status"]) == (200, "submitted")
    assert (counted_again.status_code, counted_again.json()["status"]) == (200, "deposited")


def test_a_submission_said_to_be_submitted_with_a_deposited_amount_is_refused(admin_api, ledger):
    body = {
        "id": "cs-contradicts",
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "submission_date": "2025-10-10",
        "expected_amount": "500.00",
        "deposited_amount": "500.00",
        "deposit_date": "2025-10-11",
        "status": "submitted",
    }

    response = admin_api.post(f"{BASE}/cash-submissions", body, format="json")

    assert response.status_code == 400, response.content
    assert 'set the status to "deposited"' in response.json()["status"][0]
    assert not CashSubmission.objects.filter(pk="cs-contradicts").exists()
