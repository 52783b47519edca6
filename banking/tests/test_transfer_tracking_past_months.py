"""Transfer tracking of a past month: each transfer as it stood on the month's last day.

A transfer sent on 30 October and received on 2 November was in transit on 31
October (its money sat in the transfers-in-transit GL account); a receipt
reversed in November was still a receipt on 31 October; a transfer that failed
in November (its sending leg reversed then) was in transit on 31 October. Later
receipts, reversals and failures must not change how October looked; the
current month shows today's statuses, as before. Everything is made through the
services and posting, and read through the report's endpoint.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounting.models import JournalEntry
from banking import posting, services
from banking.choices import Direction
from banking.models import BankTransaction, BankTransferAllocation
from banking.tests.posting_setup import contra, ledger_setup

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/transfer-tracking"
d = datetime.date
OCTOBER_END = d(2025, 10, 31)


@pytest.fixture
def ledger():
    return ledger_setup()


@pytest.fixture
def user(ledger):
    return ledger["user"]


@pytest.fixture
def api(ledger):
    user = ledger["user"]
    user.is_superuser = True
    user.is_staff = True
    user.save()
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Making the history through the services ---------------------------------------------------


def _leg(transfer_id, direction):
    return BankTransaction.objects.get(transfer_id=transfer_id, direction=direction, live_leg=True).pk


def send(
    user, pk, initiated, amount="1000.00", *, source="ba-op", target="ba-sav", allocations=(), post=True
):
    services.bank_transfer_create(
        user=user,
        id=pk,
        from_bank_account_id=source,
        to_bank_account_id=target,
        amount=Decimal(amount),
        initiated_date=initiated,
        allocations=[{**row, "amount": Decimal(row["amount"])} for row in allocations],
    )
    if post:
        posting.bank_transaction_post(transaction_id=_leg(pk, Direction.OUT), user=user)


def receive(user, pk, day, amount=None):
    services.bank_transfer_receive(
        transfer_id=pk,
        user=user,
        received_date=day,
        received_amount=None if amount is None else Decimal(amount),
    )
    posting.bank_transaction_post(transaction_id=_leg(pk, Direction.IN), user=user)


def undo_receipt(user, pk, day):
    """Reverse the receiving leg on ``day``: the transfer goes back in transit."""
    posting.bank_transaction_reverse(
        transaction_id=_leg(pk, Direction.IN), user=user, reversal_date=day, reason="bounced"
    )


def fail(user, pk, day):
    """Mark the transfer failed and reverse its sending leg on ``day``."""
    services.bank_transfer_fail(transfer_id=pk, user=user, reason="rejected by the bank", failed_date=day)
    posting.bank_transaction_reverse(
        transaction_id=_leg(pk, Direction.OUT), user=user, reversal_date=day, reason="rejected"
    )


def tracking(api, period=None, account="ba-op"):
    query = {"bank_account_id": account}
    if period is not None:
        query["period"] = period
    response = api.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()


def listed(body):
    return {item["id"]: item for item in body["outgoing"] + body["incoming"]}


def transit_balance(on):
    """Debit less credit of the transfers-in-transit GL account up to ``on``: the money in transit then."""
    lines = JournalEntry.objects.filter(account_id=contra("transfer"), entry_date__lte=on)
    return sum((line.debit - line.credit for line in lines), Decimal("0.00"))


# --- Sent in the month, received after it -------------------------------------------------------


def test_a_transfer_sent_in_the_month_and_received_after_it_was_in_transit_at_its_end(api, user):
    send(user, "tr-straddle", d(2025, 10, 30), "1000.00")
    receive(user, "tr-straddle", d(2025, 11, 2), "990.00")

    october = tracking(api, "2025-10")

    item = listed(october)["tr-straddle"]
    assert item["status"] == "in_transit"
    assert (item["received_amount"], item["received_date"], item["difference"]) == (None, None, None)
    # The transit it was in on 31 October ran to the receipt.
    assert item["days_in_transit"] == 3
    assert item["attention_reasons"] == []  # nothing had arrived short yet
    assert [a["received_amount"] for a in item["allocations"]] == [None]
    totals = october["totals"]
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (1, "1000.00")
    assert totals["outgoing_received_amount"] == "0.00"
    # The money in transit on 31 October is what the transit account held that day.
    assert Decimal(totals["in_transit_amount"]) == transit_balance(OCTOBER_END) == Decimal("1000.00")

    november = listed(tracking(api, "2025-11"))["tr-straddle"]
    assert (november["status"], november["received_amount"], november["received_date"]) == (
        "received",
        "990.00",
        "2025-11-02",
    )
    assert november["attention_reasons"] == ["received_amount_differs"]


def test_a_transfer_sent_but_not_posted_by_the_months_end_was_initiated_then(api, user):
    # The sending leg stays a draft until the receipt: nothing was in the transit account on 31 October.
    send(user, "tr-draft", d(2025, 10, 30), "400.00", post=False)
    receive(user, "tr-draft", d(2025, 11, 3))

    item = listed(tracking(api, "2025-10"))["tr-draft"]

    assert (item["status"], item["received_amount"]) == ("initiated", None)


def test_a_transfer_received_in_the_month_is_received_in_it(api, user):
    send(user, "tr-done", d(2025, 10, 6), "250.00")
    receive(user, "tr-done", d(2025, 10, 8))

    item = listed(tracking(api, "2025-10"))["tr-done"]

    assert (item["status"], item["received_amount"], item["received_date"]) == (
        "received",
        "250.00",
        "2025-10-08",
    )
    assert item["days_in_transit"] == 2


# --- Receipts reversed ------------------------------------------------------------------------


def test_a_receipt_reversed_after_the_month_still_counts_as_received_in_it(api, user):
    send(
        user,
        "tr-bounced",
        d(2025, 10, 10),
        "900.00",
        allocations=[
            {"amount": "600.00", "cost_center_id": "cc-hq"},
            {"amount": "300.00", "cost_center_id": "cc-ops"},
        ],
    )
    receive(user, "tr-bounced", d(2025, 10, 12))
    undo_receipt(user, "tr-bounced", d(2025, 11, 5))

    october = tracking(api, "2025-10")

    item = listed(october)["tr-bounced"]
    assert (item["status"], item["received_amount"], item["received_date"]) == (
        "received",
        "900.00",
        "2025-10-12",
    )
    assert (item["difference"], item["days_in_transit"]) == ("0.00", 2)
    assert [a["received_amount"] for a in item["allocations"]] == ["600.00", "300.00"]
    assert october["totals"]["in_transit_count"] == 0
    assert october["totals"]["outgoing_received_amount"] == "900.00"
    received = {
        row["key"]: row["received_amount"] for row in october["by_dimension"]["outgoing"]["cost_center"]
    }
    assert (received["cc-hq"], received["cc-ops"]) == ("600.00", "300.00")
    assert transit_balance(OCTOBER_END) == Decimal("0.00")

    # In November it went back in transit: today's status.
    november = listed(tracking(api, "2025-11"))["tr-bounced"]
    assert (november["status"], november["received_amount"]) == ("in_transit", None)


def test_a_receipt_of_an_earlier_month_reversed_after_the_month_is_not_listed_in_it(api, user):
    # Received in September, so settled before October began; the receipt was undone in November.
    send(user, "tr-old", d(2025, 9, 10), "500.00")
    receive(user, "tr-old", d(2025, 9, 12))
    undo_receipt(user, "tr-old", d(2025, 11, 5))

    october = tracking(api, "2025-10")
    september = listed(tracking(api, "2025-09"))["tr-old"]

    assert "tr-old" not in listed(october)
    assert october["totals"]["in_transit_count"] == 0
    assert (september["status"], september["received_date"]) == ("received", "2025-09-12")
    assert listed(tracking(api, "2025-11"))["tr-old"]["status"] == "in_transit"


def test_a_receipt_reversed_after_the_month_and_received_again_shows_the_first_receipt(api, user):
    send(user, "tr-again", d(2025, 10, 20), "700.00")
    receive(user, "tr-again", d(2025, 10, 22), "690.00")
    undo_receipt(user, "tr-again", d(2025, 11, 3))
    receive(user, "tr-again", d(2025, 11, 4))

    october = listed(tracking(api, "2025-10"))["tr-again"]
    november = listed(tracking(api, "2025-11"))["tr-again"]

    assert (october["status"], october["received_amount"], october["received_date"]) == (
        "received",
        "690.00",
        "2025-10-22",
    )
    assert october["attention_reasons"] == ["received_amount_differs"]
    assert (november["status"], november["received_amount"], november["received_date"]) == (
        "received",
        "700.00",
        "2025-11-04",
    )


def test_a_receipt_reversed_within_the_month_leaves_the_transfer_in_transit_at_its_end(api, user):
    send(user, "tr-undone", d(2025, 10, 14), "800.00")
    receive(user, "tr-undone", d(2025, 10, 15))
    undo_receipt(user, "tr-undone", d(2025, 10, 20))

    october = tracking(api, "2025-10")

    item = listed(october)["tr-undone"]
    assert (item["status"], item["received_amount"], item["received_date"]) == ("in_transit", None, None)
    assert (october["totals"]["in_transit_count"], october["totals"]["in_transit_amount"]) == (1, "800.00")
    assert Decimal(october["totals"]["in_transit_amount"]) == transit_balance(OCTOBER_END)


# --- Failed after the month -------------------------------------------------------------------


def test_a_transfer_failed_after_the_month_was_in_transit_at_its_end(api, user):
    send(user, "tr-lost", d(2025, 10, 25), "1200.00")
    # Sent in September and still in transit on 31 October: listed in October although failed since.
    send(user, "tr-lost-early", d(2025, 9, 29), "300.00")
    fail(user, "tr-lost", d(2025, 11, 4))
    fail(user, "tr-lost-early", d(2025, 11, 4))

    october = tracking(api, "2025-10")

    items = listed(october)
    assert {pk: items[pk]["status"] for pk in ("tr-lost", "tr-lost-early")} == {
        "tr-lost": "in_transit",
        "tr-lost-early": "in_transit",
    }
    # Its transit ran to its failure (the day its sending leg was reversed too).
    assert items["tr-lost"]["days_in_transit"] == 10
    assert items["tr-lost"]["attention_reasons"] == ["in_transit_too_long"]
    assert (october["totals"]["in_transit_count"], october["totals"]["in_transit_amount"]) == (2, "1500.00")
    assert Decimal(october["totals"]["in_transit_amount"]) == transit_balance(OCTOBER_END)
    # November lists both as failed: they failed in it.
    november = listed(tracking(api, "2025-11"))
    assert {november[pk]["status"] for pk in ("tr-lost", "tr-lost-early")} == {"failed"}


def test_a_transfer_failed_within_the_month_is_failed_at_its_end(api, user):
    send(user, "tr-failed", d(2025, 10, 3), "150.00")
    fail(user, "tr-failed", d(2025, 10, 9))

    october = tracking(api, "2025-10")

    assert listed(october)["tr-failed"]["status"] == "failed"
    assert october["totals"]["in_transit_count"] == 0


# --- The current month ------------------------------------------------------------------------


def test_the_current_month_shows_todays_statuses(api, user):
    today = timezone.localdate()
    send(user, "tr-now-open", today, "100.00")
    send(user, "tr-now-unsent", today, "50.00", post=False)  # its sending leg still a draft
    send(user, "tr-now-done", today, "200.00")
    receive(user, "tr-now-done", today, "199.00")
    send(user, "tr-now-bounced", today, "300.00")
    receive(user, "tr-now-bounced", today)
    undo_receipt(user, "tr-now-bounced", today)
    send(user, "tr-now-failed", today, "400.00")
    fail(user, "tr-now-failed", today)

    body = tracking(api)  # no period: the current month

    items = listed(body)
    assert body["period_end"] >= today.isoformat()
    assert {pk: (item["status"], item["received_amount"]) for pk, item in items.items()} == {
        "tr-now-open": ("in_transit", None),
        "tr-now-unsent": ("initiated", None),
        "tr-now-done": ("received", "199.00"),
        "tr-now-bounced": ("in_transit", None),
        "tr-now-failed": ("failed", None),
    }
    assert items["tr-now-open"]["days_in_transit"] == 0
    totals = body["totals"]
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (2, "400.00")  # sent, not received
    assert (totals["outgoing_count"], totals["outgoing_amount"]) == (5, "1050.00")
    assert totals["outgoing_received_amount"] == "199.00"
    assert totals["attention_count"] == 1


# --- The month's totals and summary -----------------------------------------------------------


@pytest.fixture
def october_history(user, ledger):
    """October's transfers out of and into ba-op, and what happened to them in November."""
    send(user, "tr-a-straddle", d(2025, 10, 30), "1000.00")  # in transit on 31 October
    send(user, "tr-b-done", d(2025, 10, 6), "250.00")  # received in October
    send(user, "tr-c-bounced", d(2025, 10, 10), "900.00")  # received in October, undone in November
    send(user, "tr-d-undone", d(2025, 10, 14), "800.00")  # received and undone in October
    send(user, "tr-e-lost", d(2025, 10, 25), "1200.00")  # failed in November
    send(
        user, "tr-f-in", d(2025, 10, 29), "640.00", source="ba-sav", target="ba-op"
    )  # in, arrives in November
    receive(user, "tr-b-done", d(2025, 10, 8))
    receive(user, "tr-c-bounced", d(2025, 10, 12))
    receive(user, "tr-d-undone", d(2025, 10, 15))
    undo_receipt(user, "tr-d-undone", d(2025, 10, 20))
    receive(user, "tr-a-straddle", d(2025, 11, 2))
    undo_receipt(user, "tr-c-bounced", d(2025, 11, 5))
    fail(user, "tr-e-lost", d(2025, 11, 4))
    receive(user, "tr-f-in", d(2025, 11, 1))


