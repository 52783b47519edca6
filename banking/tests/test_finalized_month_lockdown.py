"""A signed-off (finalized) bank reconciliation month refuses every change, through every door.

docs/reconciliation.md, section 4: sign-off "locks the month"; the refusal itself says "its
matches can no longer change. Correct the books in an open period instead." These tests try the
doors the existing tests do not: statement import (API and command), posting and reversing into
the month, accepting or rejecting its suggestions (API and workbench), and activity in a later
month that reaches back into the signed-off one. They also check that what the API shows for a
finalized month stays what was signed off (the stored snapshot the admin shows) after later,
legitimate activity.
"""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from accounting.choices import AccountType
from accounting.tests.factories import GLAccountFactory
from banking.choices import MatchStatus, PostingDocument, ReconciliationState
from banking.matching import match_manual, match_run
from banking.models import BankReconciliation, BankTransaction, ReconciliationMatch, StatementLine
from banking.posting import bank_transaction_post
from banking.tests.factories import (
    BankStatementFactory,
    BankTransactionFactory,
    PostingRuleFactory,
    StatementLineFactory,
)
from banking.tests.reconciliation_setup import october
from banking.tests.statement_files import mt940_file

pytestmark = pytest.mark.django_db

D = datetime.date
API = "/api/v1/banking"
URL = f"{API}/reconciliation"
OCTOBER = {"bank_account_id": "ba-op", "period": "2025-10"}
WORKBENCH = "/admin/banking/bankaccount/ba-op/reconcile/2025-10/"


@pytest.fixture
def month():
    return october()


