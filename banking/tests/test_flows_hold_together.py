"""The document lifecycles hold together: transfers, branch cash, floats and their GL postings.

Each test states the documented behaviour; each failed before its fix, on the bug its docstring
names (two are races between two real MariaDB connections).
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from accounting.models import JournalEntry, JournalPosting
from accounting.tests.factories import UserFactory
from banking import posting, services
from banking.choices import PostingDocument, TransferStatus
from banking.models import BankAccount, BankTransfer, BankTransferAllocation, CashSubmission
from banking.tests.factories import BankTransactionFactory, FloatAllocationFactory
from banking.tests.posting_setup import contra, ledger_setup
from cnperp.exceptions import ConflictError
from cnperp.tests.admin_pages import change_url, form_data
from dimensions.models import CostCenter

BASE = "/api/v1/banking"
D = Decimal
TRANSIT = contra(PostingDocument.TRANSFER)


@pytest.fixture
def ledger(db):
    return ledger_setup()


def _transfer(admin_api, transfer_id="tr-1"):
    """The worked example: 1000.00 from ba-op to ba-sav, 600.00 to cc-hq and 400.00 to cc-ops."""
    body = {
        "id": transfer_id,
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "1000.00",
        "initiated_date": "2025-10-10",
        "allocations": [
            {"amount": "600.00", "cost_center_id": "cc-hq"},
            {"amount": "400.00", "cost_center_id": "cc-ops"},
        ],
    }
    response = admin_api.post(f"{BASE}/transfers", body, format="json")
    assert response.status_code == 201, response.content
    return BankTransfer.objects.get(pk=transfer_id)


def _balance(account_id, **filters):
    totals = JournalEntry.objects.filter(account_id=account_id, **filters).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return (totals["debit"] or D(0)) - (totals["credit"] or D(0))


# --- 1. A transfer to an account closed since cannot be marked failed --------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("retired", ["receiving account", "cost centre"])
def test_a_transfer_whose_account_or_cost_centre_was_retired_since_can_still_be_marked_failed(
    admin_api, ledger, retired
):
    """The receiving account is closed (or the transfer's cost centre retired) while the money
    is on its way: the transfer will never arrive, and failing it is the only way to stop its
    sending leg from posting into transit (docs/posting.md). Failing posts nothing and moves
    no money, yet bank_transfer_fail runs the create-time checks of ``services._save``
    (_check_bank_account, check_active_dimensions) and answers 400 "Bank account ba-sav is
    inactive" / "cost_center ... is inactive": the transfer stays open for good."""
    transfer = _transfer(admin_api)
    if retired == "cost centre":
        BankTransfer.objects.filter(pk=transfer.pk).update(cost_center_id="cc-hq")
        CostCenter.objects.filter(pk="cc-hq").update(is_active=False)
    else:
        BankAccount.objects.filter(pk="ba-sav").update(is_active=False)

    response = admin_api.post(f"{BASE}/transfers/tr-1/fail", {"reason": "Account closed"}, format="json")

    assert response.status_code == 200, response.content
    assert BankTransfer.objects.get(pk="tr-1").status == TransferStatus.FAILED


# --- 2. The sending leg reversed after the receipt: the receipt still posts ---------------------


@pytest.mark.django_db
def test_a_receipt_is_not_posted_once_the_sending_leg_was_reversed(admin_api, ledger):
    """docs/posting.md: "A transfer whose sending leg was reversed cannot be received (409
    sending_leg_reversed: nothing is in transit; mark it failed)". The check runs only when
    the receipt is recorded: the sending leg can be reversed after it, and the receiving leg
    then posts (201), leaving 1190 Transfers in transit at -1000.00 for good; the transfer
    cannot be failed either (received). The receiving leg's posting should be refused."""
    transfer = _transfer(admin_api)
    sending = transfer.legs.get(direction="out")
    posting.bank_transaction_post(transaction_id=sending.pk, user=ledger["user"])
    received = admin_api.post(
        f"{BASE}/transfers/tr-1/receive", {"received_date": "2025-10-12"}, format="json"
    )
    assert received.status_code == 200, received.content
    posting.bank_transaction_reverse(
        transaction_id=sending.pk,
        user=ledger["user"],
        reversal_date=sending.transaction_date,
        reason="Sent twice",
    )
    receiving = transfer.legs.get(direction="in")

    response = admin_api.post(f"{BASE}/transactions/{receiving.pk}/post-accounting", {}, format="json")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "sending_leg_reversed"
    assert _balance(TRANSIT) == D("0.00")


# --- 3. A reversed deposit stays named by a submission ----------------------------------------


@pytest.mark.django_db
def test_a_submission_cannot_keep_a_deposit_that_was_reversed(admin_api, ledger):
    """docs/posting.md: "a submission may name only a deposit into its own bank account that
    is not reversed ... Anything else is a 400 on deposit_transaction_id". _submission_check
    skips every later check for the deposit the submission already names ("named while it
    was a draft: posted since"), the reversed check included: after the deposit is reversed
    the submission is updated with the deposit's figures (200) and then posts 2500.00 into
    1160 Cash in transit that nothing will clear."""
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=D("2500.00"))
    services.cash_submission_create(
        user=UserFactory(username="teller"),
        id="cs-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=datetime.date(2025, 10, 14),
        expected_amount=D("2500.00"),
        deposit_transaction=deposit,
    )
    posting.bank_transaction_post(transaction_id=deposit.pk, user=ledger["user"])
    posting.bank_transaction_reverse(
        transaction_id=deposit.pk,
        user=ledger["user"],
        reversal_date=deposit.transaction_date,
        reason="Wrong bag",
    )

    response = admin_api.patch(
        f"{BASE}/cash-submissions/cs-1",
        {"deposited_amount": "2500.00", "deposit_date": "2025-10-15"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "has been reversed" in response.json()["deposit_transaction_id"][0]


# --- 4. Allocations changed in the admin after the receipt ----------------------------------


@pytest.mark.django_db
def test_allocations_changed_after_the_receipt_keep_transit_netting_per_cost_centre(
    admin_api, ledger, settings
):
    """On receipt each allocation records its share of what arrived (594.00 / 396.00 of
    990.00). The admin still lets the allocations be changed while both legs are drafts
    (BankTransferAllocationInline._editable looks at the legs' posting status only), here to
    700.00 / 300.00, and keeps the recorded shares: the receiving leg then posts 396.00 to
    cc-ops, which only sent 300.00. 1190 ends at +106.00 for cc-hq and -96.00 for cc-ops
    instead of netting per cost centre with the 10.00 of charges left (docs/posting.md)."""
    transfer = _transfer(admin_api)
    received = admin_api.post(
        f"{BASE}/transfers/tr-1/receive",
        {"received_date": "2025-10-12", "received_amount": "990.00"},
        format="json",
    )
    assert received.status_code == 200, received.content
    settings.SECURE_SSL_REDIRECT = False
    staff = Client()
    staff.force_login(UserFactory(username="controller", is_staff=True, is_superuser=True))
    data = form_data(staff.get(change_url(transfer)))
    rows = {
        data[f"allocations-{n}-id"]: n
        for n in range(int(data["allocations-TOTAL_FORMS"]))
        if data.get(f"allocations-{n}-id")
    }
    hq = BankTransferAllocation.objects.get(transfer=transfer, cost_center_id="cc-hq")
    ops = BankTransferAllocation.objects.get(transfer=transfer, cost_center_id="cc-ops")
    data[f"allocations-{rows[hq.pk]}-amount"] = "700.00"
    data[f"allocations-{rows[ops.pk]}-amount"] = "300.00"
    saved = staff.post(change_url(transfer), data)
    assert saved.status_code == 302  # the admin accepted the change
    for leg in transfer.legs.order_by("direction"):
        posting.bank_transaction_post(transaction_id=leg.pk, user=ledger["user"])

    for allocation in BankTransferAllocation.objects.filter(transfer=transfer):
        # Only 990.00 of 1000.00 arrived: no cost centre receives more than it sent.
        assert allocation.received_amount <= allocation.amount, allocation.cost_center_id
        assert _balance(TRANSIT, cost_center_id=allocation.cost_center_id) >= 0, allocation.cost_center_id


# --- 5 and 6. Checks read outside the lock the other side takes ------------------------------


def _in_thread(name, job):
    outcome = {}

    def run():
        try:
            outcome["result"] = job()
        except Exception as exc:  # reported through the outcome and asserted below
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, outcome


def _gate(monkeypatch, name, thread_name):
    """Hold ``thread_name`` when it calls ``banking.posting.<name>`` until released."""
    arrived, release = threading.Event(), threading.Event()
    real = getattr(posting, name)

    def gated(*args, **kwargs):
        if threading.current_thread().name == thread_name:
            arrived.set()
            assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(posting, name, gated)
    return arrived, release


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_a_float_return_posted_while_the_float_is_being_reversed_stops_the_reversal(monkeypatch):
    """docs/posting.md: "A float allocation whose return is posted cannot be reversed".
    float_allocation_reverse looks for the return posting before it locks the float; a
    return posted in between (float_return_post holds the float's lock) is not seen, and
    both commit: FA-fa-race-REV and FR-fa-race, the bank debited 200.00 of a float the
    books say was never given, 1170 Branch floats left at -200.00."""
    ledger = ledger_setup()
    FloatAllocationFactory(id="fa-race", branch=ledger["branch"], bank_account=ledger["op"])
    posting.float_allocation_post(allocation_id="fa-race", user=ledger["user"])
    arrived, release = _gate(monkeypatch, "periods_open", "reverser")
    reverser, outcome = _in_thread(
        "reverser",
        lambda: posting.float_allocation_reverse(
            allocation_id="fa-race",
            user=ledger["user"],
            reversal_date=datetime.date(2025, 10, 20),
            reason="x",
        ),
    )
    try:
        assert arrived.wait(60)
        posting.float_return_post(
            allocation_id="fa-race",
            user=ledger["user"],
            returned_amount=D("200.00"),
            return_date=datetime.date(2025, 10, 20),
        )
    finally:
        release.set()
        reverser.join(120)

    references = set(JournalPosting.objects.values_list("reference", flat=True))
    assert not {"FR-fa-race", "FA-fa-race-REV"} <= references, outcome
    assert isinstance(outcome.get("error"), ConflictError)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_a_deposit_named_by_a_submission_while_it_is_being_posted_clears_cash_in_transit(monkeypatch):
    """docs/posting.md: the deposit named as a submission's deposit_transaction posts through
    cash_in_transit, and a deposit posted through its deposit rule cannot be named. Posting
    reads which deposits are named (TransactionContext.load) before it locks the deposit,
    and cash_submission_create checks the deposit without locking it: a submission that
    names the deposit in between is accepted (the deposit was a draft) and the deposit
    posts to 4000 Sales receipts - the submission's 2500.00 stays in 1160 for good."""
    ledger = ledger_setup()
    deposit = BankTransactionFactory(id="bt-bag", bank_account=ledger["op"], amount=D("2500.00"))
    arrived, release = _gate(monkeypatch, "_prelock", "poster")
    poster, outcome = _in_thread(
        "poster", lambda: posting.bank_transaction_post(transaction_id=deposit.pk, user=ledger["user"])
    )
    named = None
    try:
        assert arrived.wait(60)
        try:
            named = services.cash_submission_create(
                user=UserFactory(username="teller"),
                branch=ledger["branch"],
                bank_account=ledger["op"],
                submission_date=datetime.date(2025, 10, 14),
                expected_amount=D("2500.00"),
                deposit_transaction=deposit,
            )
        except Exception:  # a refusal is a correct outcome
            named = None
    finally:
        release.set()
        poster.join(120)

    assert "error" not in outcome, outcome
    accounts = set(JournalEntry.objects.filter(source_id="bt-bag").values_list("account_id", flat=True))
    if CashSubmission.objects.filter(deposit_transaction_id="bt-bag").exists():
        assert accounts == {"gl-bank-ba-op", contra(PostingDocument.CASH_IN_TRANSIT)}, (named, accounts)


# --- 7. A deposit posted through cash in transit cannot be named again -----------------------


def _deposit_posted_under_draft_submission(ledger):
    """A deposit of 2,500.00 posted (through cash in transit) for a teller's draft submission naming it."""
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=D("2500.00"))
    first = services.cash_submission_create(
        user=UserFactory(username="teller"),
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=datetime.date(2025, 10, 14),
        expected_amount=D("2500.00"),
        deposited_amount=D("2500.00"),
        deposit_transaction=deposit,
    )
    posting.bank_transaction_post(transaction_id=deposit.pk, user=ledger["user"])
    return deposit, first


@pytest.mark.django_db
def test_the_submission_under_a_deposit_posted_through_cash_in_transit_is_put_right_in_place(
    admin_api, ledger
):
    """The deposit posted through 1160 because its submission named it. That submission, still a
    draft, used to be deleted to be keyed in again; deleted and never keyed in, 1160 kept -2500.00
    that nothing cleared. Now it is not deleted, moved off the deposit or given a lower deposited
    amount (409 deposit_posted); its other figures are put right in place, and it posts to clear
    the deposit's cash."""
    deposit, first = _deposit_posted_under_draft_submission(ledger)
    in_transit = contra(PostingDocument.CASH_IN_TRANSIT)
    assert set(JournalEntry.objects.filter(source_id=deposit.pk).values_list("account_id", flat=True)) == {
        "gl-bank-ba-op",
        in_transit,
    }
    url = f"{BASE}/cash-submissions/{first.pk}"

    refusals = [
        admin_api.delete(url),
        admin_api.patch(url, {"deposit_transaction_id": None}, format="json"),
        admin_api.patch(url, {"deposited_amount": "100.00"}, format="json"),
    ]
    for refused in refusals:
        assert refused.status_code == 409, refused.content
        assert refused.json()["code"] == "deposit_posted"
        assert f'was posted through cash in transit (GL account "{in_transit}")' in refused.json()["detail"]
    kept = CashSubmission.objects.get(pk=first.pk)
    assert (kept.deposit_transaction_id, kept.deposited_amount) == (deposit.pk, D("2500.00"))

    # Its date is put right in place, and posted it clears the deposit's cash in transit
    assert admin_api.patch(url, {"submission_date": "2025-10-13"}, format="json").status_code == 200
    posting.cash_submission_post(submission_id=first.pk, user=ledger["user"])
    held = JournalEntry.objects.filter(account_id=in_transit).aggregate(net=Sum("debit") - Sum("credit"))[
        "net"
    ]
    assert held == D("0.00")


@pytest.mark.django_db
def test_the_advice_for_lowering_such_a_submission_can_be_followed(admin_api, ledger):
    deposit, first = _deposit_posted_under_draft_submission(ledger)
    url = f"{BASE}/cash-submissions/{first.pk}"

    refused = admin_api.patch(url, {"deposited_amount": "100.00"}, format="json")
    assert refused.status_code == 409, refused.content
    assert "then send the new deposited amount together with the deposit" in refused.json()["detail"]

    # Following it: the deposit reversed, the new figure sent with no deposit yet
    reversed_ = admin_api.post(
        f"{BASE}/transactions/{deposit.pk}/reverse",
        {"reversal_date": "2025-10-20", "reason": "wrong amount"},
        format="json",
    )
    assert reversed_.status_code in (200, 201), reversed_.content
    lowered = admin_api.patch(
        url, {"deposited_amount": "100.00", "deposit_transaction_id": None}, format="json"
    )
    assert lowered.status_code == 200, lowered.content
    assert CashSubmission.objects.get(pk=first.pk).deposited_amount == D("100.00")


# --- 8. A float recorded as returned although nothing came back -------------------------------


@pytest.mark.django_db
def test_a_float_is_not_recorded_as_returned_before_its_return_is_posted(admin_api, ledger):
    """docs/posting.md: the float return posts once (FR-fa-1) and "the float becomes partially
    returned, or returned when all came back". The API (and the admin form) take ``status``
    from the client: a float of 500.00 is recorded "returned" with 0.00 returned, no return
    date and no return posting; posted, it stays "returned" while 1170 holds the 500.00."""
    response = admin_api.post(
        f"{BASE}/float-allocations",
        {
            "id": "fa-1",
            "branch_id": "test-branch",
            "bank_account_id": "ba-op",
            "allocation_date": "2025-10-01",
            "amount": "500.00",
            "status": "returned",
        },
        format="json",
    )

    assert response.status_code == 400 or response.json()["status"] == "allocated", response.content


# --- 9. The deposit of a cancelled submission -----------------------------------------------


@pytest.mark.django_db
def test_the_deposit_named_by_a_cancelled_submission_does_not_clear_cash_never_in_transit(admin_api, ledger):
    """A cancelled submission posts nothing (409 cancelled): it never put cash in transit.
    Its deposit still posts through cash_in_transit (TransactionContext.load counts every
    submission naming it), so 1160 Cash in transit ends at -2500.00 and the deposit never
    reaches its deposit rule. The cancelled submission should not make the deposit clear
    cash in transit (or cancelling one that names a deposit should be refused)."""
    deposit = BankTransactionFactory(bank_account=ledger["op"], amount=D("2500.00"))
    services.cash_submission_create(
        user=UserFactory(username="teller"),
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=datetime.date(2025, 10, 14),
        expected_amount=D("2500.00"),
        deposit_transaction=deposit,
        status="cancelled",
    )

    posting.bank_transaction_post(transaction_id=deposit.pk, user=ledger["user"])

    assert _balance(contra(PostingDocument.CASH_IN_TRANSIT)) == D("0.00")