def test_the_totals_and_summary_of_a_past_month_are_those_of_its_last_day(api, october_history):
    october = tracking(api, "2025-10")

    statuses = {pk: item["status"] for pk, item in listed(october).items()}
    assert statuses == {
        "tr-a-straddle": "in_transit",
        "tr-b-done": "received",
        "tr-c-bounced": "received",
        "tr-d-undone": "in_transit",
        "tr-e-lost": "in_transit",
        "tr-f-in": "in_transit",
    }
    assert october["totals"] == {
        "in_transit_count": 4,
        "in_transit_amount": "3640.00",
        "outgoing_count": 5,
        "outgoing_amount": "4150.00",
        "outgoing_received_amount": "1150.00",
        "incoming_count": 1,
        "incoming_amount": "640.00",
        "incoming_received_amount": "0.00",
        "attention_count": 2,
    }
    by_status = october["by_status"]
    assert by_status["in_transit"] == {
        "outgoing_count": 3,
        "outgoing_amount": "3000.00",
        "incoming_count": 1,
        "incoming_amount": "640.00",
    }
    assert (by_status["received"]["outgoing_count"], by_status["received"]["outgoing_amount"]) == (
        2,
        "1150.00",
    )
    assert by_status["failed"]["outgoing_count"] == by_status["initiated"]["outgoing_count"] == 0
    # Still in transit today, so counted to today; the lost one up to the reversal of its sending leg.
    assert [(row["id"], row["attention_reasons"]) for row in october["attention"]] == [
        ("tr-d-undone", ["in_transit_too_long"]),
        ("tr-e-lost", ["in_transit_too_long"]),
    ]
    unassigned = {
        direction: next(row for row in tables["cost_center"] if row["key"] == "unassigned")
        for direction, tables in october["by_dimension"].items()
    }
    assert (unassigned["outgoing"]["amount"], unassigned["outgoing"]["received_amount"]) == (
        "4150.00",
        "1150.00",
    )
    assert (unassigned["incoming"]["amount"], unassigned["incoming"]["received_amount"]) == ("640.00", "0.00")
    # Everything in transit on 31 October, both ways, is what the transit account held.
    assert Decimal(october["totals"]["in_transit_amount"]) == transit_balance(OCTOBER_END)


