"""Branch cash is news of a day that has come.

A cash submission dated ahead could be posted, but no deposit could ever be
recorded for it (a deposit is never dated before the cash was submitted, nor
after today); a float or a float's return dated ahead posted into a month not
come. Deposits, transfers' receipts and failures were already held to today.
"""

import datetime

import pytest
from django.utils import timezone

from accounting.models import JournalPosting
from banking.models import CashSubmission, FloatAllocation
from banking.tests.factories import FloatAllocationFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db
BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    return ledger_setup()


def tomorrow():
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()


def test_a_submission_dated_after_today_is_refused_naming_the_date(admin_api, ledger):
    body = {
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "submission_date": tomorrow(),
        "expected_amount": "250.00",
    }

    answer = admin_api.post(f"{BASE}/cash-submissions", body, format="json")

    assert answer.status_code == 400, answer.content
    assert "A branch cannot have submitted the cash on" in answer.json()["submission_date"][0]
    assert not CashSubmission.objects.exists()


@pytest.mark.parametrize(
    ("field", "extra", "said"),
    [
        ("allocation_date", {}, "A float cannot have been given on"),
        ("return_date", {"allocation_date": "2025-10-01", "returned_amount": "10.00"}, "come back on"),
    ],
)
def test_a_float_given_or_returned_after_today_is_refused(admin_api, ledger, field, extra, said):
    body = {
        "bank_account_id": "ba-op",
        "branch_id": "test-branch",
        "amount": "100.00",
        "allocation_date": "2025-10-01",
        **extra,
        field: tomorrow(),
    }

    answer = admin_api.post(f"{BASE}/float-allocations", body, format="json")

    assert answer.status_code == 400, answer.content
    assert said in answer.json()[field][0]
    assert not FloatAllocation.objects.exists()


def test_a_float_return_posted_after_today_is_refused(admin_api, ledger):
    FloatAllocationFactory(
        id="fa-1",
        bank_account=ledger["op"],
        branch=ledger["branch"],
        amount="100.00",
        allocation_date=datetime.date(2025, 10, 1),
    )
    posted = admin_api.post(f"{BASE}/float-allocations/fa-1/post-accounting", {}, format="json")
    assert posted.status_code == 201, posted.content

    ahead = admin_api.post(
        f"{BASE}/float-allocations/fa-1/post-return",
        {"returned_amount": "40.00", "return_date": tomorrow()},
        format="json",
    )

    assert ahead.status_code == 400, ahead.content
    assert "A float cannot have come back on" in ahead.json()["return_date"][0]
    assert list(JournalPosting.objects.values_list("source_id", flat=True)) == ["fa-1"]
