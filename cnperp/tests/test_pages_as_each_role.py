"""Every page finance staff open, on the demo company, as each role.

The demo company (``manage.py load_demo``) plus a slice of bulk history with its
postings, an imported October statement for ``ba-op`` that the matcher has
reconciled, posted and reversed cash submissions, floats and transactions and a
few reconciliation snapshots: built once for the module inside one transaction
that is rolled back at the end, so no other test sees it.

Walked: the admin's pages a role can open (lists, the change form of a draft,
a posted and a reversed record, history, the workbench, the dashboard, the
import form), the links on them, the browsable and JSON API lists and reports,
and the schema. Checked: no 5xx, no 404, no link to a page that refuses the very
user it was shown to, no page whose query count grows with the rows it shows.
(How long pages take is for the benchmarks, not for tests.)
"""

import datetime
import re
import time
from decimal import Decimal
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounting.models import DimensionAssignment, JournalEntry, JournalPosting
from banking import posting, reconciliation, statement_import
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    ReconciliationMatch,
    StatementCsvProfile,
    StatementLine,
)
from cnperp import roles
from cnperp.tests.admin_pages import change_url, changelist_url
from dimensions.models import CostCenter, Project

pytestmark = [pytest.mark.django_db, pytest.mark.mariadb]

PERIOD = "2025-10"
HREF = re.compile(r'href="([^"#]*)"')
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# --- The demo company, once for the module ----------------------------------------------


def _october_statement(user):
    """Import ba-op's October as the bank would send it: a CSV of the book's movements."""
    rows = ["Booking date;Value date;Amount;Details;Reference;Counterparty;Counterparty IBAN;Balance"]
    balance = Decimal("0")

    def money(value):
        return f"{value:.2f}".replace(".", ",")

    october = BankTransaction.objects.filter(
        bank_account_id="ba-op", transaction_date__year=2025, transaction_date__month=10
    ).order_by("transaction_date", "id")
    for txn in october:
        amount = txn.amount if txn.direction == "in" else -txn.amount
        balance += amount
        day = f"{txn.transaction_date:%d.%m.%Y}"
        rows.append(
            f"{day};{day};{money(amount)};{txn.description or 'x'};{txn.reference};"
            f"{txn.counterparty_name};;{money(balance)}"
        )
    statement_import.statement_import(
        bank_account=BankAccount.objects.get(pk="ba-op"),
        content="\n".join(rows).encode(),
        file_name="ba-op-2025-10.csv",
        format="csv",
        profile=StatementCsvProfile.objects.get(pk="csv-fnb"),
        user=user,
    )