def test_the_november_report_of_the_same_history_shows_todays_statuses(api, october_history):
    november = tracking(api, "2025-11")

    statuses = {pk: (item["status"], item["received_amount"]) for pk, item in listed(november).items()}
    assert statuses == {
        "tr-a-straddle": ("received", "1000.00"),
        "tr-c-bounced": ("in_transit", None),
        "tr-d-undone": ("in_transit", None),
        "tr-e-lost": ("failed", None),  # failed on 4 November
        "tr-f-in": ("received", "640.00"),
    }
    assert (november["totals"]["in_transit_count"], november["totals"]["in_transit_amount"]) == (2, "1700.00")
    assert Decimal(november["totals"]["in_transit_amount"]) == transit_balance(d(2025, 11, 30))


# --- Cost -------------------------------------------------------------------------------------


def _queries(api, period):
    with CaptureQueriesContext(connection) as captured:
        tracking(api, period)
    return len(captured.captured_queries)


def test_a_past_months_report_asks_the_same_queries_however_many_transfers_changed_since(api, user):
    def history(prefix):
        send(user, f"{prefix}-straddle", d(2025, 10, 30))
        receive(user, f"{prefix}-straddle", d(2025, 11, 2))
        send(user, f"{prefix}-bounced", d(2025, 10, 10))
        receive(user, f"{prefix}-bounced", d(2025, 10, 12))
        undo_receipt(user, f"{prefix}-bounced", d(2025, 11, 5))
        send(user, f"{prefix}-lost", d(2025, 9, 25))
        fail(user, f"{prefix}-lost", d(2025, 11, 4))

    history("tr-1")
    one = _queries(api, "2025-10")
    for number in range(2, 6):
        history(f"tr-{number}")
    five = _queries(api, "2025-10")

    assert len(listed(tracking(api, "2025-10"))) == 15
    assert five == one


