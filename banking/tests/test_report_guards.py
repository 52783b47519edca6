"""Report guards a review of the report doors found missing.

- The XLSX export of a name with a control character (a vertical tab pasted from a
  spreadsheet) is a workbook, not a 500: openpyxl refuses such characters.
- The all-accounts variance report judges branch cash per account and branch: a branch
  short on one account and over on another used to net to nothing and raise no alert,
  and an alert did not say which account.
- The variance report needs the view permission on bank transactions and statements,
  which it lists.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounting.models import AccountingPeriod
from accounting.tests.factories import (
    AccountingPeriodFactory,
    JournalEntryFactory,
    JournalPostingFactory,
    UserFactory,
)
from banking import reports
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
)
from cnperp.roles import REPORT_PERMISSIONS
from dimensions.tests.factories import BranchFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/"
D = datetime.date


def _gl_line(gl, day, debit="0", credit="0", **dims):
    period = AccountingPeriodFactory(id=AccountingPeriod.code_for(day))
    posting = JournalPostingFactory(entry_date=day, period=period)
    return JournalEntryFactory(
        posting=posting, account=gl, debit=Decimal(debit), credit=Decimal(credit), **dims
    )


# --- Exports ----------------------------------------------------------------------------------


def test_xlsx_export_of_a_cost_centre_name_with_a_control_character_is_not_a_500(admin_api):
    # Given a cost centre whose name the API accepted with a vertical tab (pasted from a spreadsheet)
    op = BankAccountFactory(id="ba-op")
    created = admin_api.post(
        "/api/v1/dimensions/cost-centers", {"id": "cc-x", "code": "X", "name": "Ops\x0bdesk"}, format="json"
    )
    assert created.status_code == 201
    _gl_line(op.gl_account, D(2025, 10, 5), debit="100.00", cost_center_id="cc-x")

    # When the cash position is exported as XLSX
    admin_api.raise_request_exception = False
    response = admin_api.get(URL + "cash-position?bank_account_id=ba-op&period=2025-10&format=xlsx")

    # Then a workbook comes back (the JSON and the CSV of the same report work), not a 500
    assert admin_api.get(URL + "cash-position?bank_account_id=ba-op&period=2025-10").status_code == 200
    assert (
        admin_api.get(URL + "cash-position?bank_account_id=ba-op&period=2025-10&format=csv").status_code
        == 200
    )
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content))["dim.cost_center"]
    names = [cell for row in sheet.iter_rows(values_only=True) for cell in row if str(cell).startswith("Ops")]
    assert names == ["Ops\ufffddesk"]


def test_xlsx_export_keeps_every_cent_of_an_amount_beyond_what_a_spreadsheet_number_holds(admin_api):
    # A spreadsheet number holds 15 significant digits: 99,999,999,999,999.99 came back as
    # ...999.98, and 1.2e+17 for a total. Such amounts go as exact text; smaller ones stay numbers.
    # (Amounts a binary float holds exactly, so that SQLite, which keeps them as floats, stores them whole.)
    op = BankAccountFactory(id="ba-op")
    _gl_line(op.gl_account, D(2025, 10, 5), debit="10000000000000.50")
    _gl_line(op.gl_account, D(2025, 10, 6), debit="1234.50")
    query = "cash-position?bank_account_id=ba-op&period=2025-10"

    response = admin_api.get(URL + query + "&format=xlsx")

    from openpyxl import load_workbook

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "10000000000000.50" in cells
    assert Decimal("1234.50") in {Decimal(str(cell)) for cell in cells if isinstance(cell, float)}
    inflows = admin_api.get(URL + query).json()["totals"]["inflow"]
    assert inflows == "10000000001235.00"
    assert inflows in cells  # the month's total, exact here too


# --- Variance report: all accounts ------------------------------------------------------------


def test_all_accounts_variance_report_alerts_each_accounts_branch_cash_variance():
    # Given one branch 7,000.00 short on ba-op and 7,000.00 over on ba-sav (threshold 5,000.00)
    op = BankAccountFactory(id="ba-op")
    sav = BankAccountFactory(id="ba-sav")
    north = BranchFactory(id="br-north", code="N", name="North")
    CashSubmissionFactory(
        branch=north,
        bank_account=op,
        expected_amount=Decimal("10000.00"),
        deposited_amount=Decimal("3000.00"),
    )
    CashSubmissionFactory(
        branch=north,
        bank_account=sav,
        expected_amount=Decimal("1000.00"),
        deposited_amount=Decimal("8000.00"),
    )
    # (manage.py variance_alerts, which asks account by account, sees both)
    assert len(reports.variance_alerts_get(period="2025-10")) == 2

    # When the variance report is asked for every account
    result = reports.variance_report_get(period="2025-10")

    # Then both branch variances are alerts naming their account, as in the per-account reports
    alerts = sorted(
        (a["bank_account_id"] or "", a["branch_id"], a["variance"])
        for a in result["alerts"]
        if a["kind"] == "cash_submission"
    )
    assert alerts == [
        ("ba-op", "br-north", Decimal("-7000.00")),
        ("ba-sav", "br-north", Decimal("7000.00")),
    ]
    assert result["totals"]["alert_count"] == 2
    rows = [
        (r["bank_account_id"], r["branch_id"], r["variance"]) for r in result["cash_submissions"]["by_branch"]
    ]
    assert rows == [("ba-op", "br-north", Decimal("-7000.00")), ("ba-sav", "br-north", Decimal("7000.00"))]


def test_all_accounts_variance_report_cash_alert_names_its_bank_account():
    # Given one branch 6,000.00 short on ba-op, and a second account without cash
    op = BankAccountFactory(id="ba-op")
    BankAccountFactory(id="ba-sav")
    CashSubmissionFactory(
        branch=BranchFactory(id="br-north", code="N", name="North"),
        bank_account=op,
        expected_amount=Decimal("9000.00"),
        deposited_amount=Decimal("3000.00"),
    )

    # When the variance report is asked for every account
    result = reports.variance_report_get(period="2025-10")

    # Then the alert says which account the branch's cash went to
    assert [(a["kind"], a["bank_account_id"]) for a in result["alerts"]] == [("cash_submission", "ba-op")]


# --- Permissions ------------------------------------------------------------------------------


def _client_with(*names):
    user = UserFactory(username="partial-reader")
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_variance_report_needs_the_view_permission_on_bank_transactions_and_statements():
    # Given unreconciled bank transactions and a statement on ba-op
    op = BankAccountFactory(id="ba-op")
    BankTransactionFactory(bank_account=op, transaction_date=D(2025, 10, 3), amount=Decimal("1234.56"))
    BankStatementFactory(bank_account=op, closing_balance=Decimal("9999.99"))
    # and a user who may not read bank transactions nor statements (but holds the report's listed perms)
    names = set(REPORT_PERMISSIONS["variance-report"]) - {
        "banking.view_banktransaction",
        "banking.view_bankstatement",
    }
    client = _client_with(*sorted(names))
    assert client.get(URL + "transactions").status_code == 403

    # When that user asks for the variance report, which lists the unreconciled transactions and
    # the statement's closing balance
    response = client.get(URL + "variance-report?bank_account_id=ba-op&period=2025-10")

    # Then it is refused (docs/reports.md "Who"; docs/security.md: the view permission on every model
    # a report is computed from)
    assert response.status_code == 403
