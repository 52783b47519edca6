"""The workbench's JSON endpoints and the dashboard page through the Django test client:
the month-end of ``month_end`` without a browser, permissions and bad input."""

import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounting.tests.factories import UserFactory
from banking.admin_workbench import DASHBOARD_PERMISSIONS
from banking.choices import LineMatchStatus, ReconciliationState
from banking.models import BankReconciliation, BankTransaction, ReconciliationMatch, StatementLine
from banking.tests.browser import month_end
from banking.tests.factories import StatementLineFactory
from cnperp.roles import RECONCILIATION_READ_PERMISSIONS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_plain_http")]
BASE = "/admin/banking/bankaccount/ba-op/reconcile/2025-10/"
READ = RECONCILIATION_READ_PERMISSIONS


@pytest.fixture
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def grant(user, *codenames):
    """Give ``user`` the permissions ``app.codename``, creating the agreed custom ones if missing."""
    models = {
        "match_statementline": "statementline",
        "finalize_bankreconciliation": "bankreconciliation",
        "post_banktransaction": "banktransaction",
    }
    for name in codenames:
        app, codename = name.split(".")
        model = models.get(codename) or codename.split("_", 1)[1]
        content_type = ContentType.objects.get(app_label=app, model=model)
        permission, _ = Permission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": codename.replace("_", " ")}
        )
        user.user_permissions.add(permission)
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def books():
    return month_end.books()


@pytest.fixture
def imported(books, client, superuser):
    client.force_login(superuser)
    upload = SimpleUploadedFile("october.xml", month_end.statement_file())
    response = client.post(
        "/admin/banking/bankstatement/import/", {"bank_account": "ba-op", "file": upload, "format": "auto"}
    )
    assert response.status_code == 200
    assert StatementLine.objects.count() == 5
    return client


def get(client, action, **params):
    response = client.get(BASE + action + "/", params)
    return response.status_code, response.json()


def post(client, action, body=None, raw=None):
    response = client.post(
        BASE + action + "/",
        raw if raw is not None else json.dumps(body or {}),
        content_type="application/json",
    )
    return response.status_code, response.json()


def test_upload_summary_shows_lines_new_duplicates_and_the_balance_check(books, client, superuser):
    # Given the statement file, when it is uploaded twice through the admin
    client.force_login(superuser)
    url = "/admin/banking/bankstatement/import/"
    first = client.post(
        url,
        {
            "bank_account": "ba-op",
            "format": "auto",
            "file": SimpleUploadedFile("oct.xml", month_end.statement_file()),
        },
    )
    second = client.post(
        url,
        {
            "bank_account": "ba-op",
            "format": "auto",
            "file": SimpleUploadedFile("oct.xml", month_end.statement_file()),
        },
    )
    # then the first says five read and new, the second five duplicates, both that the balances agree
    assert "5 line(s) read, 5 new, 0 duplicate(s) skipped." in first.content.decode()
    assert "5 line(s) read, 0 new, 5 duplicate(s) skipped." in second.content.decode()
    assert re.search(r"<td>yes\s*</td>", first.content.decode())
    assert StatementLine.objects.count() == 5


