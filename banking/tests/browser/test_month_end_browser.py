"""Month-end in a real browser: log in, import the statement, accept the suggestions,
match by hand, record the bank fee, sign off with a zero variance; then the cash
dashboard draws its charts. Debian's Chromium, headless, through Playwright."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from banking.choices import ReconciliationState
from banking.models import BankReconciliation, BankTransaction, StatementLine
from banking.tests.browser import month_end

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_plain_http"),
]
PASSWORD = "month-end-pass-1"


@pytest.fixture
def _plain_http(settings):
    # The live server speaks plain HTTP; production's HTTPS-only cookies would never come back.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def statement_path(tmp_path):
    path = tmp_path / "october-2025.camt053.xml"
    path.write_bytes(month_end.statement_file())
    return path


def log_in(page, live_server):
    get_user_model().objects.create_superuser("controller", "controller@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "controller")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def settle(page):
    """Wait until the workbench has finished loading after the last action."""
    page.wait_for_selector(".workbench[data-state=ready]")


def canvas_drawn(page, selector):
    return page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
            return canvas.width > 0 && painted > 500;
        }""",
    )


def test_month_end_in_the_admin(page, live_server, screenshot, statement_path):
    month_end.books()
    log_in(page, live_server)

    # Import the statement through the admin upload.
    page.goto(f"{live_server.url}/admin/banking/bankstatement/import/")
    page.select_option("#id_bank_account", "ba-op")
    page.set_input_files("#id_file", str(statement_path))
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector("text=5 line(s) read, 5 new, 0 duplicate(s) skipped.")
    screenshot("01-import-summary")
    assert StatementLine.objects.filter(bank_account_id="ba-op").count() == 5

    # Open the workbench from the bank account list.
    page.goto(f"{live_server.url}/admin/banking/bankaccount/")
    page.click("a[href='/admin/banking/bankaccount/ba-op/reconcile/']")
    page.wait_for_url(re.compile(r"/reconcile/2025-10/$"))
    settle(page)
    assert page.inner_text("#sum-open-lines").startswith("5 ")

    # Run the matcher (g): the receipt is confirmed, the withdrawal and card payment suggested, and
    # the lodgement offered as the sum of the two branch deposits, which nothing but dates links.
    page.keyboard.press("g")
    page.wait_for_selector("#wb-message:has-text('Matcher: 1 of 5')")
    settle(page)
    assert page.locator("#rows-suggestions tr[data-id]").count() == 3
    assert page.locator("#rows-suggestions .wb-reason").first.inner_text().startswith("amount")
    assert "no counterparty or reference links them" in page.inner_text("#rows-suggestions")
    screenshot("02-workbench-suggestions")

    # Accept the withdrawal's and the card payment's suggestions at once.
    for book in ("bt-withdrawal", "bt-card"):
        page.locator("#rows-suggestions tr[data-id]", has_text=book).locator("input[type=checkbox]").check()
    page.click("#wb-accept")
    page.wait_for_selector("#wb-message:has-text('2 suggestion(s) accepted')")
    settle(page)
    assert page.inner_text("#sum-matched").startswith("3 ")

    # Match the lodgement of 800.00 by hand to the two branch deposits (one line, two book items).
    page.locator("#rows-lines tr", has_text="LODGEMENT").locator("input[type=checkbox]").check()
    page.locator("#rows-books tr", has_text="North branch").locator("input[type=checkbox]").check()
    page.locator("#rows-books tr", has_text="South branch").locator("input[type=checkbox]").check()
    assert page.inner_text("#sel-difference") == "0.00"
    screenshot("03-workbench-manual-match")
    page.keyboard.press("m")
    page.wait_for_selector("#wb-message:has-text('Matched')")
    settle(page)

    # Record the unmatched bank fee as a posted fee on cost centre HQ, from the line itself.
    page.locator("#rows-lines tr", has_text="ACCOUNT SERVICE FEE").get_by_role(
        "button", name="Record…"
    ).click()
    page.wait_for_selector("#dlg-create[open]")
    assert page.input_value("#create-type") == "fee"
    page.select_option("#create-cost-center", "cc-hq")
    screenshot("04-workbench-record-fee")
    page.click("#create-save")
    page.wait_for_selector("#wb-message:has-text('recorded and posted')")
    settle(page)
    fee = BankTransaction.objects.get(transaction_type="fee")
    assert (fee.cost_center_id, fee.posting_status) == ("cc-hq", "posted")

    # Nothing is open and the variance is zero; the controller signs off.
    assert page.inner_text("#sum-variance") == "0.00"
    assert page.inner_text("#sum-open-lines").startswith("0 ")
    assert page.inner_text("#sum-open-books").startswith("0 ")
    page.keyboard.press("F")
    page.wait_for_selector("#dlg-finalize[open]")
    page.fill("#finalize-note", "October reconciled.")
    page.click("#finalize-save")
    page.wait_for_selector("#wb-message:has-text('signed off')")
    settle(page)
    assert page.inner_text("#sum-snapshot").startswith("signed off by controller")
    assert page.inner_text("#sum-variance") == "0.00"
    # The matched lines, each with the book items it was matched to; no change is offered any more.
    page.select_option("#status-lines", "matched")
    page.wait_for_function("document.querySelectorAll('#rows-lines tr[data-id]').length === 5")
    assert page.locator("#rows-lines button:not([disabled])").count() == 0
    screenshot("05-workbench-signed-off")
    snapshot = BankReconciliation.objects.get(bank_account_id="ba-op", period_id="2025-10")
    assert snapshot.status == ReconciliationState.FINALIZED

    # The cash dashboard draws its charts from the vendored Chart.js.
    page.goto(f"{live_server.url}/admin/banking/bankaccount/cash-dashboard/?period=2025-10")
    page.wait_for_selector(".cash-dashboard[data-state=ready]")
    assert canvas_drawn(page, "#chart-balances")
    assert canvas_drawn(page, "#chart-flows")
    operating = page.locator("#cd-accounts tr", has_text="Operating account").inner_text()
    assert "1,762.10" in operating and "balanced" in operating and "finalized" in operating
    assert "tr-topup" in page.inner_text("#cd-transfers")
    screenshot("06-cash-dashboard")
    assert page.js_errors == []