def _build(superuser):
    call_command("load_demo", verbosity=0)
    call_command("load_demo", size=800, with_postings=True, verbosity=0)
    _october_statement(superuser)
    reconciliation.reconciliation_run(bank_account_id="ba-op", period=PERIOD, user=superuser, match=True)
    for account in ("ba-payroll", "ba-savings", "ba-collections"):
        for month in ("2025-08", "2025-09", "2025-10"):
            reconciliation.reconciliation_snapshot_save(bank_account_id=account, period=month, user=superuser)
    for submission in CashSubmission.objects.filter(posting_status="draft").order_by("pk")[:4]:
        posting.cash_submission_post(submission_id=submission.pk, user=superuser)
    for allocation in FloatAllocation.objects.filter(posting_status="draft").order_by("pk")[:3]:
        posting.float_allocation_post(allocation_id=allocation.pk, user=superuser)
    reversal = {"user": superuser, "reversal_date": datetime.date(2025, 11, 14), "reason": "review crawl"}
    for txn in BankTransaction.objects.filter(
        posting_status="posted", id__startswith="bt-demo-", bank_account_id="ba-payroll"
    ).order_by("pk")[:2]:
        posting.bank_transaction_reverse(transaction_id=txn.pk, **reversal)
    submission = CashSubmission.objects.filter(posting_status="posted").order_by("pk").first()
    posting.cash_submission_reverse(submission_id=submission.pk, **reversal)
    allocation = FloatAllocation.objects.filter(posting_status="posted").order_by("pk").first()
    posting.float_allocation_reverse(allocation_id=allocation.pk, **reversal)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Build the demo company in one transaction, rolled back once the module is done."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            User = get_user_model()
            superuser = User.objects.create_superuser("crawl-root", "root@example.com", "crawl-pass-123")
            _build(superuser)
            users = {"superuser": superuser}
            for role in roles.ROLES:
                user = User.objects.create_user(f"crawl-{role}", f"{role}@example.com", "crawl-pass-123")
                user.is_staff = True
                user.save()
                user.groups.set([Group.objects.get(name=role)])
                users[role] = user
            yield users
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _admin(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _api(user):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def _timed(client, url, **extra):
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        response = client.get(url, **extra)
        took = time.monotonic() - started
    return response, len(queries.captured_queries), took


def _first(model, **filters):
    return model.objects.filter(**filters).order_by("pk").first()


def _record_pages():
    """Change forms: a draft, a posted and a reversed document of each kind, one of each other record."""
    records = []
    for model in (BankTransaction, CashSubmission, FloatAllocation):
        for status in ("draft", "posted", "reversed"):
            records.append(_first(model, posting_status=status))
    records += [
        _first(BankTransfer, status="in_transit"),
        BankTransfer.objects.exclude(status="in_transit").order_by("pk").first(),
        _first(JournalPosting),
        _first(JournalEntry),
        _first(DimensionAssignment),
        _first(BankStatement),
        _first(StatementLine),
        _first(ReconciliationMatch),
        _first(BankReconciliation),
        _first(BankAccount),
        _first(PostingRule),
    ]
    assert None not in records, records
    return [change_url(record) for record in records]


def _screens():
    return [
        reverse("admin:index"),
        *(changelist_url(model) for model in admin.site._registry),
        reverse("admin:banking_bankaccount_dashboard") + f"?period={PERIOD}",
        reverse("admin:banking_bankaccount_reconcile", args=["ba-op", PERIOD]),
        reverse("admin:banking_bankstatement_import"),
        *_record_pages(),
    ]


def _links(response, url):
    """The admin pages a rendered page links to (logout, delete and password pages left out)."""
    found = set()
    for href in HREF.findall(response.content.decode(errors="replace")):
        parts = urlsplit(urljoin(url, unescape(href)))
        if parts.netloc not in ("", "testserver"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path.startswith("/admin/") and not any(
            word in path for word in ("logout", "/delete/", "password", "/static/")
        ):
            found.add(path)
    return found


def _followed(page, links, per_page=4):
    """The links of ``page`` worth following: not its own sorts, filters and pages, a few of each kind."""
    own = urlsplit(page).path
    kept, kinds = [], {}
    for link in sorted(links):
        path = urlsplit(link).path
        if path == own:
            continue
        # One kind per screen: /admin/<app>/<model>/<view>, whatever the record
        parts = path.strip("/").split("/")
        kind = (*parts[:3], parts[-1] if len(parts) > 3 else "")
        kinds[kind] = kinds.get(kind, 0) + 1
        if kinds[kind] <= per_page:
            kept.append(link)
    return kept


def _refused_links(client, pages, *, wanted=None):
    """Return ``(status, link, page)`` for each link on ``pages`` (kept by ``wanted``) refusing the user."""
    answers, refused = {}, []
    for page in pages:
        response = client.get(page)
        if response.status_code != 200:
            continue
        for link in sorted(_links(response, page)):
            if wanted is not None and not wanted(link):
                continue
            if link not in answers:
                answers[link] = client.get(link).status_code
            if answers[link] in (403, 404) or answers[link] >= 500:
                refused.append((answers[link], link, page))
    return refused


# --- Guards: every page answers, quickly ---------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", roles.CLERK, roles.ACCOUNTANT, roles.CONTROLLER, roles.AUDITOR])
def test_every_admin_screen_and_every_link_on_it_answers_without_a_server_error_or_404(world, who):
    client = _admin(world[who])
    failures, visited = [], set()
    for page in _screens():
        response, _queries, _took = _timed(client, page)
        visited.add(page)
        if response.status_code >= 500 or response.status_code == 404:
            failures.append((page, response.status_code))
        if response.status_code != 200:
            continue
        for link in _followed(page, _links(response, page) - visited):
            visited.add(link)
            answer, _queries, _took = _timed(client, link)
            if answer.status_code >= 500 or answer.status_code == 404:
                failures.append((link, answer.status_code, "linked from", page))
    assert failures == []


@pytest.mark.parametrize("who", ["superuser", *roles.ROLES])
def test_every_api_list_report_and_detail_answers_json_and_the_browsable_page_for_each_role(world, who):
    client = _api(world[who])
    statement = _first(BankStatement)
    urls = [
        "/api/v1/",
        "/api/v1/dimensions/",
        "/api/v1/accounting/",
        "/api/v1/banking/",
        *(f"/api/v1/{name}" for name in _API_LISTS),
        f"/api/v1/banking/statements/{statement.pk}",
        f"/api/v1/banking/statements/{statement.pk}/lines",
        f"/api/v1/banking/reconciliation?bank_account_id=ba-op&period={PERIOD}",
        f"/api/v1/banking/reconciliation/matches?bank_account_id=ba-op&period={PERIOD}",
        f"/api/v1/banking/reconciliations/{_first(BankReconciliation).pk}",
        f"/api/v1/banking/transactions/{_first(BankTransaction, posting_status='reversed').pk}",
        f"/api/v1/banking/cash-submissions/{_first(CashSubmission, posting_status='posted').pk}",
        f"/api/v1/banking/float-allocations/{_first(FloatAllocation, posting_status='reversed').pk}",
        f"/api/v1/banking/transfers/{_first(BankTransfer).pk}",
        f"/api/v1/accounting/journal-entries/{_first(JournalEntry).pk}",
        *(f"/api/v1/banking/{report}?period={PERIOD}" for report in _REPORTS),
        *(f"/api/v1/banking/{report}?period={PERIOD}&bank_account_id=ba-op" for report in _REPORTS),
        "/api/v1/banking/transfer-tracking?bank_account_id=ba-op",
    ]
    failures = []
    for url in urls:
        for accept in ("application/json", BROWSER_ACCEPT):
            response, _queries, _took = _timed(client, url, HTTP_ACCEPT=accept)
            if response.status_code not in (200, 403):
                failures.append((url, accept[:9], response.status_code))
    for url in ("/api/schema", "/api/schema?format=json", "/docs", "/redoc"):
        response, _queries, _took = _timed(client, url, HTTP_ACCEPT=BROWSER_ACCEPT)
        if response.status_code != 200:
            failures.append((url, response.status_code))
    assert failures == []


_REPORTS = ("cash-position", "dimensional-analysis", "variance-report")
_API_LISTS = (
    "dimensions/cost-centers",
    "dimensions/projects",
    "dimensions/departments",
    "dimensions/branches",
    "accounting/gl-accounts",
    "accounting/periods",
    "accounting/journal-entries",
    "banking/bank-accounts",
    "banking/posting-rules",
    "banking/csv-profiles",
    "banking/transactions",
    "banking/cash-submissions",
    "banking/float-allocations",
    "banking/transfers",
    "banking/statements",
    "banking/reconciliations",
    f"banking/reconciliation/matches?bank_account_id=ba-op&period={PERIOD}",
)


# --- Guards: query counts do not follow the rows listed -------------------------------------


@pytest.mark.parametrize("who", ["superuser", roles.CLERK, roles.AUDITOR])
def test_every_admin_list_costs_the_same_queries_for_20_rows_as_for_100(world, who, monkeypatch):
    client = _admin(world[who])
    grows = []
    for model, model_admin in admin.site._registry.items():
        counts = []
        for per_page in (20, 100):
            monkeypatch.setattr(model_admin, "list_per_page", per_page)
            response, queries, _took = _timed(client, changelist_url(model))
            rows = len(response.context["cl"].result_list) if response.status_code == 200 else 0
            counts.append((rows, queries))
        if counts[0][1] != counts[1][1]:
            grows.append((model.__name__, counts))
    assert grows == []


@pytest.mark.parametrize("accept", ["application/json", BROWSER_ACCEPT])
def test_every_api_list_costs_the_same_queries_for_20_rows_as_for_100(world, accept):
    client = _api(world["auditor"])
    grows = []
    statement = _first(BankStatement)
    for name in (*_API_LISTS, f"banking/statements/{statement.pk}/lines"):
        counts = []
        for size in (20, 100):
            separator = "&" if "?" in name else "?"
            response, queries, _took = _timed(
                client, f"/api/v1/{name}{separator}page_size={size}", HTTP_ACCEPT=accept
            )
            assert response.status_code == 200, (name, response.status_code)
            counts.append(queries)
        if counts[0] != counts[1]:
            grows.append((name, counts))
    assert grows == []


def test_the_workbench_lists_cost_the_same_queries_for_20_rows_as_for_100(world):
    client = _admin(world["accountant"])
    base = reverse("admin:banking_bankaccount_reconcile", args=["ba-op", PERIOD])
    grows = []
    for part in ("lines", "books", "suggestions"):
        counts = []
        for size in (20, 100):
            status = "" if part == "suggestions" else "&status=all"
            response, queries, _took = _timed(client, f"{base}{part}/?page_size={size}{status}")
            assert response.status_code == 200, (part, response.content[:200])
            counts.append(queries)
        if counts[0] != counts[1]:
            grows.append((part, counts))
    assert len(client.get(f"{base}lines/?page_size=100&status=all").json()["results"]) > 20
    assert grows == []


def test_the_cash_dashboard_costs_the_same_queries_for_a_thin_month_and_a_busy_one(world):
    client = _admin(world["controller"])
    url = reverse("admin:banking_bankaccount_dashboard")
    counts = {period: _timed(client, f"{url}?period={period}")[1] for period in ("2025-01", PERIOD)}
    # The same, but for one query per account whose month has a statement, in each of the three
    # panels that read its statement closing (balances, accounts, alerts): the lines an earlier
    # statement booked late, which its balances hold. The busy month has statements, the thin none.
    from banking.models import BankStatement
    from banking.reconciliation import period_bounds

    start, end = period_bounds(PERIOD)
    covering = BankStatement.objects.filter(from_date__lte=end, to_date__gte=start)
    with_statements = covering.values("bank_account_id").distinct()
    assert counts[PERIOD] - counts["2025-01"] == 3 * with_statements.count(), counts


# --- Bugs: a link shown to a user who is then refused -------------------------------------


def test_the_bank_account_list_offers_reconcile_only_to_those_who_may_open_the_workbench(world):
    # Given a clerk, who may list bank accounts but not see the workbench (docs/admin.md: it
    # needs view_bankreconciliation and view_statementline, which a clerk lacks)
    client = _admin(world[roles.CLERK])
    assert client.get(reverse("admin:banking_bankaccount_reconcile_start", args=["ba-op"])).status_code == 403

    # When the clerk opens the bank account list
    refused = _refused_links(client, [changelist_url(BankAccount)])

    # Then no "Reconcile" link leads to a 403 (the Cash dashboard button is already hidden this way)
    assert refused == []


@pytest.mark.parametrize("role", [roles.CLERK, roles.ACCOUNTANT])
def test_a_record_page_offers_its_history_only_to_those_who_may_read_the_audit_trail(world, role):
    # Given a role that may view documents but not the audit trail (read_audit_trail is the
    # controller's, auditor's and admin's), so that history_view answers 403
    client = _admin(world[role])
    pages = [change_url(_first(BankTransaction, posting_status="posted")), change_url(_first(BankAccount))]

    # When a posted transaction's and a bank account's pages are opened
    refused = _refused_links(client, pages, wanted=lambda link: link.endswith("/history/"))

    # Then neither offers a History link that refuses them
    assert refused == []


@pytest.mark.parametrize("role", [roles.CONTROLLER, roles.AUDITOR])
def test_the_workbench_offers_statement_import_only_to_those_who_may_import(world, role):
    # Given a role that may open the workbench but not import statements (import_statements
    # is the accountant's and admin's)
    client = _admin(world[role])
    workbench = reverse("admin:banking_bankaccount_reconcile", args=["ba-op", PERIOD])
    assert client.get(workbench).status_code == 200

    # When the workbench is opened
    refused = _refused_links(client, [workbench])

    # Then its "Import statement" button does not lead to a 403
    assert refused == []


# --- Bugs: a page whose queries follow its rows -------------------------------------------


def _history_queries(client, txn):
    url = reverse("admin:banking_banktransaction_history", args=[quote(txn.pk)])
    response, queries, _took = _timed(client, url)
    assert response.status_code == 200
    return queries


def test_a_history_page_costs_the_same_queries_for_5_entries_as_for_30(world):
    # Given a draft transaction changed through the API 5 times, then 25 times more
    accountant, auditor = _api(world[roles.ACCOUNTANT]), _admin(world[roles.AUDITOR])
    txn = _first(
        BankTransaction,
        posting_status="draft",
        id__startswith="bt-demo-",
        bank_account_id="ba-payroll",
        transfer__isnull=True,
        reconciliation_status="unreconciled",
    )
    cost_centers = list(CostCenter.objects.filter(is_active=True).values_list("pk", flat=True))
    projects = list(Project.objects.filter(is_active=True).values_list("pk", flat=True))

    def change(times, start):
        for number in range(start, start + times):
            response = accountant.patch(
                f"/api/v1/banking/transactions/{txn.pk}",
                {
                    "cost_center_id": cost_centers[number % len(cost_centers)],
                    "project_id": projects[number % len(projects)],
                    "description": f"edit {number}",
                },
                format="json",
            )
            assert response.status_code == 200, response.content

    change(5, 0)
    few = _history_queries(auditor, txn)
    change(25, 5)

    # When the auditor opens its history (one page: up to 50 entries)
    many = _history_queries(auditor, txn)

    # Then the page costs the same queries (today one content-type lookup per entry)
    assert many == few


def test_the_auditor_reads_a_role_group_without_a_query_per_permission(world):
    # Given the five role groups, holding from about 25 (clerk) to about 86 (admin) permissions
    client = _admin(world[roles.AUDITOR])
    groups = Group.objects.filter(name__in=roles.ROLES).annotate(held=Count("permissions")).order_by("held")
    smallest, largest = groups.first(), groups.last()
    assert largest.held - smallest.held > 30

    # When the auditor (read_users) opens the smallest and the largest group's page
    counts = {}
    for group in (smallest, largest):  # once first: per-process caches (content types) warm up
        client.get(reverse("admin:auth_group_change", args=[group.pk]))
    for group in (smallest, largest):
        response, queries, _took = _timed(client, reverse("admin:auth_group_change", args=[group.pk]))
        assert response.status_code == 200
        counts[group.name] = queries

    # Then both cost the same queries (today one content-type lookup per permission listed)
    assert counts[smallest.name] == counts[largest.name], counts
