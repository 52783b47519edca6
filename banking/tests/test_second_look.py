"""A second look at the signed-off month, branch cash, transfers received again, the admin lists
and OFX reading: the paths the first fixes missed, and the ones checked sound."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from accounting.models import JournalEntry
from banking.choices import PostingDocument, TransferStatus
from banking.importers import ofx
from banking.importers.base import StatementParseError
from banking.models import BankStatement, BankTransaction, BankTransfer, BankTransferAllocation
from banking.tests.posting_setup import contra, ledger_setup
from banking.tests.reconciliation_setup import october
from banking.tests.statement_files import mt940_file

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"
D = Decimal
CASH_IN_TRANSIT = contra(PostingDocument.CASH_IN_TRANSIT)
TRANSIT = contra(PostingDocument.TRANSFER)


def _ok(response, *codes):
    assert response.status_code in (codes or (200, 201)), (response.status_code, response.content)
    return response.json()


def _balance(account_id):
    totals = JournalEntry.objects.filter(account_id=account_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


# --- 1. the "no more than the deposit carried" rule has another door: the deposit's own amount ------


def test_a_named_deposit_cannot_be_lowered_below_what_its_submissions_say_reached_the_bank(admin_api):
    ledger_setup()
    _ok(
        admin_api.post(
            f"{BASE}/transactions",
            {
                "id": "bt-dep",
                "bank_account_id": "ba-op",
                "transaction_type": "deposit",
                "amount": "1000.00",
                "transaction_date": "2025-10-15",
                "branch_id": "test-branch",
                "cost_center_id": "cc-ops",
            },
            format="json",
        ),
        201,
    )
    _ok(
        admin_api.post(
            f"{BASE}/cash-submissions",
            {
                "id": "cs-1",
                "branch_id": "test-branch",
                "bank_account_id": "ba-op",
                "submission_date": "2025-10-14",
                "expected_amount": "1000.00",
                "deposited_amount": "1000.00",
                "deposit_date": "2025-10-15",
                "deposit_transaction_id": "bt-dep",
                "cost_center_id": "cc-ops",
            },
            format="json",
        ),
        201,
    )
    # The deposit (a draft) is edited down to 400.00 while cs-1 says 1000.00 reached the bank.
    response = admin_api.patch(f"{BASE}/transactions/bt-dep", {"amount": "400.00"}, format="json")
    if response.status_code < 300:
        _ok(admin_api.post(f"{BASE}/cash-submissions/cs-1/post-accounting", {}, format="json"))
        _ok(admin_api.post(f"{BASE}/transactions/bt-dep/post-accounting", {}, format="json"))
        # What the new check (services._refuse_more_than_deposited) exists to prevent:
        assert _balance(CASH_IN_TRANSIT) == D("0.00"), "600.00 stays in cash in transit for good"
    assert response.status_code in (400, 409), response.content


# --- 2. the admin lists the guard does not cover ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth/user/?date_joined__year=99999",
        "/admin/auditlog/logentry/?timestamp__year=99999",
        "/admin/banking/banktransaction/?transaction_date__year=99999",  # covered: the control
    ],
)
def test_an_impossible_year_on_any_admin_list_is_not_a_500(superuser, url):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(url)
    assert response.status_code in (200, 302, 400), (url, response.status_code)


# --- 3. OFX: still quadratic on unterminated processing instructions / CDATA ------------------------


@pytest.mark.parametrize(("opener", "what"), [("<![CDATA[", "CDATA"), ("<?", "processing instruction")])
def test_an_unterminated_ofx_opener_is_refused_at_the_first(opener, what):
    # Each opener's end is looked for once: the first one never closed stops the reading (a regular
    # expression looked for the end of every one to the end of the file again: 80,000 of them took
    # 175 s; bench/bench_parsers.py times it).
    content = ("OFXHEADER:100\n\n<OFX>" + opener * 15000).encode()
    with pytest.raises(StatementParseError, match=f"{what}.*never closed"):
        ofx.parse(content)


# --- 4. OFX: a leaf-valued PAYEE (or CURRENCY) right before </STMTTRN> is now refused -------------

SGML = """OFXHEADER:100
DATA:OFXSGML
VERSION:102