def test_month_end_through_the_endpoints_ends_with_zero_variance(imported):
    client = imported
    # Given the imported statement, when the matcher runs
    status, run = post(client, "run-matcher")
    assert status == 200 and run["run"]["lines_matched"] == 1
    status, suggestions = get(client, "suggestions")
    assert suggestions["count"] == 3
    assert all(s["reason"] and Decimal(s["score"]) > 0 for s in suggestions["results"])
    singles = [s for s in suggestions["results"] if len(s["books"]) == 1]
    assert {s["books"][0]["id"] for s in singles} == {"bt-withdrawal", "bt-card"}
    # (the lodgement is offered as the sum of the two branch deposits, which nothing else links)
    (group,) = [s for s in suggestions["results"] if len(s["books"]) > 1]
    assert {book["id"] for book in group["books"]} == {"bt-north", "bt-south"}
    assert "no counterparty or reference links them" in group["reason"]
    # and both single suggestions are accepted at once
    status, accepted = post(client, "accept", {"match_ids": [s["match_id"] for s in singles]})
    assert status == 200 and len(accepted["done"]) == 2 and accepted["refused"] == []
    # and the lodgement is matched by hand to the two branch deposits
    status, lines = get(client, "lines", q="LODGEMENT")
    lodgement = lines["results"][0]["id"]
    status, matched = post(
        client, "match", {"statement_line_ids": [lodgement], "transaction_ids": ["bt-north", "bt-south"]}
    )
    assert status == 200, matched
    # and the fee is recorded, with its cost centre, and posted
    status, lines = get(client, "lines", amount_min="12.50", amount_max="12.50")
    fee = lines["results"][0]["id"]
    status, created = post(
        client,
        "create-transaction",
        {"statement_line_id": fee, "transaction_type": "fee", "cost_center_id": "cc-hq", "post": True},
    )
    assert status == 200, created
    txn = BankTransaction.objects.get(pk=created["transaction_id"])
    assert (txn.transaction_type, txn.amount, txn.cost_center_id, txn.posting_status) == (
        "fee",
        Decimal("12.50"),
        "cc-hq",
        "posted",
    )
    # then nothing is open and the variance is zero; a sign-off locks the month
    status, summary = get(client, "summary")
    assert (summary["unmatched_line_count"], summary["unmatched_book_count"], summary["variance"]) == (
        0,
        0,
        "0.00",
    )
    status, signed = post(client, "finalize", {"note": "October done"})
    assert status == 200, signed
    snapshot = BankReconciliation.objects.get(bank_account_id="ba-op", period_id="2025-10")
    assert snapshot.status == ReconciliationState.FINALIZED and snapshot.variance == Decimal("0.00")
    status, summary = get(client, "summary")
    assert summary["finalized"] is True
    listing = client.get("/admin/banking/bankreconciliation/").content.decode()
    assert f'href="{BASE}">Open workbench' in listing
    # and a second sign-off, or a new match, is refused with a 409 and a message
    status, again = post(client, "finalize")
    assert status == 409 and again["error"]
    status, refused = post(client, "unmatch", {"statement_line_ids": [lodgement]})
    assert status == 409 and refused["error"]


def test_manual_match_that_does_not_add_up_is_refused_and_changes_nothing(imported):
    status, lines = get(imported, "lines", q="LODGEMENT")
    status, answer = post(
        imported,
        "match",
        {"statement_line_ids": [lines["results"][0]["id"]], "transaction_ids": ["bt-north"]},
    )
    assert status == 400 and answer["field"] == "transaction_ids" and "add up" in answer["error"]
    assert not ReconciliationMatch.objects.exists()


def test_recording_a_deposit_from_money_going_out_is_refused(imported):
    status, lines = get(imported, "lines", q="SERVICE FEE")
    line = lines["results"][0]["id"]
    status, answer = post(
        imported, "create-transaction", {"statement_line_id": line, "transaction_type": "deposit"}
    )
    assert status == 400 and answer["field"] == "transaction_type"
    status, answer = post(
        imported,
        "create-transaction",
        {"statement_line_id": line, "transaction_type": "fee", "cost_center_id": "cc-nowhere"},
    )
    assert status == 400 and answer["field"] == "cost_center_id"
    assert StatementLine.objects.get(pk=line).match_status == LineMatchStatus.UNMATCHED
    assert not BankTransaction.objects.filter(transaction_type="fee").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"amount_min": "abc"}, "amount_min"),
        ({"amount_min": "10", "amount_max": "5"}, "amount_min"),
        ({"date_from": "31/10/2025"}, "date_from"),
        ({"page": "0"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"status": "lost"}, "status"),
    ],
)
def test_bad_filters_get_a_400_naming_the_field(imported, params, field):
    status, answer = get(imported, "lines", **params)
    assert status == 400 and answer["field"] == field


