"""A transfer's allocations are part of the transfer: whoever may add or re-split it gives them.

Finance staff found a clerk's split thrown away in the admin: the clerk group holds the
transfer's permissions but only view_banktransferallocation, so the add page showed no
allocation rows, the rows posted were ignored and the transfer got one allocation of its
whole amount; a split that did not add up was accepted the same way. The API took the
same split from the same clerk.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from banking.models import BankAccount, BankTransfer, BankTransferAllocation
from banking.services import bank_transfer_create
from banking.tests.factories import BankAccountFactory
from cnperp.tests.admin_pages import add_url, change_url, form_data, inputs_named
from dimensions.models import CostCenter
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    BankAccountFactory(id="ba-payroll", name="Payroll")
    BankAccountFactory(id="ba-savings", name="Savings")
    CostCenterFactory(id="cc-hq", code="HQ", name="Head office")
    CostCenterFactory(id="cc-ops", code="OPS", name="Operations")


@pytest.fixture
def clerk():
    user = get_user_model().objects.create_user(
        username="clerk-1", password="Clerk-pass-2025!", is_staff=True
    )
    user.groups.add(Group.objects.get(name="clerk"))
    client = Client()
    client.force_login(user)
    return client


def transfer_form(*allocations):
    data = {
        "id": "tr-clerk-1",
        "from_bank_account": "ba-payroll",
        "to_bank_account": "ba-savings",
        "amount": "100.00",
        "initiated_date": "2025-10-10",
        "reference": "",
        "description": "",
        "allocations-TOTAL_FORMS": str(len(allocations)),
        "allocations-INITIAL_FORMS": "0",
        "allocations-MIN_NUM_FORMS": "0",
        "allocations-MAX_NUM_FORMS": "1000",
    }
    for index, (amount, cost_center) in enumerate(allocations):
        data[f"allocations-{index}-amount"] = amount
        data[f"allocations-{index}-cost_center"] = cost_center
    return data


def test_a_clerk_sees_allocation_rows_on_the_add_page(clerk, company):
    response = clerk.get(add_url(BankTransfer))

    assert response.status_code == 200
    assert inputs_named(response, "allocations-0-amount") == 1


def test_a_clerks_split_of_a_transfer_is_saved_as_given(clerk, company):
    # when a clerk splits 100.00 into 60.00 head office and 40.00 operations
    response = clerk.post(add_url(BankTransfer), transfer_form(("60.00", "cc-hq"), ("40.00", "cc-ops")))

    # then the transfer holds those two allocations, not one of the whole amount
    assert response.status_code == 302, response.content.decode()[:2000]
    allocations = BankTransferAllocation.objects.filter(transfer_id="tr-clerk-1").order_by("line_number")
    assert [(a.amount, a.cost_center_id) for a in allocations] == [
        (Decimal("60.00"), "cc-hq"),
        (Decimal("40.00"), "cc-ops"),
    ]


@pytest.mark.parametrize(
    ("allocations", "message"),
    [
        ((("60.00", "cc-hq"), ("30.00", "cc-ops")), "The allocations add up to 90.00"),
        ((("0", "cc-hq"),), "The amount must be more than zero."),
        ((("-50.00", "cc-hq"),), "The amount must be more than zero."),
    ],
    ids=["60+30", "zero", "negative"],
)
def test_a_clerks_split_that_does_not_add_up_is_refused_as_for_an_admin(clerk, company, allocations, message):
    response = clerk.post(add_url(BankTransfer), transfer_form(*allocations))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BankTransfer.objects.exists()
    assert not BankTransferAllocation.objects.exists()


def test_a_clerk_re_splits_a_draft_transfer_on_its_page(clerk, company):
    # given a draft transfer of 100.00 on head office alone
    transfer = bank_transfer_create(
        id="tr-clerk-2",
        from_bank_account=BankAccount.objects.get(pk="ba-payroll"),
        to_bank_account=BankAccount.objects.get(pk="ba-savings"),
        amount=Decimal("100.00"),
        initiated_date=datetime.date(2025, 10, 10),
        cost_center=CostCenter.objects.get(pk="cc-hq"),
        user=get_user_model().objects.get(username="clerk-1"),
    )
    data = form_data(clerk.get(change_url(transfer)))
    data.update(
        {
            "allocations-0-amount": "70.00",
            "allocations-1-amount": "30.00",
            "allocations-1-cost_center": "cc-ops",
            "allocations-TOTAL_FORMS": "2",
        }
    )

    # when the clerk splits it 70 / 30
    response = clerk.post(change_url(transfer), data)

    # then both allocations are kept
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [(a.amount, a.cost_center_id) for a in transfer.allocations.order_by("line_number")] == [
        (Decimal("70.00"), "cc-hq"),
        (Decimal("30.00"), "cc-ops"),
    ]
