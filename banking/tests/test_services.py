"""Document-write services: the rules every door (API, admin, demo) shares."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounting.tests.factories import UserFactory
from banking.services import bank_transaction_update, bank_transfer_create
from banking.tests.factories import BankAccountFactory
from cnperp.exceptions import ConflictError
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db


def _transfer(**overrides):
    data = {
        "user": UserFactory(username="clerk"),
        "from_bank_account": BankAccountFactory(id="ba-op"),
        "to_bank_account": BankAccountFactory(id="ba-sav"),
        "amount": Decimal("1000.00"),
        "initiated_date": datetime.date(2025, 10, 10),
    }
    data.update(overrides)
    return bank_transfer_create(**data)


def test_a_transfer_leg_cannot_be_changed_on_its_own():
    # Given a transfer with its draft sending leg,
    transfer = _transfer()
    leg = transfer.legs.get()
    # when a client changes the leg's amount alone, it is refused and nothing changes.
    with pytest.raises(ConflictError, match="is a leg of transfer"):
        bank_transaction_update(transaction_id=leg.pk, user=UserFactory(username="x"), amount=Decimal("1.00"))
    leg.refresh_from_db()
    assert leg.amount == Decimal("1000.00")


def test_an_inactive_account_cannot_send_a_transfer():
    inactive = BankAccountFactory(id="ba-old", is_active=False)
    with pytest.raises(ValidationError) as err:
        _transfer(from_bank_account=inactive)
    assert "from_bank_account" in err.value.message_dict


def test_an_inactive_account_cannot_receive_a_transfer():
    inactive = BankAccountFactory(id="ba-old", is_active=False)
    with pytest.raises(ValidationError) as err:
        _transfer(to_bank_account=inactive)
    assert "to_bank_account" in err.value.message_dict


def test_a_bad_allocation_is_named_as_an_allocation():
    retired = CostCenterFactory(id="cc-old", is_active=False)
    with pytest.raises(ValidationError) as err:
        _transfer(allocations=[{"amount": Decimal("1000.00"), "cost_center": retired}])
    assert list(err.value.message_dict) == ["allocations"]
    assert "Allocation 1" in err.value.message_dict["allocations"][0]


def test_refusals_read_right_for_interest_and_for_a_reversed_transaction():
    from banking.models import BankTransaction
    from banking.services import bank_transaction_create
    from banking.tests.factories import BankTransactionFactory

    account = BankAccountFactory(id="ba-op")
    clerk = UserFactory(username="clerk")
    with pytest.raises(ValidationError) as refused:
        bank_transaction_create(
            user=clerk,
            bank_account=account,
            transaction_type="interest",
            direction="out",
            amount=Decimal("5.00"),
            transaction_date=datetime.date(2025, 10, 10),
        )
    assert refused.value.message_dict["direction"][0].startswith("An interest always moves money in;")
    assert not BankTransaction.objects.exists()

    # A reversed transaction is not to be reversed again: the refusal says to record the right one.
    reversed_one = BankTransactionFactory(bank_account=account, posting_status="reversed")
    with pytest.raises(ConflictError, match="is reversed and cannot be changed; record the right one"):
        bank_transaction_update(transaction_id=reversed_one.pk, user=clerk, amount=Decimal("1.00"))