def _finalize(client):
    response = client.post(f"{URL}/finalize", OCTOBER, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["reconciliation"]["status"] == ReconciliationState.FINALIZED
    return response.json()


def _live(client):
    response = client.get(URL, OCTOBER)
    assert response.status_code == 200, response.content
    return response.json()


def _headline(result):
    return (
        result["book_closing_balance"],
        result["statement_closing_balance"],
        result["variance"],
        result["matched_count"],
        result["unmatched_book_items"]["count"],
        result["unmatched_book_items"]["total"],
        result["unmatched_statement_lines"]["count"],
        result["unmatched_statement_lines"]["total"],
    )


def _stored(snapshot):
    """The finalized snapshot's figures (what the admin's reconciliation page shows), as the API's text."""

    def text(value):
        return None if value is None else f"{value:.2f}"

    return (
        text(snapshot.book_closing_balance),
        text(snapshot.statement_closing_balance),
        text(snapshot.variance),
        snapshot.matched_count,
        snapshot.unmatched_book_count,
        text(snapshot.unmatched_book_amount),
        snapshot.unmatched_statement_count,
        text(snapshot.unmatched_statement_amount),
    )


def _late_fee_mt940(account):
    """An MT940 statement for ba-op with one October line the signed-off month did not have."""
    return mt940_file(
        [("2510301030D5,00NCHGNONREF//FEE-LATE", "LATE ACCOUNT FEE")],
        account=account.account_number,
        opening="C251030USD1587,50",
        closing="C251030USD1582,50",
        ref="STMT-LATE",
    )


# --- Statement import into a signed-off month -------------------------------------------------


def test_importing_a_statement_into_a_finalized_month_over_the_api_is_refused(month, admin_api):
    # Given October matched and signed off.
    _finalize(admin_api)
    before = _live(admin_api)
    lines_before = StatementLine.objects.count()

    # When a statement with a line booked on 30 October is imported over the API.
    response = admin_api.post(
        f"{API}/statements/import",
        {
            "file": SimpleUploadedFile("late.sta", _late_fee_mt940(month["account"])),
            "bank_account_id": "ba-op",
        },
        format="multipart",
    )

    # Then it is refused, naming the sign-off, and the month's lines and numbers stay as signed.
    # (Today it is stored: a line of a locked month that can never be matched or recorded, and
    # October's unmatched lines and variance change under the controller's signature.)
    assert response.status_code == 409, response.content
    assert "was finalized" in json.dumps(response.json())
    assert StatementLine.objects.count() == lines_before
    assert _headline(_live(admin_api)) == _headline(before)


def test_import_statement_command_refuses_a_finalized_month(month, admin_api, tmp_path):
    # Given October signed off.
    _finalize(admin_api)
    lines_before = StatementLine.objects.count()
    path = tmp_path / "late.sta"
    path.write_bytes(_late_fee_mt940(month["account"]))

    # When operations import a statement with an October line through the command,
    # Then it stops with a message naming the sign-off, and imports nothing.
    with pytest.raises(CommandError, match="was finalized"):
        call_command("import_statement", str(path), "--account", "ba-op", stdout=StringIO())
    assert StatementLine.objects.count() == lines_before


# --- The books of a signed-off month ------------------------------------------------------------


def _cheque_rule():
    PostingRuleFactory(
        document_type=PostingDocument.CHEQUE,
        contra_account=GLAccountFactory(
            id="gl-2010", code="2010", name="Cheques payable", account_type=AccountType.LIABILITY
        ),
    )


def test_posting_a_draft_dated_in_a_finalized_month_is_refused(month, admin_api):
    # Given October signed off with the draft cheque of 150.00 (30 October) as an unmatched book item.
    _cheque_rule()
    _finalize(admin_api)
    before = _live(admin_api)
    assert before["book_closing_balance"] == "1600.00"

    # When the cheque is posted into October after the sign-off.
    response = admin_api.post(f"{API}/transactions/bt-chq-150/post-accounting", {}, format="json")

    # Then it is refused like every other change of the month (409 naming the sign-off): posted,
    # October's book closing balance and variance would no longer be what the controller signed.
    assert response.status_code == 409, response.content
    assert "was finalized" in response.json()["detail"]
    assert BankTransaction.objects.get(pk="bt-chq-150").posting_status == "draft"
    assert _headline(_live(admin_api)) == _headline(before)


def test_reversing_into_a_finalized_month_is_refused(month, admin_api, superuser):
    # Given a cheque of 150.00 posted on 30 October, not yet cashed, and October signed off.
    _cheque_rule()
    bank_transaction_post(transaction_id="bt-chq-150", user=superuser)
    _finalize(admin_api)
    before = _live(admin_api)

    # When the cheque is reversed with a reversal dated inside the signed-off month.
    response = admin_api.post(
        f"{API}/transactions/bt-chq-150/reverse",
        {"reversal_date": "2025-10-31", "reason": "Cheque cancelled"},
        format="json",
    )

    # Then it is refused: the reversal belongs in an open month ("Correct the books in an open
    # period instead"); dated 31 October it rewrites October's book balance after the sign-off.
    assert response.status_code == 409, response.content
    assert "was finalized" in response.json()["detail"]
    assert _headline(_live(admin_api)) == _headline(before)


# --- A later month's activity reaching back -----------------------------------------------------


def _suggestion_in_finalized_october(month, admin_api):
    """October signed off with line sl-75 (75.00) suggested for two equal receipts bt-75-a and bt-75-b."""
    account = month["account"]
    for key, day in (("bt-75-a", 14), ("bt-75-b", 16)):
        BankTransactionFactory(
            id=key, bank_account=account, amount=Decimal("75.00"), transaction_date=D(2025, 10, day)
        )
    StatementLineFactory(
        id="sl-75", statement=month["statement"], booking_date=D(2025, 10, 15), amount=Decimal("75.00")
    )
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.filter(
        statement_line_id="sl-75", status=MatchStatus.SUGGESTED
    ).first()
    assert suggestion is not None
    _finalize(admin_api)
    return suggestion


def test_a_late_match_in_november_leaves_the_finalized_octobers_matches_alone(month, admin_api, superuser):
    # Given two equal receipts of 75.00 in October and one bank line of 75.00: the matcher cannot
    # tell them apart and leaves suggestions; October is signed off with them open.
    _suggestion_in_finalized_october(month, admin_api)
    assert (
        ReconciliationMatch.objects.filter(statement_line_id="sl-75", status=MatchStatus.SUGGESTED).count()
        == 2
    )
    october_rows = sorted(
        ReconciliationMatch.objects.filter(statement_line__booking_date__lte=D(2025, 10, 31)).values_list(
            "pk", "status"
        )
    )
    listed = admin_api.get(f"{URL}/matches", OCTOBER).json()

    # When November's statement shows the second receipt and it is matched there by hand (a late
    # match: allowed, October keeps it as an item in transit).
    november = BankStatementFactory(
        bank_account=month["account"], from_date=D(2025, 11, 1), to_date=D(2025, 11, 30)
    )
    StatementLineFactory(
        id="sl-nov-75", statement=november, booking_date=D(2025, 11, 3), amount=Decimal("75.00")
    )
    match_manual(statement_line_ids=["sl-nov-75"], transaction_ids=["bt-75-b"], user=superuser)

    # Then the signed-off month's match rows and its match list are as they were signed.
    # (Today the November match deletes October's suggestion sl-75 ~ bt-75-b.)
    assert (
        sorted(
            ReconciliationMatch.objects.filter(statement_line__booking_date__lte=D(2025, 10, 31)).values_list(
                "pk", "status"
            )
        )
        == october_rows
    )
    assert admin_api.get(f"{URL}/matches", OCTOBER).json() == listed


# --- Guards: what already holds and had no test -------------------------------------------------


def test_accepting_rejecting_or_matching_by_hand_in_a_finalized_month_is_a_409_naming_the_signer(
    month, admin_api
):
    suggestion = _suggestion_in_finalized_october(month, admin_api)

    answers = [
        admin_api.post(f"{URL}/matches/{suggestion.pk}/accept"),
        admin_api.post(f"{URL}/matches/{suggestion.pk}/reject"),
        admin_api.post(
            f"{URL}/match",
            {"statement_line_ids": ["sl-75"], "transaction_ids": [suggestion.bank_transaction_id]},
            format="json",
        ),
    ]

    for response in answers:
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "reconciliation_finalized"
        assert "was finalized by root-admin" in response.json()["detail"]
    suggestion.refresh_from_db()
    assert suggestion.status == MatchStatus.SUGGESTED
    assert StatementLine.objects.get(pk="sl-75").match_status == "suggested"


@override_settings(SECURE_SSL_REDIRECT=False)
def test_the_workbench_refuses_every_write_in_a_finalized_month_and_names_it(month, admin_api, superuser):
    suggestion = _suggestion_in_finalized_october(month, admin_api)
    client = Client()
    client.force_login(superuser)

    def post(action, body):
        return client.post(WORKBENCH + f"{action}/", json.dumps(body), content_type="application/json")

    # Each decision is reported as refused, by name; nothing changes.
    for action in ("accept", "reject"):
        response = post(action, {"match_ids": [suggestion.pk]})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["done"] == []
        assert "was finalized" in body["refused"][0]["error"]
    refusals = [
        post("run-matcher", {}),
        post("match", {"statement_line_ids": ["sl-75"], "transaction_ids": ["bt-75-a"]}),
        post("unmatch", {"statement_line_ids": ["sl-in-500"]}),
        post("create-transaction", {"statement_line_id": "sl-fee", "transaction_type": "fee"}),
        post("finalize", {}),
    ]
    for response in refusals:
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "reconciliation_finalized"
        assert "was finalized by root-admin" in response.json()["error"]
    assert client.get(WORKBENCH + "summary/").json()["finalized"] is True
    suggestion.refresh_from_db()
    assert suggestion.status == MatchStatus.SUGGESTED
    assert StatementLine.objects.get(pk="sl-fee").match_status == "unmatched"


def test_later_activity_leaves_the_api_figures_of_a_finalized_month_as_stored(month, admin_api, superuser):
    # Given October signed off: the cheque of 150.00 (30 October) is an unmatched book item, and a
    # posted deposit of 40.00 (28 October) the bank has not shown yet.
    _cheque_rule()
    PostingRuleFactory(
        document_type=PostingDocument.DEPOSIT,
        contra_account=GLAccountFactory(
            id="gl-4000", code="4000", name="Sales receipts", account_type=AccountType.INCOME
        ),
    )
    BankTransactionFactory(
        id="bt-dep-40",
        bank_account=month["account"],
        amount=Decimal("40.00"),
        transaction_date=D(2025, 10, 28),
    )
    bank_transaction_post(transaction_id="bt-dep-40", user=superuser)
    assert admin_api.post(f"{URL}/run", OCTOBER, format="json").status_code == 200
    signed = _finalize(admin_api)
    snapshot = BankReconciliation.objects.get()
    assert _headline(signed) == _stored(snapshot)

    # When, in November, the bank shows the cheque (matched there by hand) and the deposit is
    # reversed on 5 November.
    november = BankStatementFactory(
        bank_account=month["account"], from_date=D(2025, 11, 1), to_date=D(2025, 11, 30)
    )
    StatementLineFactory(
        id="sl-nov-chq", statement=november, booking_date=D(2025, 11, 4), amount=Decimal("-150.00")
    )
    match_manual(statement_line_ids=["sl-nov-chq"], transaction_ids=["bt-chq-150"], user=superuser)
    reversed_ = admin_api.post(
        f"{API}/transactions/bt-dep-40/reverse",
        {"reversal_date": "2025-11-05", "reason": "Bounced"},
        format="json",
    )
    assert reversed_.status_code == 201, reversed_.content

    # Then the API still shows October as stored at the sign-off (the admin's figures).
    live = _live(admin_api)
    assert _headline(live) == _stored(snapshot)
    assert {row["id"] for row in live["unmatched_book_items"]["items"]} == {"bt-chq-150", "bt-dep-40"}
    assert live["reconciliation"]["status"] == ReconciliationState.FINALIZED


# --- Recording, changing and deleting drafts; the batch; floats ---------------------------------


def test_a_draft_cannot_be_recorded_changed_moved_or_deleted_in_a_finalized_month(month, admin_api):
    # Given October signed off with the draft cheque of 150.00 (30 October) among its book items.
    _finalize(admin_api)
    before = _live(admin_api)
    count = BankTransaction.objects.count()

    # A new draft dated in October, on the signed-off account: refused, nothing recorded.
    created = admin_api.post(
        f"{API}/transactions",
        {
            "bank_account_id": "ba-op",
            "transaction_type": "deposit",
            "amount": "75.00",
            "transaction_date": "2025-10-15",
        },
        format="json",
    )
    assert created.status_code == 409, created.content
    assert created.json()["code"] == "reconciliation_finalized"
    assert BankTransaction.objects.count() == count

    # The October draft changed, or moved out of the month into November: refused too.
    for change in ({"amount": "175.00"}, {"transaction_date": "2025-11-03"}):
        changed = admin_api.patch(f"{API}/transactions/bt-chq-150", change, format="json")
        assert changed.status_code == 409, (change, changed.content)
        assert changed.json()["code"] == "reconciliation_finalized"
    deleted = admin_api.delete(f"{API}/transactions/bt-chq-150")
    assert deleted.status_code == 409, deleted.content
    cheque = BankTransaction.objects.get(pk="bt-chq-150")
    assert (cheque.amount, cheque.transaction_date) == (Decimal("150.00"), D(2025, 10, 30))
    assert _headline(_live(admin_api)) == _headline(before)

    # November is open: a draft there is recorded as usual.
    november = admin_api.post(
        f"{API}/transactions",
        {
            "bank_account_id": "ba-op",
            "transaction_type": "deposit",
            "amount": "75.00",
            "transaction_date": "2025-11-04",
        },
        format="json",
    )
    assert november.status_code == 201, november.content


def test_the_batch_skips_drafts_of_a_finalized_month_and_posts_the_others(month, admin_api):
    # Given October signed off, its draft cheque, and a November draft of the same account.
    _cheque_rule()
    BankTransactionFactory(
        id="bt-nov-1",
        bank_account=month["account"],
        transaction_type="cheque",
        amount=Decimal("40.00"),
        transaction_date=D(2025, 11, 4),
    )
    _finalize(admin_api)
    out = StringIO()

    # When every draft is posted by the cron command (which fails for the one it leaves).
    with pytest.raises(CommandError, match="1 draft"):
        call_command("post_transactions", "--all-drafts", stdout=out)

    # Then November's is posted; October's stays a draft, skipped with the reason.
    assert BankTransaction.objects.get(pk="bt-nov-1").posting_status == "posted"
    assert BankTransaction.objects.get(pk="bt-chq-150").posting_status == "draft"
    assert "bt-chq-150" in out.getvalue()
    assert "was finalized" in out.getvalue()


def test_a_float_is_not_given_or_returned_in_a_finalized_month_of_its_bank(month, admin_api, superuser):
    # Given a float of 500.00 from ba-op posted on 1 October, another still a draft, and October
    # of ba-op then signed off.
    from accounting.tests.factories import GLAccountFactory as GL
    from banking.models import FloatAllocation
    from banking.posting import float_allocation_post, float_return_post
    from banking.tests.factories import FloatAllocationFactory
    from cnperp.exceptions import ConflictError

    PostingRuleFactory(
        document_type=PostingDocument.FLOAT_ALLOCATION,
        contra_account=GL(id="gl-1150", code="1150", name="Branch float", account_type=AccountType.ASSET),
    )
    given = FloatAllocationFactory(id="fa-given", bank_account=month["account"])
    float_allocation_post(allocation_id=given.pk, user=superuser)
    draft = FloatAllocationFactory(id="fa-draft", bank_account=month["account"])
    _finalize(admin_api)
    before = _live(admin_api)

    # Posting the draft would credit the bank's GL account in October: refused.
    with pytest.raises(ConflictError) as refused:
        float_allocation_post(allocation_id=draft.pk, user=superuser)
    assert refused.value.code == "reconciliation_finalized"
    assert FloatAllocation.objects.get(pk="fa-draft").posting_status == "draft"

    # The posted float's return dated in October is refused; dated in November it posts.
    with pytest.raises(ConflictError) as refused:
        float_return_post(
            allocation_id=given.pk,
            user=superuser,
            returned_amount=Decimal("100.00"),
            return_date=D(2025, 10, 31),
        )
    assert refused.value.code == "reconciliation_finalized"
    assert _headline(_live(admin_api)) == _headline(before)
    _posting, created = float_return_post(
        allocation_id=given.pk,
        user=superuser,
        returned_amount=Decimal("100.00"),
        return_date=D(2025, 11, 20),
    )
    assert created


def test_a_draft_float_cannot_be_recorded_changed_moved_or_deleted_in_a_finalized_month(month, admin_api):
    # A float is cash out of the account on its date: drafted in a signed-off month it was taken
    # (201) and could then never be posted (409), a draft nobody could finish.
    from banking.models import FloatAllocation
    from banking.tests.factories import BranchFactory, FloatAllocationFactory

    branch = BranchFactory(id="br-lock")
    FloatAllocationFactory(id="fa-oct", branch=branch, bank_account=month["account"])
    _finalize(admin_api)
    before = _live(admin_api)
    new = {"branch_id": "br-lock", "bank_account_id": "ba-op", "amount": "80.00"}

    created = admin_api.post(
        f"{API}/float-allocations", {**new, "allocation_date": "2025-10-20"}, format="json"
    )
    changes = [
        admin_api.patch(f"{API}/float-allocations/fa-oct", change, format="json")
        for change in ({"amount": "90.00"}, {"allocation_date": "2025-11-03"})
    ]
    deleted = admin_api.delete(f"{API}/float-allocations/fa-oct")

    for response in (created, *changes, deleted):
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "reconciliation_finalized"
    assert list(FloatAllocation.objects.values_list("id", "amount", "allocation_date")) == [
        ("fa-oct", Decimal("500.00"), D(2025, 10, 1))
    ]
    assert _headline(_live(admin_api)) == _headline(before)

    # November is open: a float there is recorded as usual.
    november = admin_api.post(
        f"{API}/float-allocations", {**new, "allocation_date": "2025-11-04"}, format="json"
    )
    assert november.status_code == 201, november.content


def test_a_draft_floats_return_cannot_be_dated_in_a_finalized_month(month, admin_api):
    # A draft float given in September whose return was written in as 3 October (the signed-off
    # month) was taken, and refused only when the return came to be posted: a draft nobody could
    # finish.
    from banking.models import FloatAllocation
    from banking.tests.factories import BranchFactory

    BranchFactory(id="br-back")
    _finalize(admin_api)
    new = {
        "branch_id": "br-back",
        "bank_account_id": "ba-op",
        "amount": "80.00",
        "allocation_date": "2025-09-28",
        "returned_amount": "30.00",
    }
    refused = admin_api.post(f"{API}/float-allocations", {**new, "return_date": "2025-10-03"}, format="json")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "reconciliation_finalized"
    assert not FloatAllocation.objects.filter(branch_id="br-back").exists()

    # Back in November, it is recorded; moving its return into October is refused and leaves it
    # as it was.
    created = admin_api.post(f"{API}/float-allocations", {**new, "return_date": "2025-11-20"}, format="json")
    assert created.status_code == 201, created.content
    moved = admin_api.patch(
        f"{API}/float-allocations/{created.json()['id']}", {"return_date": "2025-10-30"}, format="json"
    )
    assert moved.status_code == 409, moved.content
    assert FloatAllocation.objects.get(branch_id="br-back").return_date == D(2025, 11, 20)
