"""Transfer tracking: transfers out and in, days in transit, allocations by dimension, attention."""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from banking import reports
from banking.choices import TransferStatus
from banking.tests.factories import BankAccountFactory, BankTransferAllocationFactory, BankTransferFactory
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 11, 3)


@pytest.fixture
def transfers():
    """Transfers of ba-op with every status; the test knows each one's expected tracking."""
    root = CostCenterFactory(id="cc-root", code="ROOT")
    CostCenterFactory(id="cc-a", code="ROOT-A", parent=root)
    op = BankAccountFactory(id="ba-op")
    payroll = BankAccountFactory(id="ba-payroll")
    savings = BankAccountFactory(id="ba-savings")

    def transfer(pk, source, target, amount, initiated, status, received=None, received_date=None, shares=()):
        made = BankTransferFactory(
            id=pk,
            from_bank_account=source,
            to_bank_account=target,
            amount=Decimal(amount),
            received_amount=None if received is None else Decimal(received),
            initiated_date=initiated,
            received_date=received_date,
            status=status,
        )
        for line, (share, cost_center, share_received) in enumerate(shares, start=1):
            BankTransferAllocationFactory(
                transfer=made,
                line_number=line,
                amount=Decimal(share),
                received_amount=None if share_received is None else Decimal(share_received),
                cost_center_id=cost_center,
            )
        return made

    d = datetime.date
    transfer(
        "tr-ok",
        op,
        payroll,
        "5000.00",
        d(2025, 10, 2),
        TransferStatus.RECEIVED,
        "5000.00",
        d(2025, 10, 3),
        shares=[("3000.00", "cc-a", "3000.00"), ("2000.00", None, "2000.00")],
    )
    transfer(
        "tr-short",
        op,
        savings,
        "1000.00",
        d(2025, 10, 10),
        TransferStatus.RECEIVED,
        "990.00",
        d(2025, 10, 14),
        shares=[("1000.00", "cc-root", "990.00")],
    )
    transfer("tr-late", op, payroll, "2500.00", d(2025, 10, 27), TransferStatus.IN_TRANSIT)
    transfer("tr-new", op, savings, "700.00", d(2025, 11, 2), TransferStatus.INITIATED)  # after October
    transfer("tr-old-open", op, savings, "300.00", d(2025, 9, 20), TransferStatus.IN_TRANSIT)
    transfer(
        "tr-old-done",
        op,
        savings,
        "400.00",
        d(2025, 9, 20),
        TransferStatus.RECEIVED,
        "400.00",
        d(2025, 9, 21),
    )
    transfer("tr-failed", op, payroll, "800.00", d(2025, 10, 20), TransferStatus.FAILED)
    transfer(
        "tr-in",
        payroll,
        op,
        "1200.00",
        d(2025, 9, 29),
        TransferStatus.RECEIVED,
        "1200.00",
        d(2025, 10, 1),
        shares=[("1200.00", "cc-a", "1200.00")],
    )
    transfer("tr-elsewhere", payroll, savings, "9000.00", d(2025, 10, 5), TransferStatus.RECEIVED, "9000.00")


def _get(**kwargs):
    return reports.transfer_tracking_get(bank_account_id="ba-op", period="2025-10", today=TODAY, **kwargs)


def test_transfers_out_and_in_of_the_month_with_days_in_transit(transfers):
    result = _get()

    outgoing = {item["id"]: item for item in result["outgoing"]}
    incoming = {item["id"]: item for item in result["incoming"]}
    # Initiated in October, or still open at its end; not the one done in September, nor November's.
    assert set(outgoing) == {"tr-ok", "tr-short", "tr-late", "tr-old-open", "tr-failed"}
    assert set(incoming) == {"tr-in"}
    assert outgoing["tr-ok"]["days_in_transit"] == 1
    assert outgoing["tr-short"]["days_in_transit"] == 4
    assert outgoing["tr-late"]["days_in_transit"] == (TODAY - datetime.date(2025, 10, 27)).days
    assert outgoing["tr-failed"]["days_in_transit"] is None
    assert incoming["tr-in"]["counterparty_bank_account_id"] == "ba-payroll"
    assert outgoing["tr-short"]["difference"] == Decimal("-10.00")


def test_totals_and_statuses_are_the_sums_of_the_listed_transfers(transfers):
    result = _get()

    totals = result["totals"]
    assert (totals["outgoing_count"], totals["outgoing_amount"]) == (5, Decimal("9600.00"))
    assert (totals["incoming_count"], totals["incoming_amount"]) == (1, Decimal("1200.00"))
    assert totals["outgoing_received_amount"] == Decimal("5990.00")
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (2, Decimal("2800.00"))
    assert result["by_status"][TransferStatus.FAILED]["outgoing_count"] == 1
    assert result["by_status"][TransferStatus.RECEIVED]["outgoing_amount"] == Decimal("6000.00")


