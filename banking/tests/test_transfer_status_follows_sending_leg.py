"""A transfer's status follows its sending leg: posted, the transfer is in transit; reversed, it is not.

Posting the sending leg moves the money out of the source bank into the
transfers-in-transit GL account: the transfer is ``in_transit`` from then on,
whether the leg was posted over the API or in a batch, and the report's
``in_transit`` totals are what that account holds. Reversing the leg takes the
money back: the transfer is ``initiated`` again (failed and received transfers
keep their status). Transfers sent before this rule are brought in line by
banking 0012.
"""

import datetime
import io
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from banking import services
from banking.choices import Direction, PostingStatus, TransferStatus
from banking.models import BankTransaction, BankTransfer
from banking.tests import test_transfer_tracking_past_months as history
from banking.tests.test_transfer_tracking_past_months import (  # the history's doors, shared
    _leg,
    fail,
    listed,
    receive,
    send,
    tracking,
    transit_balance,
)

pytestmark = pytest.mark.django_db
# ba-op and ba-sav with the default rules, and the accountant who records and posts.
ledger, user, api = history.ledger, history.user, history.api

BASE = "/api/v1/banking"


def status(pk):
    return BankTransfer.objects.get(pk=pk).status


def _post_leg(api, pk, direction=Direction.OUT):
    response = api.post(f"{BASE}/transactions/{_leg(pk, direction)}/post-accounting", {}, format="json")
    assert response.status_code == 201, response.content
    return response