def test_a_receipt_split_by_hand_and_reversed_later_keeps_its_booked_split_in_its_month(api, user):
    # Given a transfer whose bank charge came off its second allocation (recorded on the
    # allocations before the receipt, as the demo's short receipts are), received in October
    send(
        user,
        "tr-charged",
        d(2025, 10, 4),
        "200.00",
        allocations=[
            {"amount": "100.00", "cost_center_id": "cc-hq"},
            {"amount": "100.00", "cost_center_id": "cc-ops"},
        ],
    )
    BankTransferAllocation.objects.filter(transfer_id="tr-charged", line_number=1).update(
        received_amount=Decimal("100.00")
    )
    BankTransferAllocation.objects.filter(transfer_id="tr-charged", line_number=2).update(
        received_amount=Decimal("60.00")
    )
    receive(user, "tr-charged", d(2025, 10, 5), "160.00")
    leg_lines = JournalEntry.objects.filter(posting__source_id=_leg("tr-charged", Direction.IN), debit__gt=0)
    booked = {line.cost_center_id: line.debit for line in leg_lines}
    assert booked == {"cc-hq": Decimal("100.00"), "cc-ops": Decimal("60.00")}
    before = tracking(api, "2025-10")

    # When its receiving leg is reversed in November (the allocations' shares are cleared)
    undo_receipt(user, "tr-charged", d(2025, 11, 3))
    october = tracking(api, "2025-10")

    # Then October still shows the split its leg booked, not a new proportional one (80.00/80.00)
    item = listed(october)["tr-charged"]
    assert [a["received_amount"] for a in item["allocations"]] == ["100.00", "60.00"]
    received = {
        row["key"]: row["received_amount"] for row in october["by_dimension"]["outgoing"]["cost_center"]
    }
    assert (received["cc-hq"], received["cc-ops"]) == ("100.00", "60.00")
    assert {**october, "generated_at": None} == {**before, "generated_at": None}


def test_a_transfer_never_sent_is_flagged_as_not_sent_not_as_in_transit(api, user):
    # Its sending leg still a draft: nothing is in transit; the chase is ours (post the leg).
    send(user, "tr-unsent", d(2025, 10, 1), "300.00", post=False)
    send(user, "tr-sent", d(2025, 10, 1), "400.00")

    reasons = {item["id"]: item["attention_reasons"] for item in tracking(api, "2025-10")["attention"]}

    assert reasons == {"tr-unsent": ["not_sent_too_long"], "tr-sent": ["in_transit_too_long"]}
