"""Report exports hold only what the JSON holds; branch cash and dimension loops at the edges.

Each test failed before its fix:

- Exports: an empty list of the JSON (no incoming transfers, no alerts) became a made-up
  table with one blank row in the CSV and XLSX (``report_exports.tabulate``).
- Variance report: a branch's cash sent in one month and credited two months later was
  counted in every month in between as well (``reports._cash_submissions``).
- Dimensional analysis: a parent loop written around ``Dimension.clean`` made the values in
  it, and their lines, vanish from ``by_dimension`` (``reports.dimension_table``).
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from accounting.models import AccountingPeriod
from accounting.tests.factories import AccountingPeriodFactory, JournalEntryFactory
from banking import reports
from banking.choices import TransferStatus
from banking.tests.factories import (
    BankAccountFactory,
    BankTransferAllocationFactory,
    BankTransferFactory,
    CashSubmissionFactory,
)
from dimensions.models import CostCenter
from dimensions.tests.factories import BranchFactory, CostCenterFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/"
D = datetime.date


def _gl_line(gl, day, debit="0", credit="0", **dims):
    period = AccountingPeriodFactory(id=AccountingPeriod.code_for(day))
    return JournalEntryFactory(
        posting__entry_date=day,
        posting__period=period,
        account_id=gl,
        debit=Decimal(debit),
        credit=Decimal(credit),
        **dims,
    )


# --- Exports ------------------------------------------------------------------------------------


@pytest.fixture
def outgoing_only():
    """ba-op sent one transfer in October (two allocations) and received none."""
    CostCenterFactory(id="cc-x", code="X", name="Zürich Büro")
    op = BankAccountFactory(id="ba-op")
    sav = BankAccountFactory(id="ba-sav")
    sent = BankTransferFactory(
        id="tr-1",
        from_bank_account=op,
        to_bank_account=sav,
        amount=Decimal("1000.00"),
        received_amount=Decimal("1000.00"),
        initiated_date=D(2025, 10, 2),
        received_date=D(2025, 10, 3),
        status=TransferStatus.RECEIVED,
    )
    for line, (amount, cost_center) in enumerate((("600.00", "cc-x"), ("400.00", None)), start=1):
        BankTransferAllocationFactory(
            transfer=sent,
            line_number=line,
            amount=Decimal(amount),
            received_amount=Decimal(amount),
            cost_center_id=cost_center,
        )
    return {"bank_account_id": "ba-op", "period": "2025-10"}


def test_csv_of_transfer_tracking_without_incoming_transfers_has_no_blank_made_up_rows(
    admin_api, outgoing_only
):
    # Given the JSON: no incoming transfer, so by_dimension.incoming has three empty tables
    body = admin_api.get(URL + "transfer-tracking", outgoing_only).json()
    assert body["incoming"] == []
    assert body["by_dimension"]["incoming"] == {"cost_center": [], "project": [], "department": []}

    # When it is exported as CSV
    response = admin_api.get(URL + "transfer-tracking", {**outgoing_only, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    # Then every table of the CSV is a part of the JSON with its rows: nothing for an empty list
    # (observed: a table "by_dimension.incoming" with one blank row, whose cost_center, project and
    # department columns are empty, and an "incoming" column on the report row)
    tables = [row["table"] for row in rows]
    assert "by_dimension.incoming" not in tables
    assert tables.count("by_dimension.outgoing.cost_center") == 2  # cc-x and unassigned
    assert "incoming" not in rows[0]


def test_xlsx_of_transfer_tracking_without_incoming_transfers_has_no_blank_sheet(admin_api, outgoing_only):
    response = admin_api.get(URL + "transfer-tracking", {**outgoing_only, "format": "xlsx"})

    workbook = load_workbook(io.BytesIO(response.content))
    # Observed: a sheet "dim.incoming" with the columns cost_center, project, department and one
    # row of empty cells, standing for three empty lists.
    assert "dim.incoming" not in workbook.sheetnames
    for sheet in workbook.worksheets:
        for row in list(sheet.iter_rows(values_only=True))[1:]:
            assert any(value not in (None, "") for value in row[1:]), (sheet.title, row)


def test_csv_of_a_variance_report_without_alerts_adds_no_alerts_column(admin_api):
    BankAccountFactory(id="ba-op")
    query = {"bank_account_id": "ba-op", "period": "2025-10"}
    body = admin_api.get(URL + "variance-report", query).json()
    assert body["alerts"] == [] and body["cash_submissions"]["by_branch"] == []

    rows = list(
        csv.DictReader(
            io.StringIO(admin_api.get(URL + "variance-report", {**query, "format": "csv"}).content.decode())
        )
    )

    # Observed: "alerts" and "by_branch" columns (always empty), and tables "cash_submissions",
    # "cash_submissions.by_dimension" and "unreconciled.by_dimension" with one blank row each.
    assert "alerts" not in rows[0]
    assert "by_branch" not in rows[0]
    tables = {row["table"] for row in rows}
    assert not {"cash_submissions", "cash_submissions.by_dimension", "unreconciled.by_dimension"} & tables


# --- Variance report: branch cash ------------------------------------------------------------------


def test_cash_sent_in_september_and_credited_in_november_is_not_octobers_branch_cash():
    # Given 10,000.00 a branch sent on 29 September that the bank credited (9,500.00) on 4 November
    op = BankAccountFactory(id="ba-op")
    CashSubmissionFactory(
        id="cs-slow",
        branch=BranchFactory(id="br-north", code="N", name="North"),
        bank_account=op,
        submission_date=D(2025, 9, 29),
        expected_amount=Decimal("10000.00"),
        deposited_amount=Decimal("9500.00"),
        deposit_date=D(2025, 11, 4),
    )

    september, october, november = (
        reports.variance_report_get(bank_account_id="ba-op", period=period)["cash_submissions"]["totals"]
        for period in ("2025-09", "2025-10", "2025-11")
    )

    # Then (docs/reports.md) it is pending in the month it was sent and comes back, with its
    # variance, in the month of the deposit ...
    assert (september["count"], september["pending_expected"]) == (1, Decimal("10000.00"))
    assert (november["count"], november["variance"]) == (1, Decimal("-500.00"))
    # ... and October, neither, has no branch cash (observed: count 1, expected and pending
    # 10,000.00: the same cash counted in a third month)
    assert (october["count"], october["expected"], october["pending_expected"]) == (
        0,
        Decimal("0.00"),
        Decimal("0.00"),
    )


# --- Dimensional analysis: roll-ups ------------------------------------------------------------------


def test_a_parent_loop_written_around_clean_does_not_drop_lines_from_by_dimension():
    # Given cost centres A and B made each other's parent by hand (an update, past Dimension.clean,
    # the case reports.dimension_table says its ``seen`` set guards against), and lines on A
    a = CostCenterFactory(id="cc-a", code="A", name="Alpha")
    b = CostCenterFactory(id="cc-b", code="B", name="Beta", parent=a)
    CostCenter.objects.filter(pk=a.pk).update(parent=b)
    BankAccountFactory(id="ba-op")
    _gl_line("gl-bank-ba-op", D(2025, 10, 10), debit="300.00", cost_center_id="cc-a")
    _gl_line("gl-bank-ba-op", D(2025, 10, 11), credit="100.00")

    result = reports.dimensional_analysis_get(bank_account_id="ba-op", period="2025-10")

    # Then, as docs/reports.md says, the own amounts of the dimension add up to the totals
    # (observed: cc-a and cc-b are not in the table at all; only "unassigned" is)
    rows = result["by_dimension"]["cost_center"]
    assert sum(row["inflow"] for row in rows) == result["totals"]["inflow"] == Decimal("300.00")
    assert "cc-a" in {row["key"] for row in rows}