def _reverse_leg(api, pk, direction=Direction.OUT):
    response = api.post(
        f"{BASE}/transactions/{_leg(pk, direction)}/reverse",
        {"reversal_date": timezone.localdate().isoformat(), "reason": "sent in error"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response


def test_posting_the_sending_leg_puts_the_transfer_in_transit(api, user):
    # Given a transfer whose sending leg is still a draft: nothing has left the bank
    today = timezone.localdate()
    send(user, "tr-one", today, "1250.00", post=False)
    assert status("tr-one") == TransferStatus.INITIATED

    # When its sending leg is posted over the API
    _post_leg(api, "tr-one")

    # then the transfer says it is in transit, over the API as in the database,
    body = api.get(f"{BASE}/transfers/tr-one").json()
    assert body["status"] == "in_transit"
    # and the audit trail says who moved it and from what.
    [entry] = [
        e
        for e in LogEntry.objects.get_for_model(BankTransfer).filter(object_pk="tr-one")
        if (e.additional_data or {}).get("event") == "send"
    ]
    assert entry.actor == user
    assert entry.changes_dict["status"] == ["initiated", "in_transit"]
    # Posting it again changes nothing: a retry neither posts nor moves anything twice.
    again = api.post(
        f"{BASE}/transactions/{_leg('tr-one', Direction.OUT)}/post-accounting", {}, format="json"
    )
    assert again.status_code == 200
    assert (
        LogEntry.objects.get_for_model(BankTransfer).filter(object_pk="tr-one").count() == 2
    )  # create, send


def test_a_batch_puts_every_transfer_it_sends_in_transit_and_no_other(user):
    # Given drafts of three sending legs: an ordinary transfer, one that failed before it was
    # posted, and one whose arrival was recorded before its sending leg was posted
    today = timezone.localdate()
    send(user, "tr-batch", today, "300.00", post=False)
    send(user, "tr-dead", today, "400.00", post=False)
    services.bank_transfer_fail(transfer_id="tr-dead", user=user, reason="account closed")
    send(user, "tr-early", today, "500.00", post=False)
    services.bank_transfer_receive(transfer_id="tr-early", user=user, received_date=today)

    # When the batch posts every draft: the failed transfer's leg, which is never posted, is no
    # draft waiting (counted, it would fail every nightly run for good), so the run succeeds
    out = io.StringIO()
    call_command("post_transactions", "--all-drafts", stdout=out)
    assert "Posted 3 of 3" in out.getvalue() and "0 left as draft(s)" in out.getvalue()
    assert BankTransaction.objects.get(transfer_id="tr-dead").posting_status == PostingStatus.DRAFT

    # then the ordinary transfer is in transit, the failed one stays failed (its leg is refused),
    # and the received one stays received.
    assert status("tr-batch") == TransferStatus.IN_TRANSIT
    assert status("tr-dead") == TransferStatus.FAILED
    assert status("tr-early") == TransferStatus.RECEIVED


def test_reversing_the_sending_leg_takes_the_transfer_back_to_initiated(api, user):
    # Given two transfers in transit
    today = timezone.localdate()
    send(user, "tr-kept", today, "700.00")
    send(user, "tr-recalled", today, "200.00")
    assert {status("tr-kept"), status("tr-recalled")} == {TransferStatus.IN_TRANSIT}

    # When one's sending leg is reversed over the API
    _reverse_leg(api, "tr-recalled")

    # then that one is initiated again (nothing is on its way), the other still in transit,
    assert (status("tr-recalled"), status("tr-kept")) == (TransferStatus.INITIATED, TransferStatus.IN_TRANSIT)
    # and the report's in-transit totals count only what the transit account holds.
    body = tracking(api)
    assert {pk: item["status"] for pk, item in listed(body).items()} == {
        "tr-kept": "in_transit",
        "tr-recalled": "initiated",
    }
    assert (body["totals"]["in_transit_count"], body["totals"]["in_transit_amount"]) == (1, "700.00")
    assert Decimal(body["totals"]["in_transit_amount"]) == transit_balance(today)


def test_a_past_month_shows_in_transit_a_transfer_whose_sending_leg_was_reversed_after_it(api, user):
    # Sent on 30 October, called back on 5 November (its sending leg reversed): initiated today
    send(user, "tr-recalled", datetime.date(2025, 10, 30), "1000.00")
    response = api.post(
        f"{BASE}/transactions/{_leg('tr-recalled', Direction.OUT)}/reverse",
        {"reversal_date": "2025-11-05", "reason": "sent to the wrong account"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert status("tr-recalled") == TransferStatus.INITIATED

    october = tracking(api, "2025-10")

    # then October shows it as it stood on the 31st: in transit, its money in the transit account,
    item = listed(october)["tr-recalled"]
    assert (item["status"], item["days_in_transit"]) == ("in_transit", 6)  # to the reversal
    totals = october["totals"]
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (1, "1000.00")
    assert Decimal(totals["in_transit_amount"]) == history.transit_balance(history.OCTOBER_END)
    # and November as it stands: initiated, nothing in transit.
    november = tracking(api, "2025-11")
    assert listed(november)["tr-recalled"]["status"] == "initiated"
    assert november["totals"]["in_transit_count"] == 0


def test_a_failed_or_received_transfer_keeps_its_status_when_a_leg_is_reversed(api, user):
    today = timezone.localdate()
    # A failed transfer's sending leg is reversed because it failed: it stays failed.
    send(user, "tr-failed", today, "900.00")
    fail(user, "tr-failed", today)
    assert status("tr-failed") == TransferStatus.FAILED
    # A received transfer whose receipt is reversed goes back in transit, not to initiated.
    send(user, "tr-bounced", today, "150.00")
    receive(user, "tr-bounced", today)
    _reverse_leg(api, "tr-bounced", Direction.IN)
    assert status("tr-bounced") == TransferStatus.IN_TRANSIT


def test_the_in_transit_totals_are_what_the_transit_account_holds(api, user):
    # Given transfers out of ba-op in every state this month
    today = timezone.localdate()
    send(user, "tr-unsent", today, "11.00", post=False)
    send(user, "tr-sent", today, "22.00")
    send(user, "tr-arrived", today, "33.00")
    receive(user, "tr-arrived", today, "32.50")
    send(user, "tr-back", today, "44.00")
    _reverse_leg(api, "tr-back")
    send(user, "tr-lost", today, "55.00")
    fail(user, "tr-lost", today)

    totals = tracking(api)["totals"]

    # then the in-transit amount is the transit account's balance, to the cent, less what a
    # short receipt left on it for reconciliation to clear (33.00 sent, 32.50 received).
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (1, "22.00")
    assert transit_balance(today) == Decimal(totals["in_transit_amount"]) + Decimal("0.50")


@pytest.mark.django_db(transaction=True)
def test_banking_0012_puts_transfers_sent_before_it_in_transit():
    # Given transfers as an older release left them: initiated although their sending leg is posted
    from banking.tests.factories import BankAccountFactory, BankTransactionFactory, BankTransferFactory

    source, target = BankAccountFactory(), BankAccountFactory()
    states = {"tr-old-sent": "posted", "tr-old-draft": "draft", "tr-old-reversed": "reversed"}
    for pk, leg_status in states.items():
        transfer = BankTransferFactory(id=pk, from_bank_account=source, to_bank_account=target)
        BankTransactionFactory(
            bank_account=source,
            transaction_type="transfer",
            direction="out",
            transfer=transfer,
            posting_status=leg_status,
            live_leg=None if leg_status == "reversed" else True,
        )
    BankTransfer.objects.update(status=TransferStatus.INITIATED)
    # and one left in transit although its sending leg was reversed (the money back at the source)
    BankTransfer.objects.filter(pk="tr-old-reversed").update(status=TransferStatus.IN_TRANSIT)
    # When banking 0012 is applied (after going back before it)
    call_command("migrate", "banking", "0011", verbosity=0)
    call_command("migrate", "banking", verbosity=0)
    # then only the one whose sending leg stands posted is in transit.
    assert dict(BankTransfer.objects.values_list("pk", "status")) == {
        "tr-old-sent": TransferStatus.IN_TRANSIT,
        "tr-old-draft": TransferStatus.INITIATED,
        "tr-old-reversed": TransferStatus.INITIATED,
    }