def test_attention_lists_short_receipts_and_long_transits(transfers):
    result = _get()

    reasons = {item["id"]: item["attention_reasons"] for item in result["attention"]}
    assert reasons == {
        "tr-short": ["received_amount_differs"],
        "tr-late": ["in_transit_too_long"],
        "tr-old-open": ["in_transit_too_long"],
    }
    assert result["totals"]["attention_count"] == 3
    assert result["attention_days"] == 3


@override_settings(BANKING_TRANSFER_ATTENTION_DAYS=30)
def test_the_attention_days_come_from_the_setting(transfers):
    reasons = {item["id"] for item in _get()["attention"]}

    assert reasons == {"tr-short", "tr-old-open"}


def test_allocations_by_dimension_roll_up_to_the_parent(transfers):
    result = _get()

    outgoing = {row["key"]: row for row in result["by_dimension"]["outgoing"]["cost_center"]}
    assert outgoing["cc-a"]["amount"] == Decimal("3000.00")
    assert outgoing["cc-root"]["amount"] == Decimal("1000.00")
    assert outgoing["cc-root"]["total_amount"] == Decimal("4000.00")
    assert outgoing["cc-root"]["total_received_amount"] == Decimal("3990.00")
    assert outgoing["unassigned"]["amount"] == Decimal("2000.00")
    incoming = {row["key"]: row for row in result["by_dimension"]["incoming"]["cost_center"]}
    assert incoming["cc-a"]["amount"] == Decimal("1200.00")
    listed = {item["id"]: item for item in result["outgoing"]}
    assert [a["cost_center"] for a in listed["tr-ok"]["allocations"]] == ["cc-a", "unassigned"]


def test_a_month_without_transfers_is_empty(transfers):
    result = reports.transfer_tracking_get(bank_account_id="ba-op", period="2024-01", today=TODAY)

    assert result["outgoing"] == result["incoming"] == result["attention"] == []
    assert result["totals"]["outgoing_amount"] == Decimal("0.00")


def test_the_tracked_transfers_are_exactly_those_the_definition_selects():
    """Every combination of side, status and dates around the month, inconsistent ones included.

    The report reads disjoint parts, each on its own index; the set must be the
    plain definition: initiated by the month's end, and initiated, received or
    still open since its start, in date order, each transfer once.
    """
    op = BankAccountFactory(id="ba-op")
    other = BankAccountFactory(id="ba-other")
    third = BankAccountFactory(id="ba-third")
    d = datetime.date
    initiated_dates = [d(2025, 8, 15), d(2025, 9, 30), d(2025, 10, 1), d(2025, 10, 31), d(2025, 11, 1)]
    received_dates = [None, d(2025, 9, 30), d(2025, 10, 1), d(2025, 10, 31), d(2025, 12, 5)]
    made = []
    for sides in ((op, other), (other, op), (other, third)):
        for status in TransferStatus.values:
            for initiated in initiated_dates:
                for received in received_dates:
                    made.append(
                        BankTransferFactory(
                            id=f"tr-{len(made):04d}",
                            from_bank_account=sides[0],
                            to_bank_account=sides[1],
                            amount=Decimal("10.00"),
                            initiated_date=initiated,
                            received_date=received,
                            status=status,
                        )
                    )
    open_statuses = {TransferStatus.INITIATED, TransferStatus.IN_TRANSIT}
    for period, start, end in (
        ("2025-10", d(2025, 10, 1), d(2025, 10, 31)),
        ("2025-09", d(2025, 9, 1), d(2025, 9, 30)),
    ):
        expected = sorted(
            (t.initiated_date, t.id)
            for t in made
            if "ba-op" in (t.from_bank_account_id, t.to_bank_account_id)
            and t.initiated_date <= end
            and (
                t.initiated_date >= start
                or (t.received_date is not None and t.received_date >= start)
                or t.status in open_statuses
            )
        )
        result = reports.transfer_tracking_get(bank_account_id="ba-op", period=period, today=TODAY)

        listed = [(item["initiated_date"], item["id"]) for item in result["outgoing"] + result["incoming"]]
        assert sorted(listed) == expected, period
        assert len(set(listed)) == len(listed)
        assert [item["id"] for item in result["outgoing"]] == [
            pk for _date, pk in expected if pk in {t.id for t in made if t.from_bank_account_id == "ba-op"}
        ]