def test_bad_bodies_periods_accounts_and_methods_get_clear_answers(imported):
    assert post(imported, "match", raw="{not json")[0] == 400
    # A lone surrogate, which JSON can spell and no query can carry, is refused naming its field
    matches_before = ReconciliationMatch.objects.count()
    body = '{"statement_line_ids": ["sl-\\ud800"], "transaction_ids": []}'
    status, answer = post(imported, "match", raw=body)
    assert (status, answer["field"]) == (400, "statement_line_ids")
    assert ReconciliationMatch.objects.count() == matches_before
    assert post(imported, "accept", {"match_ids": []})[0] == 400
    status, answer = post(imported, "accept", {"match_ids": ["m-nowhere"]})
    assert status == 200 and answer["refused"][0]["match_id"] == "m-nowhere"
    response = imported.get("/admin/banking/bankaccount/ba-op/reconcile/2025-13/summary/")
    assert response.status_code == 400 and response.json()["field"] == "period"
    response = imported.get("/admin/banking/bankaccount/ba-nowhere/reconcile/2025-10/summary/")
    assert response.status_code == 404
    assert imported.get(BASE + "finalize/").status_code == 405
    assert imported.post(BASE + "summary/").status_code == 405
    assert imported.get(BASE + "explode/").status_code == 404
    # A bad month in the page's address goes back to the account's latest month with a message.
    response = imported.get("/admin/banking/bankaccount/ba-op/reconcile/October/", follow=True)
    assert response.redirect_chain[-1][0] == BASE
    assert "is not" in " ".join(str(m) for m in response.context["messages"])


def test_page_links_and_shell(imported):
    listing = imported.get("/admin/banking/bankaccount/").content.decode()
    assert "/admin/banking/bankaccount/ba-op/reconcile/" in listing and "Cash dashboard" in listing
    response = imported.get("/admin/banking/bankaccount/ba-op/reconcile/")
    assert response.status_code == 302 and response["Location"] == BASE
    page = imported.get(BASE).content.decode()
    assert 'id="workbench-config"' in page and "banking/workbench.js" in page and "Keyboard shortcuts" in page


def test_without_a_statement_reconcile_opens_the_latest_month_with_book_items(books, client, superuser):
    # Before any statement is imported (a new account, the demo company) today's month is
    # usually empty: the page opens on the month of the account's latest transaction instead.
    client.force_login(superuser)
    latest = BankTransaction.objects.filter(bank_account_id="ba-op").latest("transaction_date")
    response = client.get("/admin/banking/bankaccount/ba-op/reconcile/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/reconcile/{latest.transaction_date:%Y-%m}/")


def test_a_reader_sees_the_workbench_but_cannot_change_it(imported):
    reader = grant(UserFactory(username="reader"), *READ)
    client = Client()
    client.force_login(reader)
    assert get(client, "summary")[0] == 200
    for action, body in [
        ("run-matcher", {}),
        ("accept", {"match_ids": ["m-1"]}),
        ("match", {"statement_line_ids": ["a"], "transaction_ids": ["b"]}),
        ("create-transaction", {"statement_line_id": "a", "transaction_type": "fee"}),
        ("finalize", {}),
    ]:
        status, answer = post(client, action, body)
        assert status == 403 and "permission" in answer["error"], action
    config = imported.get(BASE).context["workbench_config"]
    assert config["can_match"] is True  # the superuser's page
    assert client.get(BASE).context["workbench_config"]["can_match"] is False


def test_a_clerk_matches_but_cannot_sign_off_nor_post(imported):
    client = Client()
    clerk = grant(UserFactory(username="matcher"), *READ, "banking.match_statementline")
    client.force_login(clerk)
    assert post(client, "run-matcher")[0] == 200
    status, answer = post(client, "finalize")
    assert status == 403 and "banking.finalize_bankreconciliation" in answer["error"]
    status, lines = get(client, "lines", q="SERVICE FEE")
    status, answer = post(
        client,
        "create-transaction",
        {"statement_line_id": lines["results"][0]["id"], "transaction_type": "fee", "post": True},
    )
    assert status == 403 and "banking.post_banktransaction" in answer["error"]
    assert not BankTransaction.objects.filter(transaction_type="fee").exists()


