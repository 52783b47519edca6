"""The posting endpoints over HTTP: the guide's smoke scenario, repeats, errors, permissions."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient

from accounting.models import AccountingPeriod, DimensionAssignment, JournalEntry, JournalPosting
from accounting.selectors import GUIDE_GL_BALANCE_SQL
from accounting.tests.factories import AccountingPeriodFactory, UserFactory
from banking.choices import FloatStatus, PostingDocument, PostingStatus, TransactionType
from banking.models import BankTransaction, FloatAllocation
from banking.tests.factories import BankTransactionFactory, CashSubmissionFactory, FloatAllocationFactory
from banking.tests.posting_setup import contra, ledger_setup

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    return ledger_setup()


def _post(client, txn_id, body=None, verb="post-accounting", documents="transactions"):
    return client.post(f"{BASE}/{documents}/{txn_id}/{verb}", body if body is not None else {}, format="json")


def _guide_rows():
    with connection.cursor() as cursor:
        cursor.execute(GUIDE_GL_BALANCE_SQL.rstrip().rstrip(";"))
        return list(cursor.fetchall())


def test_the_guides_smoke_scenario(admin_api, ledger):
    # Given the guide's transaction, created as the guide creates it (a type, no direction).
    today = datetime.date.today()
    BankTransaction.objects.create(
        id="smoke-test-1",
        transaction_type="deposit",
        amount=Decimal("5000.00"),
        transaction_date=today,
        bank_account_id="ba-op",
        branch_id="test-branch",
        cost_center_id="cc-hq",
        posting_status="draft",
    )

    # When it is posted over HTTP with the guide's body.
    response = _post(admin_api, "smoke-test-1", {"user_id": "test-user-1"})

    # Then the answer is the posting, and the GL holds its balanced lines with their dimensions.
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "BT-smoke-test-1"
    assert body["entry_date"] == today.isoformat()
    assert body["period"] == AccountingPeriod.code_for(today)
    assert body["posted_by"] == "root-admin"
    assert [(line["account_id"], line["debit"], line["credit"]) for line in body["lines"]] == [
        ("gl-bank-ba-op", "5000.00", "0.00"),
        (contra(PostingDocument.DEPOSIT), "0.00", "5000.00"),
    ]
    assert body["lines"][0]["dimensions"] == {
        "cost_center_id": "cc-hq",
        "project_id": None,
        "department_id": None,
    }
    entries = JournalEntry.objects.filter(reference__contains="smoke-test-1")
    assert entries.count() == 2
    assert sorted((e.debit, e.credit) for e in entries) == [
        (Decimal("0.00"), Decimal("5000.00")),
        (Decimal("5000.00"), Decimal("0.00")),
    ]
    first = entries.order_by("line_number").first()
    assert first.dimension_assignments.count() == 3
    assert DimensionAssignment.objects.filter(journal_entry__in=entries).count() == 6
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM journal_entries WHERE reference LIKE %s", ["%smoke-test-1%"])
        assert cursor.fetchone()[0] == 2
    assert _guide_rows() == []
    txn = BankTransaction.objects.get(pk="smoke-test-1")
    assert txn.posting_status == PostingStatus.POSTED
    assert txn.gl_reference == "BT-smoke-test-1"

    # When it is posted again, then the same posting comes back and nothing new is written.
    again = _post(admin_api, "smoke-test-1", {"user_id": "test-user-1"})
    assert again.status_code == 200
    assert again.json() == body
    assert JournalEntry.objects.count() == 2
    assert JournalPosting.objects.count() == 1


def test_an_empty_body_posts_too(admin_api, ledger):
    BankTransactionFactory(id="bt-empty", bank_account=ledger["op"])
    response = admin_api.post(f"{BASE}/transactions/bt-empty/post-accounting")
    assert response.status_code == 201


def test_an_id_with_dots_is_found(admin_api, ledger):
    BankTransactionFactory(id="bt.2025.10.1", bank_account=ledger["op"])
    assert _post(admin_api, "bt.2025.10.1").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": 5}, "user_id"),
        ({"user_id": ["a"]}, "user_id"),
        ({"userid": "test-user-1"}, "userid"),
        ({"user_id": "x" * 151}, "user_id"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_posts_nothing(admin_api, ledger, body, field):
    BankTransactionFactory(id="bt-bad", bank_account=ledger["op"])
    response = _post(admin_api, "bt-bad", body)
    assert response.status_code == 400
    assert field in response.json()
    assert not JournalEntry.objects.exists()
    assert BankTransaction.objects.get(pk="bt-bad").posting_status == PostingStatus.DRAFT


def test_an_unknown_transaction_is_a_404(admin_api, ledger):
    response = _post(admin_api, "no-such-txn")
    assert response.status_code == 404
    assert "no-such-txn" in response.json()["detail"]


def test_a_closed_period_is_a_409_naming_it(admin_api, ledger):
    AccountingPeriodFactory(id="2025-10", status="closed")
    BankTransactionFactory(id="bt-closed", bank_account=ledger["op"])
    response = _post(admin_api, "bt-closed")
    assert response.status_code == 409
    assert "2025-10" in response.json()["detail"]
    assert not JournalEntry.objects.exists()


def test_a_missing_rule_is_a_409_naming_the_document_type(admin_api):
    ledger_setup(rules=False)
    BankTransactionFactory(id="bt-norule", bank_account_id="ba-op")
    response = _post(admin_api, "bt-norule")
    assert response.status_code == 409
    assert '"deposit"' in response.json()["detail"]
    assert response.json()["code"] == "posting_rule_missing"


def test_reverse_then_post_again_is_a_409(admin_api, ledger):
    BankTransactionFactory(id="bt-rev", bank_account=ledger["op"], amount=Decimal("75.50"))
    assert _post(admin_api, "bt-rev").status_code == 201

    response = _post(
        admin_api, "bt-rev", {"reversal_date": "2025-10-20", "reason": "Wrong account"}, "reverse"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "BT-bt-rev-REV"
    assert body["purpose"] == "reverse"
    assert body["entry_date"] == "2025-10-20"
    assert [(line["debit"], line["credit"]) for line in body["lines"]] == [
        ("0.00", "75.50"),
        ("75.50", "0.00"),
    ]
    assert BankTransaction.objects.get(pk="bt-rev").posting_status == PostingStatus.REVERSED
    again = _post(admin_api, "bt-rev")
    assert again.status_code == 409
    assert "reversed" in again.json()["detail"]
    twice = _post(admin_api, "bt-rev", {"reversal_date": "2025-10-20", "reason": "Again"}, "reverse")
    assert twice.status_code == 409
    assert _guide_rows() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "No date"}, "reversal_date"),
        ({"reversal_date": "20-10-2025", "reason": "Bad date"}, "reversal_date"),
        ({"reversal_date": "2025-10-20"}, "reason"),
        ({"reversal_date": "2025-10-20", "reason": "   "}, "reason"),
        ({"reversal_date": "2025-10-01", "reason": "Before the posting"}, "reversal_date"),
        ({"reversal_date": "2025-10-20", "reason": "x", "extra": 1}, "extra"),
        # Outside the books' years: it used to reach the period pattern and name no field.
        ({"reversal_date": "9999-12-31", "reason": "Far future"}, "reversal_date"),
    ],
)
def test_a_bad_reversal_is_a_400_naming_the_field(admin_api, ledger, body, field):
    BankTransactionFactory(id="bt-badrev", bank_account=ledger["op"])
    _post(admin_api, "bt-badrev")
    response = _post(admin_api, "bt-badrev", body, "reverse")
    assert response.status_code == 400
    assert field in response.json()
    assert JournalPosting.objects.count() == 1


def test_a_reversal_into_a_closed_period_is_a_409(admin_api, ledger):
    BankTransactionFactory(id="bt-revclosed", bank_account=ledger["op"])
    _post(admin_api, "bt-revclosed")
    AccountingPeriodFactory(id="2025-11", status="closed")
    response = _post(admin_api, "bt-revclosed", {"reversal_date": "2025-11-02", "reason": "Late"}, "reverse")
    assert response.status_code == 409
    assert "2025-11" in response.json()["detail"]


def test_reversing_a_draft_is_a_409(admin_api, ledger):
    BankTransactionFactory(id="bt-draft", bank_account=ledger["op"])
    response = _post(admin_api, "bt-draft", {"reversal_date": "2025-10-20", "reason": "x"}, "reverse")
    assert response.status_code == 409


def test_correct_reverses_and_creates_the_corrected_draft_in_one_action(admin_api, ledger):
    BankTransactionFactory(id="bt-wrong", bank_account=ledger["op"], amount=Decimal("100.00"))
    _post(admin_api, "bt-wrong")

    response = _post(
        admin_api,
        "bt-wrong",
        {"reversal_date": "2025-10-21", "reason": "Amount mistyped", "id": "bt-right", "amount": "110.00"},
        "correct",
    )

    assert response.status_code == 201, response.content
    assert response.json()["id"] == "bt-right"
    assert response.json()["corrects_id"] == "bt-wrong"
    assert response.json()["amount"] == "110.00"
    assert response.json()["posting_status"] == "draft"
    assert BankTransaction.objects.get(pk="bt-wrong").posting_status == PostingStatus.REVERSED
    assert _post(admin_api, "bt-right").status_code == 201
    assert _post(admin_api, "bt-wrong", {"id": "bt-right-2"}, "correct").status_code == 409


def test_correcting_a_posted_transaction_needs_the_reversal_date(admin_api, ledger):
    BankTransactionFactory(id="bt-c", bank_account=ledger["op"])
    _post(admin_api, "bt-c")
    response = _post(admin_api, "bt-c", {"amount": "1.00"}, "correct")
    assert response.status_code == 400
    assert "reversal_date" in response.json()
    assert BankTransaction.objects.get(pk="bt-c").posting_status == PostingStatus.POSTED


def test_a_correction_with_an_unknown_cost_center_is_a_400_naming_it(admin_api, ledger):
    BankTransactionFactory(id="bt-c2", bank_account=ledger["op"])
    _post(admin_api, "bt-c2")
    response = _post(
        admin_api,
        "bt-c2",
        {"reversal_date": "2025-10-21", "reason": "x", "cost_center_id": "cc-nope"},
        "correct",
    )
    assert response.status_code == 400
    assert "cost_center_id" in response.json()
    assert BankTransaction.objects.get(pk="bt-c2").posting_status == PostingStatus.POSTED


def test_posting_needs_sign_in(ledger):
    BankTransactionFactory(id="bt-anon", bank_account=ledger["op"])
    assert _post(APIClient(), "bt-anon").status_code == 401


def test_posting_needs_the_post_permission_on_the_document(ledger):
    # Given a clerk who may view transactions but not change them.
    BankTransactionFactory(id="bt-perm", bank_account=ledger["op"])
    clerk = UserFactory(username="clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="view_banktransaction"))
    client = APIClient()
    client.force_authenticate(clerk)
    assert _post(client, "bt-perm").status_code == 403
    assert not JournalEntry.objects.exists()

    # Changing drafts is not posting them (docs/security.md).
    clerk.user_permissions.add(Permission.objects.get(codename="change_banktransaction"))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_authenticate(clerk)
    assert _post(client, "bt-perm").status_code == 403

    # When the posting permission is granted, then the same request posts.
    clerk.user_permissions.add(Permission.objects.get(codename="post_banktransaction"))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_authenticate(clerk)
    assert _post(client, "bt-perm").status_code == 201


def test_cash_submission_and_float_endpoints(admin_api, ledger):
    CashSubmissionFactory(id="cs-1", branch=ledger["branch"], bank_account=ledger["op"])
    FloatAllocationFactory(id="fa-1", branch=ledger["branch"], bank_account=ledger["op"])

    assert _post(admin_api, "cs-1", documents="cash-submissions").status_code == 201
    assert _post(admin_api, "cs-1", documents="cash-submissions").status_code == 200
    assert _post(admin_api, "fa-1", documents="float-allocations").status_code == 201
    response = _post(
        admin_api,
        "fa-1",
        {"returned_amount": "200.00", "return_date": "2025-10-31"},
        "post-return",
        "float-allocations",
    )
    assert response.status_code == 201, response.content
    assert response.json()["reference"] == "FR-fa-1"
    assert FloatAllocation.objects.get(pk="fa-1").status == FloatStatus.PARTIALLY_RETURNED
    again = _post(admin_api, "fa-1", {}, "post-return", "float-allocations")
    assert again.status_code == 200
    same = _post(
        admin_api,
        "fa-1",
        {"returned_amount": "200.00", "return_date": "2025-10-31"},
        "post-return",
        "float-allocations",
    )
    assert same.status_code == 200 and same.json()["reference"] == "FR-fa-1"
    # returned_amount is the total to date: less than posted is no retry, and it takes nothing back.
    lower = _post(
        admin_api,
        "fa-1",
        {"returned_amount": "150.00", "return_date": "2025-10-31"},
        "post-return",
        "float-allocations",
    )
    assert lower.status_code == 409
    assert lower.json()["code"] == "returned_amount_below_returned"
    assert FloatAllocation.objects.get(pk="fa-1").returned_amount == Decimal("200.00")
    # A higher total is a second instalment: it needs its own date, then posts the difference.
    undated = _post(admin_api, "fa-1", {"returned_amount": "300.00"}, "post-return", "float-allocations")
    assert undated.status_code == 400 and "return_date" in undated.json()
    second = _post(
        admin_api,
        "fa-1",
        {"returned_amount": "300.00", "return_date": "2025-10-31"},
        "post-return",
        "float-allocations",
    )
    assert second.status_code == 201, second.content
    assert second.json()["reference"] != "FR-fa-1" and second.json()["total_debit"] == "100.00"
    assert FloatAllocation.objects.get(pk="fa-1").returned_amount == Decimal("300.00")
    assert _post(admin_api, "nope", documents="cash-submissions").status_code == 404
    assert _guide_rows() == []


def test_a_float_return_of_more_than_was_given_is_a_400(admin_api, ledger):
    FloatAllocationFactory(
        id="fa-2", branch=ledger["branch"], bank_account=ledger["op"], amount=Decimal("500.00")
    )
    _post(admin_api, "fa-2", documents="float-allocations")
    response = _post(
        admin_api,
        "fa-2",
        {"returned_amount": "600.00", "return_date": "2025-10-31"},
        "post-return",
        "float-allocations",
    )
    assert response.status_code == 400
    assert "returned_amount" in response.json()


def test_the_transfer_type_answers_with_its_in_transit_lines(admin_api, ledger):
    BankTransactionFactory(
        id="bt-tr", bank_account=ledger["op"], transaction_type=TransactionType.TRANSFER, direction="out"
    )
    body = _post(admin_api, "bt-tr").json()
    assert [(line["account_id"], line["debit"], line["credit"]) for line in body["lines"]] == [
        (contra(PostingDocument.TRANSFER), "100.00", "0.00"),
        ("gl-bank-ba-op", "0.00", "100.00"),
    ]


def test_posting_a_draft_dated_outside_the_books_names_the_date(admin_api, ledger):
    # Dates are refused where they are typed; a draft written before that rule (or by hand) is
    # refused when posted, with its date in the message, and nothing is posted.
    BankTransactionFactory(id="bt-far", bank_account=ledger["op"])
    BankTransaction.objects.filter(pk="bt-far").update(transaction_date=datetime.date(9999, 12, 31))

    response = _post(admin_api, "bt-far")

    assert response.status_code == 400, response.content
    assert "9999-12-31 lies outside the books' years 1900 to 2999" in str(response.json())
    assert not JournalPosting.objects.exists()
