"""Each posting rule and each document type, through the banking posting services."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.choices import AccountType
from accounting.models import AccountingPeriod, JournalEntry
from accounting.selectors import gl_unbalanced_references
from accounting.tests.factories import GLAccountFactory
from banking import posting
from banking.choices import CashSubmissionStatus, Direction, FloatStatus, PostingDocument, PostingStatus
from banking.choices import TransactionType as T
from banking.models import BankTransaction, CashSubmission, FloatAllocation
from banking.tests.factories import (
    BankTransactionFactory,
    BankTransferAllocationFactory,
    BankTransferFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    PostingRuleFactory,
)
from banking.tests.posting_setup import contra, ledger_setup
from cnperp.exceptions import ConflictError, DomainError

pytestmark = pytest.mark.django_db

BANK = "gl-bank-ba-op"


@pytest.fixture
def ledger():
    return ledger_setup()


def _lines(journal_posting):
    return [
        (line.account_id, line.debit, line.credit, line.cost_center_id, line.project_id, line.department_id)
        for line in journal_posting.lines.order_by("line_number")
    ]


def _d(value):
    return Decimal(value)


@pytest.mark.parametrize(
    ("transaction_type", "direction", "bank_side"),
    [
        (T.DEPOSIT, Direction.IN, "debit"),
        (T.INTEREST, Direction.IN, "debit"),
        (T.WITHDRAWAL, Direction.OUT, "credit"),
        (T.FEE, Direction.OUT, "credit"),
        (T.CHEQUE, Direction.OUT, "credit"),
        (T.DIRECT_DEBIT, Direction.OUT, "credit"),
        (T.CARD_PAYMENT, Direction.OUT, "credit"),
        (T.STANDING_ORDER, Direction.OUT, "credit"),
        (T.ADJUSTMENT, Direction.IN, "debit"),
        (T.ADJUSTMENT, Direction.OUT, "credit"),
    ],
)
def test_each_transaction_type_posts_the_bank_against_its_contra(
    ledger, transaction_type, direction, bank_side
):
    # Given a transaction of the type, tagged with all three dimensions.
    txn = BankTransactionFactory(
        id="bt-1",
        bank_account=ledger["op"],
        transaction_type=transaction_type,
        direction=direction,
        amount=_d("250.40"),
        cost_center=ledger["cc"],
        project=ledger["project"],
        department=ledger["department"],
    )

    # When it is posted.
    journal_posting, created = posting.bank_transaction_post(transaction_id=txn.pk, user=ledger["user"])

    # Then the bank line is on the expected side, the contra on the other, both with the dimensions.
    dims = ("cc-hq", "prj-roll", "dep-fin")
    bank = (
        (BANK, _d("250.40"), _d("0"), *dims) if bank_side == "debit" else (BANK, _d("0"), _d("250.40"), *dims)
    )
    other_side = (contra(transaction_type), bank[2], bank[1], *dims)
    expected = [bank, other_side] if bank_side == "debit" else [other_side, bank]
    assert created
    assert _lines(journal_posting) == expected
    assert journal_posting.reference == "BT-bt-1"
    txn.refresh_from_db()
    assert (txn.posting_status, txn.posted_by, txn.gl_reference) == (
        PostingStatus.POSTED,
        ledger["user"],
        "BT-bt-1",
    )


def test_a_rule_for_the_bank_account_overrides_the_default(ledger):
    special = GLAccountFactory(id="gl-4010", code="4010", account_type=AccountType.INCOME)
    PostingRuleFactory(
        document_type=PostingDocument.DEPOSIT, bank_account=ledger["op"], contra_account=special
    )
    on_op = BankTransactionFactory(id="bt-op", bank_account=ledger["op"])
    on_sav = BankTransactionFactory(id="bt-sav", bank_account=ledger["sav"])

    op_posting, _ = posting.bank_transaction_post(transaction_id=on_op.pk, user=ledger["user"])
    sav_posting, _ = posting.bank_transaction_post(transaction_id=on_sav.pk, user=ledger["user"])

    assert _lines(op_posting)[1][0] == "gl-4010"
    assert _lines(sav_posting)[1][0] == contra(PostingDocument.DEPOSIT)


def test_an_inactive_rule_is_ignored_and_a_missing_rule_names_the_type(ledger):
    from banking.models import PostingRule

    PostingRule.objects.filter(document_type=PostingDocument.FEE).update(is_active=False)
    txn = BankTransactionFactory(
        id="bt-fee", bank_account=ledger["op"], transaction_type=T.FEE, direction="out"
    )
    with pytest.raises(ConflictError, match='"fee"'):
        posting.bank_transaction_post(transaction_id=txn.pk, user=ledger["user"])
    assert not JournalEntry.objects.exists()
    assert BankTransaction.objects.get(pk="bt-fee").posting_status == PostingStatus.DRAFT


def test_a_sending_leg_is_split_by_the_transfers_allocations(ledger):
    # Given a transfer of 1000.00 from ba-op to ba-sav split 600/400 over two cost centres.
    transfer = BankTransferFactory(id="tr-1", from_bank_account=ledger["op"], to_bank_account=ledger["sav"])
    BankTransferAllocationFactory(
        transfer=transfer, line_number=1, amount=_d("600.00"), cost_center=ledger["cc"]
    )
    BankTransferAllocationFactory(
        transfer=transfer, line_number=2, amount=_d("400.00"), cost_center=ledger["cc2"]
    )
    leg = BankTransactionFactory(
        id="bt-send",
        bank_account=ledger["op"],
        transaction_type=T.TRANSFER,
        direction=Direction.OUT,
        amount=_d("1000.00"),
        transfer=transfer,
    )

    journal_posting, _ = posting.bank_transaction_post(transaction_id=leg.pk, user=ledger["user"])

    transit = contra(PostingDocument.TRANSFER)
    assert _lines(journal_posting) == [
        (transit, _d("600.00"), _d("0"), "cc-hq", None, None),
        (BANK, _d("0"), _d("600.00"), "cc-hq", None, None),
        (transit, _d("400.00"), _d("0"), "cc-ops", None, None),
        (BANK, _d("0"), _d("400.00"), "cc-ops", None, None),
    ]


def test_a_receiving_leg_for_less_is_split_proportionally_to_the_cent(ledger):
    transfer = BankTransferFactory(
        id="tr-2", from_bank_account=ledger["op"], to_bank_account=ledger["sav"], amount=_d("100.00")
    )
    for number, cost_center in enumerate((ledger["cc"], ledger["cc2"], None), start=1):
        BankTransferAllocationFactory(
            transfer=transfer,
            line_number=number,
            amount=_d("33.33") if number < 3 else _d("33.34"),
            cost_center=cost_center,
        )
    leg = BankTransactionFactory(
        id="bt-recv",
        bank_account=ledger["sav"],
        transaction_type=T.TRANSFER,
        direction=Direction.IN,
        amount=_d("99.00"),
        transfer=transfer,
    )

    journal_posting, _ = posting.bank_transaction_post(transaction_id=leg.pk, user=ledger["user"])

    lines = _lines(journal_posting)
    bank_lines = [line for line in lines if line[0] == "gl-bank-ba-sav"]
    assert [line[1] for line in bank_lines] == [_d("33.00"), _d("33.00"), _d("33.00")]
    assert [line[3] for line in bank_lines] == ["cc-hq", "cc-ops", None]
    assert sum(line[2] for line in lines if line[0] == contra(PostingDocument.TRANSFER)) == _d("99.00")


def test_transfer_splits_use_received_amounts_when_they_add_up():
    class A:
        def __init__(self, amount, received):
            self.amount, self.received_amount = _d(amount), received and _d(received)
            self.cost_center_id = self.project_id = self.department_id = None

    splits = posting.transfer_splits(_d("95.00"), [A("50.00", "50.00"), A("50.00", "45.00")])
    assert [s.amount for s in splits] == [_d("50.00"), _d("45.00")]


class _Allocation:
    def __init__(self, amount, key=None):
        self.amount, self.received_amount = amount, None
        self.cost_center_id, self.project_id, self.department_id = key, None, None


def test_a_proportional_split_never_gives_a_share_below_zero():
    # Each of the four 100.00 shares is 99.9975... and rounds up: the old "rest to the last
    # allocation" gave the 0.01 one -0.01, dropped it, and the leg posted 400.00 for 399.99.
    allocations = [_Allocation(_d("100.00")) for _ in range(4)] + [_Allocation(_d("0.01"))]

    splits = posting.transfer_splits(_d("399.99"), allocations)

    assert sum(s.amount for s in splits) == _d("399.99")
    # 99.995 x 4 and 0.0099995, rounded down to 399.96: the three cents left go to the
    # shares that lost most, the small one first.
    assert [s.amount for s in splits] == [_d("100.00"), _d("100.00"), _d("99.99"), _d("99.99"), _d("0.01")]


@settings(max_examples=300, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=12),
    received=st.integers(min_value=1, max_value=10**10),
)
def test_a_proportional_split_adds_up_to_the_cent_and_stays_within_a_cent(cents, received):
    allocations = [_Allocation(Decimal(c) / 100, key=f"a{i}") for i, c in enumerate(cents)]
    amount = Decimal(received) / 100
    total = sum(a.amount for a in allocations)

    splits = posting.transfer_splits(amount, allocations)

    assert sum((s.amount for s in splits), Decimal(0)) == amount
    shares = {s.cost_center_id: s.amount for s in splits}
    for allocation in allocations:
        share = shares.get(allocation.cost_center_id, Decimal(0))
        assert share >= 0 and share == share.quantize(Decimal("0.01"))
        assert abs(share - allocation.amount * amount / total) < Decimal("0.01")


def test_a_deposit_of_branch_cash_clears_cash_in_transit(ledger):
    deposit = BankTransactionFactory(id="bt-dep", bank_account=ledger["op"], amount=_d("2500.00"))
    CashSubmissionFactory(
        id="cs-dep", branch=ledger["branch"], bank_account=ledger["op"], deposit_transaction=deposit
    )

    journal_posting, _ = posting.bank_transaction_post(transaction_id=deposit.pk, user=ledger["user"])

    assert [line[:3] for line in _lines(journal_posting)] == [
        (BANK, _d("2500.00"), _d("0")),
        (contra(PostingDocument.CASH_IN_TRANSIT), _d("0"), _d("2500.00")),
    ]


@pytest.mark.parametrize(
    ("deposited", "expected_lines"),
    [
        (None, [("gl-1160", "2500.00", "0"), ("gl-1150", "0", "2500.00")]),
        ("2500.00", [("gl-1160", "2500.00", "0"), ("gl-1150", "0", "2500.00")]),
        ("2450.00", [("gl-1160", "2450.00", "0"), ("gl-6900", "50.00", "0"), ("gl-1150", "0", "2500.00")]),
        ("2510.00", [("gl-1160", "2510.00", "0"), ("gl-6900", "0", "10.00"), ("gl-1150", "0", "2500.00")]),
    ],
)
def test_a_cash_submission_moves_branch_cash_into_transit_with_any_shortage(
    ledger, deposited, expected_lines
):
    submission = CashSubmissionFactory(
        id="cs-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        expected_amount=_d("2500.00"),
        deposited_amount=deposited and _d(deposited),
        deposit_date=datetime.date(2025, 10, 16) if deposited else None,
        cost_center=ledger["cc"],
    )

    journal_posting, created = posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])

    assert created
    assert [line[:3] for line in _lines(journal_posting)] == [(a, _d(d), _d(c)) for a, d, c in expected_lines]
    assert {line[3] for line in _lines(journal_posting)} == {"cc-hq"}
    assert journal_posting.entry_date == (
        datetime.date(2025, 10, 16) if deposited else submission.submission_date
    )
    assert CashSubmission.objects.get(pk="cs-1").posting_status == PostingStatus.POSTED
    again, created = posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])
    assert (again, created) == (journal_posting, False)


def test_a_branch_rule_overrides_the_default_for_that_branchs_cash(ledger):
    till = GLAccountFactory(id="gl-1151", code="1151", account_type=AccountType.ASSET)
    PostingRuleFactory(
        document_type=PostingDocument.CASH_SUBMISSION, branch=ledger["branch"], contra_account=till
    )
    submission = CashSubmissionFactory(id="cs-br", branch=ledger["branch"], bank_account=ledger["op"])
    journal_posting, _ = posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])
    assert _lines(journal_posting)[-1][0] == "gl-1151"


def test_a_cancelled_cash_submission_is_not_posted(ledger):
    submission = CashSubmissionFactory(
        id="cs-x", branch=ledger["branch"], bank_account=ledger["op"], status=CashSubmissionStatus.CANCELLED
    )
    with pytest.raises(ConflictError, match="cancelled"):
        posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])


def test_a_float_is_given_then_comes_back_in_full(ledger):
    allocation = FloatAllocationFactory(
        id="fa-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        amount=_d("500.00"),
        cost_center=ledger["cc"],
    )

    given, _ = posting.float_allocation_post(allocation_id=allocation.pk, user=ledger["user"])
    back, created = posting.float_return_post(
        allocation_id=allocation.pk,
        user=ledger["user"],
        returned_amount=_d("500.00"),
        return_date=datetime.date(2025, 10, 30),
    )

    assert _lines(given) == [
        ("gl-1170", _d("500.00"), _d("0"), "cc-hq", None, None),
        (BANK, _d("0"), _d("500.00"), "cc-hq", None, None),
    ]
    assert created
    assert back.reference == "FR-fa-1"
    assert _lines(back) == [
        (BANK, _d("500.00"), _d("0"), "cc-hq", None, None),
        ("gl-1170", _d("0"), _d("500.00"), "cc-hq", None, None),
    ]
    allocation.refresh_from_db()
    assert (allocation.status, allocation.return_gl_reference) == (FloatStatus.RETURNED, "FR-fa-1")
    with pytest.raises(ConflictError, match="posted return"):
        posting.float_allocation_reverse(
            allocation_id=allocation.pk,
            user=ledger["user"],
            reversal_date=datetime.date(2025, 10, 31),
            reason="x",
        )


def test_a_float_return_needs_a_posted_float_and_a_date(ledger):
    allocation = FloatAllocationFactory(id="fa-2", branch=ledger["branch"], bank_account=ledger["op"])
    with pytest.raises(ConflictError, match="draft"):
        posting.float_return_post(
            allocation_id=allocation.pk,
            user=ledger["user"],
            returned_amount=_d("1.00"),
            return_date=datetime.date(2025, 10, 30),
        )
    with pytest.raises(DomainError) as caught:
        posting.float_return_post(
            allocation_id=allocation.pk, user=ledger["user"], returned_amount=_d("1.00")
        )
    assert caught.value.field == "return_date"
    assert FloatAllocation.objects.get(pk="fa-2").returned_amount == 0


def test_cash_submissions_and_floats_can_be_reversed(ledger):
    submission = CashSubmissionFactory(id="cs-r", branch=ledger["branch"], bank_account=ledger["op"])
    allocation = FloatAllocationFactory(id="fa-r", branch=ledger["branch"], bank_account=ledger["op"])
    posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])
    posting.float_allocation_post(allocation_id=allocation.pk, user=ledger["user"])
    day = datetime.date(2025, 10, 20)

    cs_rev = posting.cash_submission_reverse(
        submission_id="cs-r", user=ledger["user"], reversal_date=day, reason="x"
    )
    fa_rev = posting.float_allocation_reverse(
        allocation_id="fa-r", user=ledger["user"], reversal_date=day, reason="y"
    )

    assert (cs_rev.reference, fa_rev.reference) == ("CS-cs-r-REV", "FA-fa-r-REV")
    assert CashSubmission.objects.get(pk="cs-r").posting_status == PostingStatus.REVERSED
    assert FloatAllocation.objects.get(pk="fa-r").posting_status == PostingStatus.REVERSED
    assert gl_unbalanced_references() == []


def test_batch_posting_posts_drafts_and_reports_what_it_left(ledger):
    from banking.models import PostingRule

    PostingRule.objects.filter(document_type=PostingDocument.FEE).delete()
    BankTransactionFactory(id="bt-a", bank_account=ledger["op"], cost_center=ledger["cc"])
    BankTransactionFactory(
        id="bt-b", bank_account=ledger["sav"], transaction_type=T.WITHDRAWAL, direction="out"
    )
    BankTransactionFactory(id="bt-c", bank_account=ledger["op"], transaction_type=T.FEE, direction="out")
    BankTransactionFactory(id="bt-d", bank_account=ledger["op"], transaction_date=datetime.date(2025, 9, 30))
    from accounting.tests.factories import AccountingPeriodFactory

    AccountingPeriodFactory(id="2025-09", status="closed")
    posted_before = BankTransactionFactory(id="bt-e", bank_account=ledger["op"])
    posting.bank_transaction_post(transaction_id=posted_before.pk, user=ledger["user"])

    result = posting.bank_transactions_post_batch(
        transaction_ids=["bt-a", "bt-b", "bt-c", "bt-d", "bt-e"], user=ledger["user"]
    )

    assert sorted(result.posted) == ["bt-a", "bt-b"]
    assert set(result.skipped) == {"bt-c", "bt-d"}
    assert '"fee"' in result.skipped["bt-c"]
    assert "2025-09" in result.skipped["bt-d"]
    assert BankTransaction.objects.get(pk="bt-a").gl_reference == "BT-bt-a"
    assert JournalEntry.objects.filter(reference="BT-bt-a", cost_center_id="cc-hq").count() == 2
    assert JournalEntry.objects.filter(reference="BT-bt-e").count() == 2
    assert gl_unbalanced_references() == []


def test_a_draft_dated_outside_the_books_is_left_and_listed_not_stopping_the_batch(ledger):
    # Dates are refused where they are typed; a draft saved before that rule (or written by hand)
    # used to stop the whole batch at the period look-up.
    BankTransactionFactory(id="bt-good", bank_account=ledger["op"])
    BankTransactionFactory(id="bt-old", bank_account=ledger["op"])
    BankTransaction.objects.filter(pk="bt-old").update(transaction_date=datetime.date(1899, 12, 31))

    result = posting.bank_transactions_post_batch(transaction_ids=["bt-good", "bt-old"], user=ledger["user"])

    assert result.posted == ["bt-good"]
    assert "1899-12-31 lies outside the books' years 1900 to 2999" in result.skipped["bt-old"]
    assert BankTransaction.objects.get(pk="bt-old").posting_status == "draft"
    assert not AccountingPeriod.objects.filter(pk="1899-12").exists()