def test_without_the_view_permission_there_is_no_workbench(books, client):
    client.force_login(grant(UserFactory(username="stranger")))
    refused = client.get(BASE)
    assert refused.status_code == 403
    # A page in the admin's frame that says why (it was a bare "403 Forbidden").
    page = refused.content.decode()
    assert "You may not open this page" in page and "banking.view_bankreconciliation" in page
    assert get(client, "summary")[0] == 403
    assert client.get("/admin/banking/bankaccount/cash-dashboard/").status_code == 403


def test_dashboard_shows_accounts_alerts_and_chart_data(imported):
    response = imported.get("/admin/banking/bankaccount/cash-dashboard/", {"period": "2025-10"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in page and 'id="chart-balances"' in page
    charts = response.context["chart_data"]
    assert len(charts["days"]) == 31
    operating = next(s for s in charts["balances"] if s["label"].startswith("Operating account"))
    assert operating["data"][-1] == "1774.60"  # the books before the fee is posted
    assert charts["flows"]["cost_center"]["inflow"]  # deposits on cost centre HQ
    transit = response.context["dashboard"]["in_transit"]
    assert [(t["id"], t["amount"], t["status"]) for t in transit] == [("tr-topup", "1500.00", "Initiated")]
    # Listed as not yet received, it is not counted as in transit: its sending leg is not posted.
    assert response.context["dashboard"]["in_transit_count"] == 0
    assert '<span id="cd-transit-count">0</span>' in page
    # An unreadable month falls back to the latest month with GL lines, with a message.
    response = imported.get("/admin/banking/bankaccount/cash-dashboard/", {"period": "soon"})
    assert response.status_code == 200 and response.context["period"] == "2025-10"


def test_the_dashboard_needs_what_the_reports_need(books):
    # Given a user who may read the workbench but not every model the reports read
    client = Client()
    client.force_login(grant(UserFactory(username="workbench-only"), *READ, "banking.view_bankaccount"))
    url = "/admin/banking/bankaccount/cash-dashboard/"
    # Then the dashboard is refused, and its button is not offered
    assert client.get(url).status_code == 403
    listing = client.get("/admin/banking/bankaccount/")
    assert listing.status_code == 200 and "Cash dashboard" not in listing.content.decode()
    # And with the report endpoints' view permissions it opens
    client.force_login(grant(UserFactory(username="report-reader"), *DASHBOARD_PERMISSIONS))
    assert client.get(url, {"period": "2025-10"}).status_code == 200


def test_lines_of_another_account_are_refused_on_this_accounts_page(imported):
    # Given a statement line of the savings account
    savings = StatementLineFactory(statement__bank_account_id="ba-sav", amount=Decimal("350.00"))
    # When the operating account's page is asked to match or unmatch it
    status, answer = post(
        imported, "match", {"statement_line_ids": [savings.pk], "transaction_ids": ["bt-north"]}
    )
    # Then it is refused naming the field, and nothing is matched
    assert status == 400 and answer["field"] == "statement_line_ids" and "ba-sav" in answer["error"]
    assert post(imported, "unmatch", {"statement_line_ids": [savings.pk]})[0] == 400
    assert not ReconciliationMatch.objects.exists()


def test_a_body_nested_thousands_deep_is_a_400_naming_the_body(imported):
    # json.loads gave up with a RecursionError, which is no ValueError: a 500.
    deep = '{"statement_line_ids": ' + "[" * 3000 + "]" * 3000 + "}"
    response = imported.post(BASE + "match/", deep, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert "nests deeper than 32 levels" in response.json()["error"]
    assert not ReconciliationMatch.objects.exists()