def test_workbench_keyboard_help_and_refusals_show_in_the_page(page, live_server, statement_path, settings):
    settings.BANKING_RECONCILIATION_THRESHOLD = Decimal("1.00")
    month_end.books()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/banking/bankstatement/import/")
    page.select_option("#id_bank_account", "ba-op")
    page.set_input_files("#id_file", str(statement_path))
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector("text=5 line(s) read")
    page.goto(f"{live_server.url}/admin/banking/bankaccount/ba-op/reconcile/2025-10/")
    settle(page)
    # The arrows step through the months; November has no statement yet.
    page.click("a[title='Next month']")
    page.wait_for_url(re.compile(r"/reconcile/2025-11/$"))
    settle(page)
    assert page.inner_text("#sum-variance") == "no statement"
    page.go_back()
    page.wait_for_url(re.compile(r"/reconcile/2025-10/$"))
    settle(page)
    # ? opens the shortcuts; Escape closes them.
    page.keyboard.press("?")
    page.wait_for_selector("#dlg-help[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#dlg-help", state="hidden")
    # Signing off with lines still open and a variance beyond the threshold needs a note: the
    # refusal shows in the dialog, and nothing is signed.
    page.keyboard.press("F")
    page.wait_for_selector("#dlg-finalize[open]")
    page.click("#finalize-save")
    page.wait_for_selector("#finalize-error:not([hidden])")
    assert "note" in page.inner_text("#finalize-error")
    assert not BankReconciliation.objects.filter(status=ReconciliationState.FINALIZED).exists()
    page.click("#finalize-cancel")
    # A filter narrows both sides; the text filter is focused with "/".
    page.keyboard.press("/")
    page.keyboard.type("LODGEMENT")
    page.keyboard.press("Enter")
    settle(page)
    assert page.locator("#rows-lines tr[data-id]").count() == 1
    # Escape leaves the filter; 2 goes to the statement lines, x selects the row under the
    # cursor, Escape clears the selection.
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    page.keyboard.press("x")
    assert page.inner_text("#sel-lines") == "1" and page.inner_text("#sel-lines-total") == "800.00"
    page.keyboard.press("Escape")
    assert page.inner_text("#sel-lines") == "0"
    # A session that ended says so, instead of failing silently.
    page.context.clear_cookies()
    page.click("#wb-filters button[type=submit]")
    page.wait_for_selector("#wb-message:has-text('Your session has ended')")
    assert page.js_errors == []
