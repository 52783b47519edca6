"""the reconciliation workbench and the cash dashboard on the demo company, in a real browser.

``load_demo`` imports ba-op's statement of September 2025 with an unbooked bank fee of 12.50.
Screenshots go to /tmp only."""

import os
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils import timezone

from banking.admin_workbench import DASHBOARD_PERMISSIONS, VIEW_PERMISSIONS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_plain_http"),
]
PASSWORD = "workbench-pass-1"
SHOTS = "/tmp/workbench-shots"
SEPT = "/admin/banking/bankaccount/ba-op/reconcile/2025-09/"


@pytest.fixture
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def console(page):
    messages = []
    page.on(
        "console",
        lambda msg: messages.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None,
    )
    page.on("response", lambda r: messages.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    return messages


def log_in(page, live_server, username, *, superuser=True, group=None, perms=()):
    User = get_user_model()
    if superuser:
        User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    else:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
        for name in perms:
            app, codename = name.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def settle(page):
    page.wait_for_selector(".workbench[data-state=ready]")


def api_json(page, url):
    return page.evaluate(
        "url => fetch(url, {headers: {Accept: 'application/json'}}).then(r => r.json())", url
    )


def money(text):
    return "—" if text is None else f"{Decimal(text):,.2f}"


def _count_and_total(part):
    return f"{part['count']} ({money(part['total'])})"


def summary_vs_api(page, period):
    api = api_json(page, f"/api/v1/banking/reconciliation?bank_account_id=ba-op&period={period}")
    shown = {
        k: page.inner_text(f"#sum-{k}")
        for k in (
            "statement",
            "book",
            "variance",
            "matched",
            "suggested",
            "open-lines",
            "open-books",
            "status",
        )
    }
    want = {
        "statement": money(api["statement_closing_balance"]),
        "book": money(api["book_closing_balance"]),
        "variance": "no statement" if api["variance"] is None else money(api["variance"]),
        "matched": f"{api['matched_count']} ({money(api['matched_amount'])})",
        "suggested": str(api["suggested_count"]),
        "open-lines": _count_and_total(api["unmatched_statement_lines"]),
        "open-books": _count_and_total(api["unmatched_book_items"]),
        "status": api["status"].replace("_", " "),
    }
    return shown, want


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def no_js_errors(page, console):
    # Refusals answer 4xx on purpose (and Chromium probes /favicon.ico); a 5xx or a script error is a bug.
    errors = [
        m
        for m in console
        if (not m.startswith("HTTP 4") and "Failed to load resource" not in m) or "status of 5" in m
    ]
    assert page.js_errors == [] and errors == [], (page.js_errors, console)


def open_september(page, live_server):
    page.goto(f"{live_server.url}/admin/banking/bankaccount/")
    page.click("a[href='/admin/banking/bankaccount/ba-op/reconcile/']")
    page.wait_for_url(re.compile(r"/reconcile/2025-09/$"))
    settle(page)


def september_as_suggestions(page, live_server, settings):
    """The demo's September open in the workbench, its 45 pairs left as suggestions by the matcher."""
    settings.BANKING_MATCH_AUTO_CONFIRM_SCORE = 100  # every pair stays a suggestion
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(live_server.url + SEPT)
    settle(page)
    page.keyboard.press("g")
    page.wait_for_selector("#wb-message:has-text('45 with suggestions')")
    settle(page)


def sign_off_out_of_balance(page):
    page.keyboard.press("F")
    page.wait_for_selector("#dlg-finalize[open]")
    page.click("#finalize-save")
    page.wait_for_selector("#finalize-error:not([hidden])")
    assert "note" in page.inner_text("#finalize-error")
    page.fill("#finalize-note", "Bank fee of 12.50 booked in October.")
    page.click("#finalize-save")
    page.wait_for_selector("#wb-message:has-text('signed off')")
    settle(page)


# --- Guards: what works and must keep working --------------------------------------------


def test_superuser_month_end_figures_agree_with_the_api_at_every_step(page, live_server, console, settings):
    settings.BANKING_RECONCILIATION_THRESHOLD = Decimal("1.00")
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    open_september(page, live_server)
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want
    page.click("#wb-run")
    page.wait_for_selector("#wb-message:has-text('Matcher: 45 of 46')")
    settle(page)
    assert page.evaluate("document.activeElement.id") == "wb-run"  # focus stays where it was
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["open-lines"] == "1 (-12.50)" and shown["variance"] == "-12.50"
    # Unmatch with the keyboard (u on a matched line), then match it again by hand (x, x, m).
    page.select_option("#status-lines", "matched")
    page.wait_for_function("document.querySelectorAll('#rows-lines tr[data-id]').length === 45")
    first = page.locator("#rows-lines tr[data-id]").first
    amount = first.locator("td.money").inner_text()
    page.keyboard.press("2")
    page.keyboard.press("u")
    page.wait_for_selector("#wb-message:has-text('Unmatched 1')")
    settle(page)
    assert summary_vs_api(page, "2025-09")[0]["open-lines"].startswith("2 ")
    page.select_option("#status-lines", "open")
    page.wait_for_function("document.querySelectorAll('#rows-lines tr[data-id]').length === 2")
    page.locator("#rows-lines tr[data-id]", has_text=amount).locator("input[type=checkbox]").check()
    page.locator("#pane-books tr[data-id]").filter(
        has=page.locator("td.money", has_text=re.compile("^" + re.escape(amount) + "$"))
    ).first.locator("input[type=checkbox]").check()
    assert page.inner_text("#sel-difference") == "0.00"
    page.keyboard.press("m")
    page.wait_for_selector("#wb-message:has-text('Matched')")
    settle(page)
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["open-lines"] == "1 (-12.50)"
    # Out of balance: the note is asked for in the dialog, then the month is signed off.
    sign_off_out_of_balance(page)
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["status"] == "out of balance"
    assert page.inner_text("#sum-snapshot").startswith("signed off by boss")
    # Months: the month field and the arrows.
    page.fill("#wb-period", "2025-10")
    page.wait_for_url(re.compile(r"/reconcile/2025-10/$"))
    settle(page)
    shown, want = summary_vs_api(page, "2025-10")
    assert shown == want and shown["variance"] == "no statement"
    page.click("a[title='Previous month']")
    page.wait_for_url(re.compile(r"/reconcile/2025-09/$"))
    settle(page)
    # 800 px: nothing wider than the window.
    page.set_viewport_size({"width": 800, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot(page, "workbench-800")
    page.click("a.button:has-text('Cash dashboard')")
    page.wait_for_selector(".cash-dashboard[data-state=ready]")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    api = api_json(page, "/api/v1/banking/reconciliation?bank_account_id=ba-op&period=2025-09")
    row = page.locator("#cd-accounts tr", has_text="Operating account").inner_text()
    for key in ("book_closing_balance", "statement_closing_balance", "variance"):
        assert money(api[key]) in row
    shot(page, "dashboard-800")
    no_js_errors(page, console)


def test_suggestions_by_keyboard_and_mouse_agree_with_the_api(page, live_server, console, settings):
    september_as_suggestions(page, live_server, settings)
    assert page.inner_text("#count-suggestions") == "(45)" and page.inner_text("#sum-suggested") == "45"
    page.keyboard.press("1")
    page.keyboard.press("j")
    second = page.locator("#rows-suggestions tr[data-id]").nth(1).get_attribute("data-id")
    page.keyboard.press("a")
    page.wait_for_selector("#wb-message:has-text('1 suggestion(s) accepted')")
    settle(page)
    assert second not in page.inner_text("#rows-suggestions")
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["matched"].startswith("1 ")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("r")
    page.wait_for_selector("#wb-message:has-text('2 suggestion(s) rejected')")
    settle(page)
    assert summary_vs_api(page, "2025-09")[0]["suggested"] == "42"
    page.locator("#rows-suggestions tr[data-id]").first.get_by_role("button", name="Accept").click()
    page.wait_for_selector("#wb-message:has-text('1 suggestion(s) accepted')")
    settle(page)
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["matched"].startswith("2 ")
    no_js_errors(page, console)


def test_fee_recorded_from_its_line_with_n_balances_the_month(page, live_server, console):
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(live_server.url + SEPT)
    settle(page)
    page.keyboard.press("g")
    page.wait_for_selector("#wb-message:has-text('Matcher')")
    settle(page)
    page.keyboard.press("2")
    page.keyboard.press("n")
    page.wait_for_selector("#dlg-create[open]")
    assert page.evaluate("document.activeElement.id") == "create-type"
    assert page.input_value("#create-type") == "fee" and "-12.50" in page.inner_text("#create-line")
    page.click("#create-save")
    page.wait_for_selector("#wb-message:has-text('recorded and posted')")
    settle(page)
    shown, want = summary_vs_api(page, "2025-09")
    assert shown == want and shown["variance"] == "0.00" and shown["status"] == "balanced"
    no_js_errors(page, console)


def test_clerk_is_offered_neither_the_workbench_nor_the_dashboard(page, live_server, console):
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "clara", superuser=False, group="clerk")
    page.goto(f"{live_server.url}/admin/banking/bankaccount/")
    assert page.locator("a:has-text('Reconcile')").count() == 0
    assert page.locator("a:has-text('Cash dashboard')").count() == 0
    answer = api_json(page, SEPT + "summary/")
    assert "permission" in answer["error"]  # a message, never a traceback


# --- Problems found ----------------------------------------------------------------------


def test_the_shortcuts_work_while_a_status_list_has_the_focus(page, live_server, console):
    """After choosing a list in "Statement lines" the select keeps the focus: its own keys move
    through it, any other is a shortcut ("a" changed the dropdown to "All" instead of accepting,
    j/k/x did nothing until Esc or a click)."""
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(live_server.url + SEPT)
    settle(page)
    page.focus("#status-lines")  # as a mouse click on it leaves it
    page.select_option("#status-lines", "open")
    page.keyboard.press("ArrowDown")  # the keyboard way of choosing "Unmatched"
    page.wait_for_timeout(1100)  # past the select's type-ahead buffer
    page.keyboard.press("a")  # accept the current suggestion
    page.wait_for_timeout(300)
    assert page.input_value("#status-lines") == "unmatched", "the letter 'a' changed the filter"


def test_a_signed_off_month_offers_no_change_by_keyboard_either(page, live_server, console, settings):
    """A signed-off month disables the buttons; the checkboxes went dead too, and "m", "n", "u",
    "g" say it is signed off ("m" answered "select lines whose totals are equal", "n" opened a
    Record dialog that always failed with a 409)."""
    settings.BANKING_RECONCILIATION_THRESHOLD = Decimal("1.00")
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(live_server.url + SEPT)
    settle(page)
    page.keyboard.press("g")
    page.wait_for_selector("#wb-message:has-text('Matcher')")
    settle(page)
    sign_off_out_of_balance(page)
    page.keyboard.press("2")
    page.keyboard.press("n")
    page.wait_for_timeout(300)
    dialog_opened = page.is_visible("#dlg-create")
    if dialog_opened:
        page.click("#create-cancel")
    live_boxes = page.locator(".wb-table tbody input[type=checkbox]:not([disabled])").count()
    page.keyboard.press("x")
    page.keyboard.press("3")
    page.keyboard.press("x")
    page.keyboard.press("m")
    page.wait_for_timeout(300)
    message = page.inner_text("#wb-message")
    assert (dialog_opened, live_boxes, "signed off" in message) == (False, 0, True), (
        dialog_opened,
        live_boxes,
        message,
    )


def test_sign_off_date_is_the_local_date(page, live_server, console, settings):
    """The sign-off shows approved_at.slice(0, 10): the UTC date, not the date of TIME_ZONE."""
    settings.TIME_ZONE = "Etc/GMT-13" if timezone.now().hour >= 12 else "Etc/GMT+12"
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(live_server.url + SEPT)
    settle(page)
    page.keyboard.press("F")
    page.wait_for_selector("#dlg-finalize[open]")
    page.click("#finalize-save")
    page.wait_for_selector("#wb-message:has-text('signed off')")
    settle(page)
    local = timezone.localdate()
    assert local != timezone.now().date()
    assert page.inner_text("#sum-snapshot") == f"signed off by boss on {local.isoformat()}"


def test_no_link_leads_to_a_403(page, live_server, console):
    """docs/admin.md: links that would lead to a refusal are not offered. The workbench's
    "Cash dashboard" button shows to a user who may not see the dashboard, and the dashboard's
    "Reconcile" links to one who may not see the workbench (no view_statementline)."""
    call_command("load_demo", verbosity=0)
    log_in(
        page, live_server, "wb-only", superuser=False, perms=(*VIEW_PERMISSIONS, "banking.view_bankaccount")
    )
    page.goto(live_server.url + SEPT)
    settle(page)
    dashboard_buttons = page.locator("a.button:has-text('Cash dashboard')").count()
    page.context.clear_cookies()
    log_in(page, live_server, "dash-only", superuser=False, perms=DASHBOARD_PERMISSIONS)
    page.goto(f"{live_server.url}/admin/banking/bankaccount/cash-dashboard/?period=2025-09")
    page.wait_for_selector(".cash-dashboard[data-state=ready]")
    reconcile_links = page.locator("#cd-accounts a:has-text('Reconcile')").count()
    assert page.request.get(live_server.url + SEPT).status == 403
    assert (dashboard_buttons, reconcile_links) == (0, 0)


def test_dashboard_shows_states_as_words(page, live_server, console):
    """The accounts table shows the raw codes "out_of_balance", "no_statement", "not_started"
    where the workbench says "out of balance"."""
    call_command("load_demo", verbosity=0)
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/admin/banking/bankaccount/cash-dashboard/?period=2025-09")
    page.wait_for_selector(".cash-dashboard[data-state=ready]")
    assert "_" not in page.inner_text("#cd-accounts tbody")


def test_the_keyboard_keeps_its_place_after_a_rows_button(page, live_server, console, settings):
    """A row's button is redrawn with its table after the change it makes; the focus fell to the
    page's top, so a keyboard user had to tab back through the whole page after each Accept."""
    september_as_suggestions(page, live_server, settings)
    rows = page.locator("#rows-suggestions tr[data-id]")
    first, second = rows.nth(0).get_attribute("data-id"), rows.nth(1).get_attribute("data-id")
    rows.nth(0).get_by_role("button", name="Accept").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wb-message:has-text('1 suggestion(s) accepted')")
    settle(page)
    focused = "[document.activeElement.textContent, document.activeElement.closest('tr')?.dataset.id]"
    # the focus is put back once the tables are drawn again
    page.wait_for_function("document.activeElement !== document.body")
    # the Accept of the suggestion that moved up into the accepted one's place
    assert page.evaluate(focused) == ["Accept", second]
    assert first not in page.inner_text("#rows-suggestions")
    page.keyboard.press("Enter")  # and the keyboard carries on from there
    page.wait_for_function(f"!document.querySelector('#rows-suggestions tr[data-id=\"{second}\"]')")
    settle(page)
    assert second not in page.inner_text("#rows-suggestions")
    page.wait_for_function("document.activeElement !== document.body")
    assert page.evaluate(focused)[0] == "Accept"
    assert summary_vs_api(page, "2025-09")[0]["matched"].startswith("2 ")
    # Unmatch keeps the row (now open, with "Record…") when the list shows every line.
    page.select_option("#status-lines", "all")
    settle(page)
    matched = page.locator("#rows-lines tr[data-id]", has=page.get_by_role("button", name="Unmatch")).first
    line = matched.get_attribute("data-id")
    matched.get_by_role("button", name="Unmatch").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wb-message:has-text('Unmatched 1')")
    settle(page)
    page.wait_for_function("document.activeElement !== document.body")
    assert page.evaluate(focused) == ["Record…", line]
    no_js_errors(page, console)
