"""The reconciliation endpoints: same numbers as the service, clear 4xx answers, permissions."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounting.tests.factories import UserFactory
from banking.choices import LineMatchStatus, MatchStatus
from banking.matching import match_run
from banking.models import BankReconciliation, BankTransaction, ReconciliationMatch, StatementLine
from banking.reconciliation import jsonable, reconcile_banking_by_dimension
from banking.tests.reconciliation_setup import october
from cnperp.roles import RECONCILIATION_READ_PERMISSIONS

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/reconciliation"


@pytest.fixture
def month():
    return october()


def client_with(*names):
    """A client of a user holding ``names`` (``app.codename``; a bare codename is banking's)."""
    user = UserFactory(username="-".join(name.rpartition(".")[2] for name in names)[:150] or "nobody")
    labelled = [name.split(".") if "." in name else ("banking", name) for name in names]
    user.user_permissions.set(
        [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in labelled]
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def viewer():
    return client_with(*RECONCILIATION_READ_PERMISSIONS)


@pytest.fixture
def accountant():
    return client_with(*RECONCILIATION_READ_PERMISSIONS, "match_statementline", "finalize_bankreconciliation")


def test_get_gives_the_services_numbers_as_strings(month, viewer):
    match_run(bank_account_id="ba-op", period="2025-10")

    response = viewer.get(URL, {"bank_account_id": "ba-op", "period": "2025-10"})

    assert response.status_code == 200
    body = response.json()
    expected = jsonable(reconcile_banking_by_dimension("ba-op", "2025-10"))
    assert body == expected
    assert (body["book_closing_balance"], body["variance"], body["status"]) == (
        "1600.00",
        "-12.50",
        "within_threshold",
    )
    assert body["matched_count"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2025-10"}, "bank_account_id"),
        ({"bank_account_id": "ba-op"}, "period"),
        ({"bank_account_id": "ba-op", "period": "2025-13"}, "period"),
        ({"bank_account_id": "ba-op", "period": "10/2025"}, "period"),
        ({"bank_account_id": "ba-op", "period": ["2025-10", "2025-11"]}, "period"),
    ],
)
def test_a_missing_or_bad_parameter_is_a_400_naming_it(month, viewer, query, field):
    response = viewer.get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_format_json_picks_the_renderer_as_on_every_endpoint(month, viewer):
    # It was refused as an unknown query field, though the reports and lists take it.
    response = viewer.get(URL, {"bank_account_id": "ba-op", "period": "2025-10", "format": "json"})

    assert response.status_code == 200, response.content
    assert response.json()["bank_account_id"] == "ba-op"


def test_an_unknown_account_is_a_404(month, viewer):
    response = viewer.get(URL, {"bank_account_id": "ba-nope", "period": "2025-10"})
    assert response.status_code == 404
    assert response.json() == {"bank_account_id": ['No bank account has the id "ba-nope".']}


def test_reading_and_changing_need_their_permissions(month):
    anonymous = APIClient()
    assert anonymous.get(URL, {"bank_account_id": "ba-op", "period": "2025-10"}).status_code == 401
    nobody = client_with()
    assert nobody.get(URL, {"bank_account_id": "ba-op", "period": "2025-10"}).status_code == 403
    viewer = client_with(*RECONCILIATION_READ_PERMISSIONS)
    response = viewer.post(f"{URL}/run", {"bank_account_id": "ba-op", "period": "2025-10"})
    assert response.status_code == 403
    assert not BankReconciliation.objects.exists()


@pytest.mark.parametrize("missing", RECONCILIATION_READ_PERMISSIONS)
def test_reading_a_reconciliation_needs_the_view_of_everything_it_shows(month, missing):
    # It shows GL balances, statement lines, transactions and matches: holding only the view of
    # reconciliations read them all, which the endpoints of each refused.
    query = {"bank_account_id": "ba-op", "period": "2025-10"}
    short = client_with(*(name for name in RECONCILIATION_READ_PERMISSIONS if name != missing))
    only_reconciliations = client_with("view_bankreconciliation")

    for client in (short, only_reconciliations):
        assert client.get(URL, query).status_code == 403
        assert client.get(f"{URL}/matches", query).status_code == 403
    assert client_with(*RECONCILIATION_READ_PERMISSIONS).get(URL, query).status_code == 200
    # Running it answers with the whole reconciliation: the match permission alone is not enough.
    runner = client_with("match_statementline", "view_bankreconciliation")
    assert runner.post(f"{URL}/run", query, format="json").status_code == 403
    assert not BankReconciliation.objects.exists()


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "\uff12\uff10\uff12\uff15-10"])
def test_running_a_month_outside_the_books_is_a_400_and_saves_nothing(month, accountant, period):
    # Year 0 and the calendar's ends were 500s; full-width digits reached the database as a key.
    response = accountant.post(f"{URL}/run", {"bank_account_id": "ba-op", "period": period}, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["period"]
    assert not BankReconciliation.objects.exists()


def test_run_matches_and_saves_the_snapshot(month, accountant):
    response = accountant.post(f"{URL}/run", {"bank_account_id": "ba-op", "period": "2025-10"})

    assert response.status_code == 200
    body = response.json()
    assert body["run"]["lines_matched"] == 3
    assert body["run"]["by_stage"] == {"amount_date": 1, "exact_key": 2}
    assert body["reconciliation"]["matched_count"] == 3
    snapshot = BankReconciliation.objects.get()
    assert body["reconciliation"]["reconciliation"]["id"] == snapshot.pk
    assert snapshot.variance == Decimal("-12.50")


def test_matches_are_listed_with_score_and_reason(month, accountant):
    match_run(bank_account_id="ba-op", period="2025-10")

    response = accountant.get(
        f"{URL}/matches", {"bank_account_id": "ba-op", "period": "2025-10", "status": "confirmed"}
    )

    assert response.status_code == 200
    rows = {row["statement_line_id"]: row for row in response.json()["results"]}
    assert set(rows) == {"sl-in-500", "sl-out-200", "sl-in-300"}
    assert (rows["sl-in-500"]["score"], rows["sl-in-500"]["reason"]) == ("100.00", "same end-to-end id E2E-1")
    assert rows["sl-out-200"]["amount"] == "-200.00"
    bad = accountant.get(
        f"{URL}/matches", {"bank_account_id": "ba-op", "period": "2025-10", "status": "maybe"}
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["status"]


def test_accept_and_reject_suggestions(month, accountant):
    # Given two equal unnamed amounts: suggestions only
    lines = month["lines"]
    StatementLine.objects.filter(pk="sl-in-300").update(counterparty_name="")
    BankTransaction.objects.filter(pk="bt-in-300").update(counterparty_name="")
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.get(statement_line=lines["name"])
    assert suggestion.status == MatchStatus.SUGGESTED

    rejected = accountant.post(f"{URL}/matches/{suggestion.pk}/reject")
    assert rejected.status_code == 200
    assert rejected.json()[0]["status"] == "rejected"
    again = accountant.post(f"{URL}/matches/{suggestion.pk}/accept")
    assert again.status_code == 409
    assert accountant.post(f"{URL}/matches/m-nope/accept").status_code == 404


def test_accepting_a_suggestion_through_the_api(month, accountant):
    StatementLine.objects.filter(pk="sl-in-300").update(counterparty_name="")
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.get(statement_line_id="sl-in-300")

    response = accountant.post(f"{URL}/matches/{suggestion.pk}/accept")

    assert response.status_code == 200
    assert response.json()[0]["status"] == "confirmed"
    assert StatementLine.objects.get(pk="sl-in-300").match_status == LineMatchStatus.MATCHED


def test_manual_match_and_unmatch(month, accountant):
    body = {"statement_line_ids": ["sl-in-500"], "transaction_ids": ["bt-in-500"]}
    created = accountant.post(f"{URL}/match", body)
    assert created.status_code == 201
    assert created.json()[0]["stage"] == "manual"

    freed = accountant.post(f"{URL}/unmatch", {"statement_line_ids": ["sl-in-500"]})
    assert freed.status_code == 200
    assert freed.json() == {"statement_line_ids": ["sl-in-500"]}
    assert StatementLine.objects.get(pk="sl-in-500").match_status == LineMatchStatus.UNMATCHED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"statement_line_ids": ["sl-in-500"], "transaction_ids": ["bt-in-300"]}, "transaction_ids"),
        ({"statement_line_ids": [], "transaction_ids": ["bt-in-300"]}, "statement_line_ids"),
        ({"statement_line_ids": ["sl-in-500"]}, "transaction_ids"),
        ({"statement_line_ids": ["sl-in-500"], "transaction_ids": ["bt-in-500"], "extra": 1}, "extra"),
    ],
)
def test_a_manual_match_that_does_not_add_up_is_a_400_naming_the_field(month, accountant, body, field):
    response = accountant.post(f"{URL}/match", body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not ReconciliationMatch.objects.exists()


def test_create_transaction_from_an_unmatched_line(month, accountant):
    response = accountant.post(
        "/api/v1/banking/statement-lines/sl-fee/create-transaction",
        {"transaction_type": "fee", "cost_center_id": "cc-hq"},
    )

    assert response.status_code == 201
    body = response.json()
    txn = BankTransaction.objects.get(pk=body["transaction_id"])
    assert (txn.amount, txn.direction, txn.cost_center_id) == (Decimal("12.50"), "out", "cc-hq")
    assert body["match"]["status"] == "confirmed"
    assert body["match"]["statement_line_id"] == "sl-fee"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"transaction_type": "interest"}, "transaction_type"),
        ({"transaction_type": "fee", "cost_center_id": "cc-nope"}, "cost_center_id"),
        ({}, "transaction_type"),
        # One leg of a transfer alone would post into transit with no other side.
        ({"transaction_type": "transfer"}, "transaction_type"),
    ],
)
def test_create_transaction_refuses_bad_input(month, accountant, body, field):
    before = BankTransaction.objects.count()
    response = accountant.post("/api/v1/banking/statement-lines/sl-fee/create-transaction", body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert BankTransaction.objects.count() == before


def test_an_unknown_statement_line_is_a_404(month, accountant):
    response = accountant.post(
        "/api/v1/banking/statement-lines/sl-nope/create-transaction", {"transaction_type": "fee"}
    )
    assert response.status_code == 404


def test_a_finalized_month_answers_409_to_every_change(month, accountant):
    accountant.post(f"{URL}/run", {"bank_account_id": "ba-op", "period": "2025-10"})
    signed = accountant.post(f"{URL}/finalize", {"bank_account_id": "ba-op", "period": "2025-10"})
    assert signed.status_code == 200
    assert signed.json()["reconciliation"]["status"] == "finalized"

    attempts = [
        (f"{URL}/run", {"bank_account_id": "ba-op", "period": "2025-10"}),
        (f"{URL}/finalize", {"bank_account_id": "ba-op", "period": "2025-10"}),
        (f"{URL}/unmatch", {"statement_line_ids": ["sl-in-500"]}),
        ("/api/v1/banking/statement-lines/sl-fee/create-transaction", {"transaction_type": "fee"}),
    ]
    for url, body in attempts:
        response = accountant.post(url, body)
        assert response.status_code == 409, url
        assert "was finalized" in response.json()["detail"]
    # the numbers can still be read
    assert (
        accountant.get(URL, {"bank_account_id": "ba-op", "period": "2025-10"}).json()["reconciliation"][
            "status"
        ]
        == "finalized"
    )
