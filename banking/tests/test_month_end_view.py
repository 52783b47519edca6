"""The reports and the reconciliation as they stood on a month's last day, and branch cash by deposit date.

Each test builds its own rows and states the expected figures from them by hand, never
through the reports' own queries. Those marked ``# passes: coverage`` pin behaviour nothing else
tested; the others failed before the fix they name.
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from accounting.models import AccountingPeriod
from accounting.tests.factories import AccountingPeriodFactory, JournalEntryFactory, JournalPostingFactory
from banking import matching, reports
from banking.choices import Direction, PostingStatus, ReconciliationStatus, TransferStatus
from banking.posting import (
    bank_transaction_post,
    bank_transaction_reverse,
    cash_submission_post,
    cash_submission_reverse,
)
from banking.reconciliation import reconcile_banking_by_dimension
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    BankTransferAllocationFactory,
    BankTransferFactory,
    CashSubmissionFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from dimensions.tests.factories import BranchFactory, CostCenterFactory

pytestmark = pytest.mark.django_db

D = datetime.date
URL = "/api/v1/banking/"


def _gl_line(gl, day, debit="0", credit="0", **dims):
    period = AccountingPeriodFactory(id=AccountingPeriod.code_for(day))
    posting = JournalPostingFactory(entry_date=day, period=period)
    return JournalEntryFactory(
        posting=posting, account=gl, entry_date=day, debit=Decimal(debit), credit=Decimal(credit), **dims
    )


def _periods(*codes):
    for code in codes:
        AccountingPeriodFactory(id=code)


# --- Statements: which closing balance is the month's ---------------------------------------------


def test_statement_closing_is_the_statement_ending_in_the_month_not_one_running_past_it():
    # Given October's books at 1,000.00, October's statement (1-31 Oct) closing at 1,000.00, and a
    # mid-month statement (16 Oct - 15 Nov) that closes at 7,500.00 on 15 November
    op = BankAccountFactory(id="ba-op")
    _gl_line(op.gl_account, D(2025, 10, 5), debit="1000.00")
    BankStatementFactory(
        id="st-oct",
        bank_account=op,
        from_date=D(2025, 10, 1),
        to_date=D(2025, 10, 31),
        opening_balance=Decimal("0.00"),
        closing_balance=Decimal("1000.00"),
    )
    BankStatementFactory(
        id="st-mid",
        bank_account=op,
        from_date=D(2025, 10, 16),
        to_date=D(2025, 11, 15),
        opening_balance=Decimal("1000.00"),
        closing_balance=Decimal("7500.00"),
    )
    # (the reconciliation of the same month takes the statement ending in it)
    assert reconcile_banking_by_dimension("ba-op", "2025-10")["statement_closing_balance"] == Decimal(
        "1000.00"
    )

    # When October's cash position and variance report are asked for
    cash = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"]
    variance = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    # Then the bank's balance at 31 October is 1,000.00: books and bank agree, nothing is flagged
    # (before the fix: 15 November's 7,500.00, a 6,500.00 variance flagged and alerted)
    assert cash["statement_closing_balance"] == Decimal("1000.00")
    assert cash["statement_difference"] == Decimal("0.00")
    assert variance["accounts"][0]["variance"] == Decimal("0.00")
    assert variance["alerts"] == []


def test_statement_closing_of_same_day_pages_is_the_last_page_of_the_balance_chain():
    # Given the two pages of one day's MT940 statement, page 2 (200.00 -> 350.00) imported before
    # page 1 (0.00 -> 200.00), so page 1 holds the larger id; the books close at 350.00
    op = BankAccountFactory(id="ba-op")
    _gl_line(op.gl_account, D(2025, 10, 31), debit="350.00")
    for pk, number, opening, closing in (
        ("st-a", "940-7/2", "200.00", "350.00"),
        ("st-b", "940-7/1", "0.00", "200.00"),
    ):
        BankStatementFactory(
            id=pk,
            statement_number=number,
            bank_account=op,
            from_date=D(2025, 10, 31),
            to_date=D(2025, 10, 31),
            opening_balance=Decimal(opening),
            closing_balance=Decimal(closing),
        )
    assert reconcile_banking_by_dimension("ba-op", "2025-10")["statement_closing_balance"] == Decimal(
        "350.00"
    )

    # When
    cash = reports.cash_position_get(bank_account_id="ba-op", period="2025-10")["totals"]
    variance = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["accounts"][0]

    # Then the day closes where the last page closes (before the fix: page 1's 200.00, a -150.00 variance)
    assert cash["statement_closing_balance"] == Decimal("350.00")
    assert variance["variance"] == Decimal("0.00")


# --- Variance report: what was open at the month's end ----------------------------------------------


def _deposit_reversed_in_november(superuser):
    """A 250.00 deposit posted on 10 October, never on a statement, reversed on 5 November."""
    ledger = ledger_setup()
    _periods("2025-10", "2025-11")
    BankTransactionFactory(
        id="bt-dep", bank_account=ledger["op"], amount=Decimal("250.00"), transaction_date=D(2025, 10, 10)
    )
    bank_transaction_post(transaction_id="bt-dep", user=superuser)
    bank_transaction_reverse(
        transaction_id="bt-dep", user=superuser, reversal_date=D(2025, 11, 5), reason="Wrong customer"
    )


def test_a_transaction_reversed_in_a_later_month_is_still_open_at_its_own_months_end(superuser):
    # Given a 250.00 deposit posted on 10 October, never on a statement, reversed on 5 November
    _deposit_reversed_in_november(superuser)

    # When October's variance report is asked for
    october = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    # Then October's books hold the deposit (its reversal is November's) ...
    assert october["totals"]["book_closing_balance"] == Decimal("250.00")
    # ... and at 31 October it was posted and not reconciled: an open item of 0-30 days
    # (before the fix: left out, because it is reversed today)
    assert (october["unreconciled"]["count"], october["unreconciled"]["amount"]) == (1, Decimal("250.00"))
    assert october["unreconciled"]["buckets"][0]["count"] == 1
    # November, where the reversal nets it to nothing, has nothing open
    november = reports.variance_report_get(bank_account_id="ba-op", period="2025-11")
    assert november["totals"]["book_closing_balance"] == Decimal("0.00")
    assert november["unreconciled"]["count"] == 0


def test_a_transaction_matched_to_next_months_statement_line_is_open_at_the_months_end(superuser):
    # Given a 250.00 deposit of 30 October that the bank credited on 3 November (a deposit in
    # transit at October's end), since matched to that November statement line
    ledger = ledger_setup()
    _periods("2025-10", "2025-11")
    BankTransactionFactory(
        id="bt-dep", bank_account=ledger["op"], amount=Decimal("250.00"), transaction_date=D(2025, 10, 30)
    )
    bank_transaction_post(transaction_id="bt-dep", user=superuser)
    StatementLineFactory(
        id="sl-nov",
        statement__bank_account=ledger["op"],
        statement__from_date=D(2025, 11, 1),
        statement__to_date=D(2025, 11, 30),
        amount=Decimal("250.00"),
        booking_date=D(2025, 11, 3),
    )
    matching.match_manual(statement_line_ids=["sl-nov"], transaction_ids=["bt-dep"], user=superuser)

    # When October's variance report is asked for
    unreconciled = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["unreconciled"]

    # Then at 31 October nothing on the bank's side explained it yet: it is October's open item
    # (before the fix: 0 items, since it is matched today)
    assert (unreconciled["count"], unreconciled["amount"]) == (1, Decimal("250.00"))


def _deposit_matched_across_the_month_end(superuser, *, book_day, bank_day):
    ledger = ledger_setup()
    _periods("2025-10", "2025-11")
    BankTransactionFactory(
        id="bt-dep", bank_account=ledger["op"], amount=Decimal("250.00"), transaction_date=book_day
    )
    bank_transaction_post(transaction_id="bt-dep", user=superuser)
    StatementLineFactory(
        id="sl-dep",
        statement__bank_account=ledger["op"],
        statement__from_date=bank_day.replace(day=1),
        statement__to_date=bank_day.replace(day=28),
        amount=Decimal("250.00"),
        booking_date=bank_day,
    )
    matching.match_manual(statement_line_ids=["sl-dep"], transaction_ids=["bt-dep"], user=superuser)


def test_octobers_reconciliation_lists_a_deposit_the_bank_credited_in_november(superuser):
    # Given a deposit booked on 30 October, credited by the bank on 3 November and matched since
    _deposit_matched_across_the_month_end(superuser, book_day=D(2025, 10, 30), bank_day=D(2025, 11, 3))

    october = reconcile_banking_by_dimension("ba-op", "2025-10")
    november = reconcile_banking_by_dimension("ba-op", "2025-11")

    # Then on 31 October it was a deposit in transit: October's open book item, not a match
    # (before: neither matched nor open, so October's 250.00 variance was explained by nothing)
    assert (october["unmatched_book_items"]["count"], october["unmatched_book_items"]["total"]) == (
        1,
        Decimal("250.00"),
    )
    assert [item["id"] for item in october["unmatched_book_items"]["items"]] == ["bt-dep"]
    assert october["matched_count"] == 0
    # and November, where the bank credited it, has it matched
    assert (november["matched_count"], november["matched_amount"]) == (1, Decimal("250.00"))
    assert november["unmatched_book_items"]["count"] == 0


def test_octobers_reconciliation_lists_a_bank_line_booked_in_the_books_only_in_november(superuser):
    # Given a line the bank booked on 30 October, recorded in the books on 2 November and matched
    _deposit_matched_across_the_month_end(superuser, book_day=D(2025, 11, 2), bank_day=D(2025, 10, 30))

    october = reconcile_banking_by_dimension("ba-op", "2025-10")

    # Then on 31 October the books did not have it yet: an open statement line, not a match
    assert (october["matched_count"], october["matched_amount"]) == (0, Decimal("0.00"))
    lines = october["unmatched_statement_lines"]
    assert (lines["count"], lines["total"], [item["id"] for item in lines["items"]]) == (
        1,
        Decimal("250.00"),
        ["sl-dep"],
    )
    assert october["matched_transaction_count"] == 0


def test_octobers_reconciliation_keeps_a_deposit_reversed_in_november(superuser):
    _deposit_reversed_in_november(superuser)

    october = reconcile_banking_by_dimension("ba-op", "2025-10")
    also_october = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    assert october["book_closing_balance"] == Decimal("250.00")
    assert (october["unmatched_book_items"]["count"], october["unmatched_book_items"]["total"]) == (
        1,
        Decimal("250.00"),
    )
    assert also_october["unreconciled"]["count"] == 1


# --- Variance report: branch cash -------------------------------------------------------------------


def test_a_reversed_cash_submission_is_left_out_of_the_branch_cash(superuser):
    # Given a submission keyed in with a typo (3,000.00 deposited of 10,000.00), posted and then
    # reversed, and the same cash keyed in again correctly (10,000.00 of 10,000.00) and posted
    ledger = ledger_setup()
    _periods("2025-10")
    for pk, deposited in (("cs-typo", "3000.00"), ("cs-right", "10000.00")):
        CashSubmissionFactory(
            id=pk,
            branch=ledger["branch"],
            bank_account=ledger["op"],
            submission_date=D(2025, 10, 14),
            expected_amount=Decimal("10000.00"),
            deposited_amount=Decimal(deposited),
            deposit_date=D(2025, 10, 15),
        )
        cash_submission_post(submission_id=pk, user=superuser)
        if pk == "cs-typo":
            cash_submission_reverse(
                submission_id=pk, user=superuser, reversal_date=D(2025, 10, 20), reason="Typo"
            )

    # When October's variance report is asked for
    result = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")

    # Then the branch sent 10,000.00 and the bank credited 10,000.00: no variance, no alert
    # (before the fix: 20,000.00 expected, 13,000.00 deposited, -7,000.00 flagged and alerted; the
    # reversal took the typo out of the books, as the unreconciled items leave out reversed ones)
    totals = result["cash_submissions"]["totals"]
    assert (totals["count"], totals["expected"], totals["deposited"], totals["variance"]) == (
        1,
        Decimal("10000.00"),
        Decimal("10000.00"),
        Decimal("0.00"),
    )
    assert result["alerts"] == []
    assert reports.variance_alerts_get(period="2025-10") == []


def test_cash_deposited_after_the_month_is_pending_at_its_end_and_short_in_the_deposit_month():
    # Given 10,000.00 a branch sent on 30 October, of which the bank credited 3,000.00 on 3 November
    # (posting books the over/short on the deposit date: November)
    op = BankAccountFactory(id="ba-op")
    CashSubmissionFactory(
        id="cs-late",
        branch=BranchFactory(id="br-north", code="N", name="North"),
        bank_account=op,
        submission_date=D(2025, 10, 30),
        expected_amount=Decimal("10000.00"),
        deposited_amount=Decimal("3000.00"),
        deposit_date=D(2025, 11, 3),
    )

    # When October's and November's variance reports are asked for
    october = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["cash_submissions"]
    november = reports.variance_report_get(bank_account_id="ba-op", period="2025-11")

    # Then at 31 October the cash was not yet credited: pending, no variance (what the cron of
    # 1 November saw; before the fix: 3,000.00 deposited, -7,000.00 variance in October) ...
    totals = october["totals"]
    assert (totals["pending_count"], totals["pending_expected"], totals["deposited"], totals["variance"]) == (
        1,
        Decimal("10000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # ... and the 7,000.00 shortage is alerted in November, when the bank credited the cash
    # (before the fix: November has no submission, so manage.py variance_alerts never reports it)
    assert [(a["kind"], a["branch_id"], a["variance"]) for a in november["alerts"]] == [
        ("cash_submission", "br-north", Decimal("-7000.00"))
    ]


# --- Coverage ----------------------------------------------------------------------------------------


# passes: coverage
def test_unreconciled_items_exactly_on_the_age_bucket_boundaries():
    op = BankAccountFactory(id="ba-op")
    end = D(2025, 10, 31)
    ages = {0: "0-30", 30: "0-30", 31: "31-60", 60: "31-60", 61: "61-90", 90: "61-90", 91: "90+"}
    for age in ages:
        BankTransactionFactory(
            id=f"bt-age-{age}",
            bank_account=op,
            direction=Direction.OUT,
            amount=Decimal(age + 1),
            transaction_date=end - datetime.timedelta(days=age),
            posting_status=PostingStatus.POSTED,
            reconciliation_status=ReconciliationStatus.UNRECONCILED,
        )

    buckets = reports.variance_report_get(bank_account_id="ba-op", period="2025-10")["unreconciled"][
        "buckets"
    ]

    for bucket in buckets:
        mine = [age for age, label in ages.items() if label == bucket["bucket"]]
        assert bucket["count"] == len(mine), bucket["bucket"]
        assert bucket["amount"] == -sum(Decimal(age + 1) for age in mine), bucket["bucket"]


# passes: coverage
def test_a_grandparent_without_lines_of_its_own_is_rolled_up_over_two_levels():
    op = BankAccountFactory(id="ba-op")
    top = CostCenterFactory(id="cc-top", code="A")
    mid = CostCenterFactory(id="cc-mid", code="B", parent=top)
    CostCenterFactory(id="cc-leaf", code="C", parent=mid)
    CostCenterFactory(id="cc-leaf2", code="0", parent=mid)
    _gl_line(op.gl_account, D(2025, 10, 1), debit="100.00", cost_center_id="cc-leaf")
    _gl_line(op.gl_account, D(2025, 10, 31), credit="30.00", cost_center_id="cc-leaf2")
    _gl_line(op.gl_account, D(2025, 11, 1), debit="999.00", cost_center_id="cc-leaf")  # November

    rows = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")["by_dimension"][
        "cost_center"
    ]

    assert [
        (r["key"], r["level"], r["inflow"], r["total_inflow"], r["total_outflow"], r["total_count"])
        for r in rows
    ] == [
        ("cc-top", 0, Decimal("0.00"), Decimal("100.00"), Decimal("30.00"), 2),
        ("cc-mid", 1, Decimal("0.00"), Decimal("100.00"), Decimal("30.00"), 2),
        ("cc-leaf2", 2, Decimal("0.00"), Decimal("0.00"), Decimal("30.00"), 1),
        ("cc-leaf", 2, Decimal("100.00"), Decimal("100.00"), Decimal("0.00"), 1),
    ]


# passes: coverage
def test_a_leap_february_runs_to_the_29th():
    op = BankAccountFactory(id="ba-op")
    _gl_line(op.gl_account, D(2024, 1, 31), debit="10.00")
    _gl_line(op.gl_account, D(2024, 2, 29), debit="100.00")
    _gl_line(op.gl_account, D(2024, 3, 1), debit="1000.00")

    result = reports.cash_position_get(bank_account_id="ba-op", period="2024-02")

    assert (result["period_end"], len(result["daily"])) == (D(2024, 2, 29), 29)
    assert (result["totals"]["opening_balance"], result["totals"]["inflow"]) == (
        Decimal("10.00"),
        Decimal("100.00"),
    )
    assert result["daily"][-1]["closing_balance"] == Decimal("110.00")


# passes: coverage
def test_transfer_tracking_csv_reads_back_to_the_json_numbers(admin_api):
    op = BankAccountFactory(id="ba-op")
    sav = BankAccountFactory(id="ba-sav")
    CostCenterFactory(id="cc-x", code="X")
    sent = BankTransferFactory(
        id="tr-1",
        from_bank_account=op,
        to_bank_account=sav,
        amount=Decimal("1000.00"),
        received_amount=Decimal("990.00"),
        initiated_date=D(2025, 10, 2),
        received_date=D(2025, 10, 4),
        status=TransferStatus.RECEIVED,
    )
    for line, (amount, received, cost_center) in enumerate(
        (("600.00", "594.00", "cc-x"), ("400.00", "396.00", None)), start=1
    ):
        BankTransferAllocationFactory(
            transfer=sent,
            line_number=line,
            amount=Decimal(amount),
            received_amount=Decimal(received),
            cost_center_id=cost_center,
        )
    query = {"bank_account_id": "ba-op", "period": "2025-10"}
    body = admin_api.get(URL + "transfer-tracking", query).json()

    response = admin_api.get(URL + "transfer-tracking", {**query, "format": "csv"})

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    outgoing = [row for row in rows if row["table"] == "outgoing"]
    assert [(r["amount"], r["received_amount"], r["difference"]) for r in outgoing] == [
        (t["amount"], t["received_amount"], t["difference"]) for t in body["outgoing"]
    ]
    items = [row for row in rows if row["table"] == "outgoing.items"]
    assert [r["received_amount"] for r in items] == [
        a["received_amount"] for a in body["outgoing"][0]["allocations"]
    ]
    totals = next(row for row in rows if row["table"] == "totals")
    assert totals["outgoing_received_amount"] == body["totals"]["outgoing_received_amount"] == "990.00"
    cost_centers = {r["key"]: r for r in rows if r["table"] == "by_dimension.outgoing.cost_center"}
    assert cost_centers["cc-x"]["total_received_amount"] == "594.00"