<OFX>
<BANKMSGSRSV1><STMTTRNRS><STMTRS>
<CURDEF>USD
<BANKACCTFROM><BANKID>1<ACCTID>123<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20251001<DTEND>20251031
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20251003<TRNAMT>-10.00<FITID>1<PAYEE>ACME LTD
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>90.00<DTASOF>20251031</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def test_ofx_a_payee_written_as_a_leaf_before_the_end_of_its_transaction_is_still_read():
    (statement,) = ofx.parse(SGML.encode())
    assert [line.amount for line in statement.lines] == [D("-10.00")]


# --- 5. a signed-off month still takes a new statement (no new line, another closing balance) -------


def test_a_statement_without_new_lines_is_not_added_to_a_signed_off_month(admin_api):
    from banking.reconciliation import reconcile_banking_by_dimension

    month = october()
    _ok(admin_api.post(f"{BASE}/reconciliation/finalize", {"bank_account_id": "ba-op", "period": "2025-10"}))
    live_before = reconcile_banking_by_dimension("ba-op", "2025-10")["statement_closing_balance"]
    statements = BankStatement.objects.count()
    content = mt940_file(
        [],
        account=month["account"].account_number,
        opening="C251031USD1587,50",
        closing="C251031USD9000,00",
        ref="STMT-REISSUE",
    )
    response = admin_api.post(
        f"{BASE}/statements/import",
        {"file": SimpleUploadedFile("reissue.sta", content), "bank_account_id": "ba-op"},
        format="multipart",
    )
    live_after = reconcile_banking_by_dimension("ba-op", "2025-10")["statement_closing_balance"]
    assert live_after == live_before, (live_before, live_after)
    assert response.status_code == 409 or BankStatement.objects.count() == statements, response.content


# --- 6. sound: a reversed receipt is received again and posts to the cent ---------------------------


def test_a_reversed_receipt_is_received_again_and_posts_through_transit_to_the_cent(admin_api):
    ledger_setup()
    _ok(
        admin_api.post(
            f"{BASE}/transfers",
            {
                "id": "tr-1",
                "from_bank_account_id": "ba-op",
                "to_bank_account_id": "ba-sav",
                "amount": "100.00",
                "initiated_date": "2025-10-10",
                "allocations": [{"amount": "60.00", "cost_center_id": "cc-hq"}, {"amount": "40.00"}],
            },
            format="json",
        ),
        201,
    )
    _ok(
        admin_api.post(
            f"{BASE}/transfers/tr-1/receive",
            {"received_date": "2025-10-12", "received_amount": "90.00"},
            format="json",
        )
    )
    for leg in BankTransaction.objects.filter(transfer_id="tr-1").order_by("direction"):
        _ok(admin_api.post(f"{BASE}/transactions/{leg.pk}/post-accounting", {}, format="json"))
    first_in = BankTransaction.objects.get(transfer_id="tr-1", direction="in")
    _ok(
        admin_api.post(
            f"{BASE}/transactions/{first_in.pk}/reverse",
            {"reversal_date": "2025-10-20", "reason": "wrong amount"},
            format="json",
        ),
        200,
        201,
    )
    assert BankTransfer.objects.get().status == TransferStatus.IN_TRANSIT
    _ok(admin_api.post(f"{BASE}/transfers/tr-1/receive", {"received_date": "2025-10-21"}, format="json"))
    second_in = BankTransaction.objects.get(transfer_id="tr-1", direction="in", live_leg=True)
    _ok(admin_api.post(f"{BASE}/transactions/{second_in.pk}/post-accounting", {}, format="json"))
    assert _balance(TRANSIT) == D("0.00")
    assert sorted(a.received_amount for a in BankTransferAllocation.objects.all()) == [D("40.00"), D("60.00")]
    body = _ok(admin_api.get(f"{BASE}/transfers/tr-1"))
    assert len(body["legs"]) == 3 and body["status"] == TransferStatus.RECEIVED
    tracking = _ok(
        admin_api.get(f"{BASE}/transfer-tracking", {"bank_account_id": "ba-sav", "period": "2025-10"})
    )
    assert tracking["totals"]["incoming_received_amount"] == "100.00"
    assert datetime.date(2025, 10, 21).isoformat() == body["received_date"]
