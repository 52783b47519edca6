"""The matcher: stages, scores and reasons, certainty before confirmation, and decisions by a person."""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from accounting.tests.factories import AccountingPeriodFactory, UserFactory
from banking.choices import LineMatchStatus, MatchStatus, PostingStatus, ReconciliationStatus
from banking.matching import (
    match_accept,
    match_manual,
    match_reject,
    match_run,
    match_undo,
    name_key,
    name_similarity,
    statement_line_create_transaction,
)
from banking.models import BankTransaction, ReconciliationMatch, StatementLine
from banking.reconciliation import reconciliation_finalize
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from banking.tests.month_generator import generate_month
from cnperp.exceptions import ConflictError, DomainError, NotFoundError
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db

OCT = datetime.date(2025, 10, 1)


def day(n):
    return OCT + datetime.timedelta(days=n - 1)


@pytest.fixture
def account():
    AccountingPeriodFactory(id="2025-10")
    return BankAccountFactory(id="ba-op")


@pytest.fixture
def statement(account):
    return BankStatementFactory(
        bank_account=account, opening_balance=Decimal("0.00"), closing_balance=Decimal("0.00")
    )


@pytest.fixture
def clerk():
    return UserFactory(username="clerk")


def book(account, **fields):
    fields.setdefault("transaction_date", day(10))
    return BankTransactionFactory(bank_account=account, **fields)


def line(statement, **fields):
    fields.setdefault("booking_date", day(10))
    return StatementLineFactory(statement=statement, **fields)


def matches_of(statement_line):
    return list(ReconciliationMatch.objects.filter(statement_line=statement_line).order_by("-score", "pk"))


def create_month(account, statement, month):
    for row in month.books:
        row = dict(row)
        row.pop("bank_account_id")
        BankTransactionFactory(bank_account=account, **row)
    for row in month.lines:
        StatementLineFactory(statement=statement, **row)


# --- The generated month -----------------------------------------------------------


def test_a_noisy_month_matches_95_percent_automatically_and_never_wrongly(account, statement, clerk):
    # Given a seeded month with shifted dates, fees, a cash deposit of several
    # submissions, split transfers, repeated equal amounts and uncashed cheques
    month = generate_month(seed=20251031, size=240)
    create_month(account, statement, month)

    # When the matcher runs
    run = match_run(bank_account_id="ba-op", period="2025-10", user=clerk)

    # Then at least 95% of the lines that have a book counterpart are confirmed
    confirmed = set(
        ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED).values_list(
            "statement_line_id", "bank_transaction_id"
        )
    )
    matched_lines = {line_id for line_id, _ in confirmed}
    rate = len(matched_lines & month.matchable_lines) / len(month.matchable_lines)
    assert rate >= 0.95, f"{rate:.3f} matched automatically"
    # and not one confirmed pair is wrong
    assert confirmed - month.truth == set()
    # and lines of repeated equal amounts stay suggestions, for a person to decide
    assert month.ambiguous
    assert not matched_lines & month.ambiguous
    for line_id in month.ambiguous:
        assert StatementLine.objects.get(pk=line_id).match_status == LineMatchStatus.SUGGESTED
    # and bank fees nobody booked stay unmatched
    fees = [line_id for line_id, kind in month.kinds.items() if kind == "fee"]
    assert fees
    assert not set(fees) & matched_lines
    # and the summary counts what happened
    assert run.lines_matched == len(matched_lines)
    assert {"exact_key", "amount_date", "reference_fuzzy", "many_to_one", "one_to_many"} <= set(run.by_stage)


def test_running_the_matcher_again_changes_nothing_confirmed(account, statement, clerk):
    # Given a month matched once
    month = generate_month(seed=7, size=80)
    create_month(account, statement, month)
    match_run(bank_account_id="ba-op", period="2025-10", user=clerk)
    before = set(
        ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED).values_list("pk", flat=True)
    )
    suggested_before = ReconciliationMatch.objects.filter(status=MatchStatus.SUGGESTED).count()

    # When it runs again
    run = match_run(bank_account_id="ba-op", period="2025-10", user=clerk)

    # Then the confirmed matches are the same rows, and suggestions are replaced, not doubled
    after = set(ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED).values_list("pk", flat=True))
    assert after == before
    assert run.lines_matched == 0
    assert ReconciliationMatch.objects.filter(status=MatchStatus.SUGGESTED).count() == suggested_before


# --- Each stage, with its score and reason --------------------------------------------


def test_same_end_to_end_id_is_confirmed_with_score_100(account, statement):
    # Given a line and a transaction with the same end-to-end id, four days apart
    txn = book(account, amount=Decimal("250.00"), end_to_end_id="E2E-123", transaction_date=day(6))
    sl = line(statement, amount=Decimal("250.00"), end_to_end_id="E2E-123")

    # When the matcher runs
    match_run(bank_account_id="ba-op", period="2025-10")

    # Then it is confirmed on the exact key, score 100, and says why
    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.status, match.stage) == (
        txn.pk,
        MatchStatus.CONFIRMED,
        "exact_key",
    )
    assert match.score == Decimal("100.00")
    assert match.reason == "same end-to-end id E2E-123"
    sl.refresh_from_db()
    txn.refresh_from_db()
    assert sl.match_status == LineMatchStatus.MATCHED
    assert txn.reconciliation_status == ReconciliationStatus.MATCHED


def test_bank_reference_equal_to_our_reference_is_an_exact_key(account, statement):
    txn = book(
        account, amount=Decimal("80.00"), direction="out", transaction_type="withdrawal", reference="PAY-77"
    )
    sl = line(statement, amount=Decimal("-80.00"), bank_reference="pay-77")

    match_run(bank_account_id="ba-op", period="2025-10")

    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.stage, match.score) == (txn.pk, "exact_key", Decimal("98.00"))
    assert match.reason == "bank reference PAY-77 is our reference"


def test_our_reference_in_the_narrative_is_an_exact_key(account, statement):
    txn = book(account, amount=Decimal("99.10"), reference="INV-2025-0042")
    sl = line(statement, amount=Decimal("99.10"), narrative="Payment INV-2025-0042, thank you")

    match_run(bank_account_id="ba-op", period="2025-10")

    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.status, match.score) == (
        txn.pk,
        MatchStatus.CONFIRMED,
        Decimal("96.00"),
    )
    assert match.reason == "our reference INV-2025-0042 appears on the statement line"


def test_amount_within_the_window_and_the_same_counterparty_is_confirmed(account, statement):
    # Given the same amount two days apart, names written differently
    txn = book(account, amount=Decimal("250.00"), counterparty_name="ACME Ltd", transaction_date=day(8))
    sl = line(statement, amount=Decimal("250.00"), counterparty_name="ACME LIMITED")

    match_run(bank_account_id="ba-op", period="2025-10")

    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.status, match.stage) == (
        txn.pk,
        MatchStatus.CONFIRMED,
        "amount_date",
    )
    assert match.score == Decimal("98.00")
    assert (
        match.reason == "amount 250.00 and date 2 days apart, counterparty 'ACME LIMITED' = 'ACME Ltd' (1.00)"
    )


def test_names_with_quotes_backslashes_and_accents_are_stored_exactly(account, statement, clerk):
    # Given names that need escaping on their way into the database
    txn = book(
        account, amount=Decimal("75.00"), counterparty_name="O'Brien \\ Søn Ltd", transaction_date=day(9)
    )
    sl = line(statement, amount=Decimal("75.00"), counterparty_name="O'BRIEN \\ SØN LIMITED")

    # When the matcher runs for a user
    match_run(bank_account_id="ba-op", period="2025-10", user=clerk)

    # Then the reason reads back character for character, and the match says who decided it
    (match,) = matches_of(sl)
    assert match.status == MatchStatus.CONFIRMED
    assert match.reason == (
        "amount 75.00 and date 1 day apart, "
        "counterparty 'O'BRIEN \\ SØN LIMITED' = 'O'Brien \\ Søn Ltd' (1.00)"
    )
    assert (match.score, match.amount) == (Decimal("99.00"), Decimal("75.00"))
    assert (match.created_by, match.decided_by) == (clerk, clerk)
    assert match.decided_at is not None
    txn.refresh_from_db()
    assert (txn.reconciliation_status, txn.updated_by) == (ReconciliationStatus.MATCHED, clerk)


def test_amount_and_date_without_a_name_stay_a_suggestion(account, statement):
    txn = book(account, amount=Decimal("42.00"))
    sl = line(statement, amount=Decimal("42.00"))

    match_run(bank_account_id="ba-op", period="2025-10")

    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.status, match.score) == (
        txn.pk,
        MatchStatus.SUGGESTED,
        Decimal("70.00"),
    )
    assert match.reason == "amount 42.00 and same day"
    sl.refresh_from_db()
    assert sl.match_status == LineMatchStatus.SUGGESTED


def test_fuzzy_name_and_reference_words_match_outside_the_window(account, statement):
    # Given a reference written with spaces, a misspelt name and eight days between the dates
    txn = book(
        account,
        amount=Decimal("1234.56"),
        reference="ORD-2025-77",
        counterparty_name="Kestrel Logistics",
        transaction_date=day(2),
    )
    sl = line(
        statement,
        amount=Decimal("1234.56"),
        narrative="ORDER ORD 2025 77",
        counterparty_name="KESTREL LOGISTIC",
    )

    match_run(bank_account_id="ba-op", period="2025-10")

    (match,) = matches_of(sl)
    assert (match.bank_transaction_id, match.status, match.stage) == (
        txn.pk,
        MatchStatus.CONFIRMED,
        "reference_fuzzy",
    )
    assert match.reason == (
        "amount 1234.56, date 8 days apart (outside the 5-day window), "
        "counterparty 'KESTREL LOGISTIC' ≈ 'Kestrel Logistics' (0.97), "
        "our reference 'ORD-2025-77' appears in the statement text"
    )
    assert match.score == Decimal("99.00")


@override_settings(BANKING_MATCH_DATE_WINDOW_DAYS=1)
def test_the_date_window_is_a_setting(account, statement):
    # Given the same amount and name three days apart, and a one-day window
    book(account, amount=Decimal("60.00"), counterparty_name="Onyx Foods", transaction_date=day(7))
    sl = line(statement, amount=Decimal("60.00"), counterparty_name="ONYX FOODS")

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then the pair is outside the window: a weaker suggestion, not a confirmation
    (match,) = matches_of(sl)
    assert match.status == MatchStatus.SUGGESTED
    assert "outside the 1-day window" in match.reason


def test_one_deposit_of_three_submissions_is_a_many_to_one_match(account, statement):
    # Given three deposits of branch cash and one bank line for their total
    parts = [Decimal("1200.00"), Decimal("830.25"), Decimal("415.50")]
    txns = [
        book(account, amount=part, counterparty_name="Branch North till", reference=f"CS-9-{n}")
        for n, part in enumerate(parts, start=1)
    ]
    book(account, amount=Decimal("999.99"), counterparty_name="Branch North till")
    sl = line(statement, amount=sum(parts), counterparty_name="BRANCH NORTH TILL", narrative="CASH DEPOSIT")

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then one group of three rows, confirmed, each row the part of the line it explains
    rows = matches_of(sl)
    assert {row.bank_transaction_id for row in rows} == {t.pk for t in txns}
    assert {row.status for row in rows} == {MatchStatus.CONFIRMED}
    assert len({row.group_key for row in rows}) == 1
    assert sum(row.amount for row in rows) == sl.amount
    assert rows[0].stage == "many_to_one"
    assert rows[0].reason.startswith("3 book items (")
    assert "add up to 2445.75 within 0 days, sharing counterparty 'BRANCH NORTH TILL'" in rows[0].reason


def test_a_transfer_paid_in_two_parts_is_a_one_to_many_match(account, statement):
    txn = book(
        account,
        amount=Decimal("10000.00"),
        direction="out",
        transaction_type="transfer",
        reference="TRF-0007",
    )
    first = line(statement, amount=Decimal("-6000.00"), narrative="TRF-0007 PART 1 OF 2")
    second = line(
        statement, amount=Decimal("-4000.00"), narrative="TRF-0007 PART 2 OF 2", booking_date=day(11)
    )

    match_run(bank_account_id="ba-op", period="2025-10")

    rows = matches_of(first) + matches_of(second)
    assert {(r.statement_line_id, r.bank_transaction_id, r.status) for r in rows} == {
        (first.pk, txn.pk, MatchStatus.CONFIRMED),
        (second.pk, txn.pk, MatchStatus.CONFIRMED),
    }
    assert rows[0].stage == "one_to_many"
    assert rows[0].group_key == rows[1].group_key
    assert "2 statement lines" in rows[0].reason and "reference TRF-0007" in rows[0].reason


def test_repeated_equal_amounts_stay_suggestions(account, statement):
    # Given two equal payments to the same payee two days apart, on both sides
    t1 = book(
        account,
        amount=Decimal("49.99"),
        direction="out",
        transaction_type="withdrawal",
        counterparty_name="Streamly",
    )
    t2 = book(
        account,
        amount=Decimal("49.99"),
        direction="out",
        transaction_type="withdrawal",
        counterparty_name="Streamly",
        transaction_date=day(12),
    )
    l1 = line(statement, amount=Decimal("-49.99"), counterparty_name="STREAMLY")
    l2 = line(statement, amount=Decimal("-49.99"), counterparty_name="STREAMLY", booking_date=day(12))

    run = match_run(bank_account_id="ba-op", period="2025-10")

    # Then nothing is confirmed; each line has both transactions as suggestions
    assert run.lines_matched == 0
    for sl in (l1, l2):
        assert {m.bank_transaction_id for m in matches_of(sl)} == {t1.pk, t2.pk}
        assert {m.status for m in matches_of(sl)} == {MatchStatus.SUGGESTED}


def test_reversed_and_matched_transactions_are_not_candidates(account, statement):
    book(account, amount=Decimal("70.00"), counterparty_name="Zephyr", posting_status=PostingStatus.REVERSED)
    book(
        account,
        amount=Decimal("70.00"),
        counterparty_name="Zephyr",
        reconciliation_status=ReconciliationStatus.RECONCILED,
    )
    sl = line(statement, amount=Decimal("70.00"), counterparty_name="ZEPHYR")

    match_run(bank_account_id="ba-op", period="2025-10")

    assert matches_of(sl) == []


def test_names_compare_without_legal_forms_and_case():
    assert name_key("ACME Limited.") == name_key("acme ltd") == "ACME LTD"
    assert name_similarity(name_key("Harbor Foods Inc"), name_key("HARBOUR FOODS INCORPORATED")) > 0.9


# --- Decisions by a person ------------------------------------------------------------


def test_accepting_a_suggestion_confirms_it_and_drops_its_rivals(account, statement, clerk):
    t1 = book(account, amount=Decimal("49.99"), counterparty_name="Streamly")
    t2 = book(account, amount=Decimal("49.99"), counterparty_name="Streamly", transaction_date=day(12))
    l1 = line(statement, amount=Decimal("49.99"), counterparty_name="STREAMLY")
    l2 = line(statement, amount=Decimal("49.99"), counterparty_name="STREAMLY", booking_date=day(12))
    match_run(bank_account_id="ba-op", period="2025-10")
    chosen = next(m for m in matches_of(l1) if m.bank_transaction_id == t1.pk)

    rows = match_accept(match_id=chosen.pk, user=clerk)

    assert [(r.pk, r.status, r.decided_by_id) for r in rows] == [(chosen.pk, MatchStatus.CONFIRMED, clerk.pk)]
    assert [m.bank_transaction_id for m in matches_of(l1)] == [t1.pk]
    # the other line keeps only the other transaction as a suggestion
    assert [(m.bank_transaction_id, m.status) for m in matches_of(l2)] == [(t2.pk, MatchStatus.SUGGESTED)]
    l2.refresh_from_db()
    assert l2.match_status == LineMatchStatus.SUGGESTED


def test_a_rejected_suggestion_is_never_proposed_again(account, statement, clerk):
    book(account, amount=Decimal("42.00"))
    sl = line(statement, amount=Decimal("42.00"))
    match_run(bank_account_id="ba-op", period="2025-10")
    (suggestion,) = matches_of(sl)

    match_reject(match_id=suggestion.pk, user=clerk)
    match_run(bank_account_id="ba-op", period="2025-10")

    assert [(m.pk, m.status) for m in matches_of(sl)] == [(suggestion.pk, MatchStatus.REJECTED)]
    sl.refresh_from_db()
    assert sl.match_status == LineMatchStatus.UNMATCHED


def test_accepting_a_confirmed_match_is_a_conflict(account, statement, clerk):
    book(account, amount=Decimal("250.00"), end_to_end_id="E2E-1")
    sl = line(statement, amount=Decimal("250.00"), end_to_end_id="E2E-1")
    match_run(bank_account_id="ba-op", period="2025-10")
    (match,) = matches_of(sl)

    with pytest.raises(ConflictError, match="confirmed, not a suggestion"):
        match_accept(match_id=match.pk, user=clerk)
    with pytest.raises(ConflictError, match="Use unmatch"):
        match_reject(match_id=match.pk, user=clerk)
    with pytest.raises(NotFoundError):
        match_accept(match_id="m-nope", user=clerk)


def test_manual_match_of_one_line_to_several_transactions(account, statement, clerk):
    t1 = book(account, amount=Decimal("100.00"))
    t2 = book(account, amount=Decimal("50.00"))
    sl = line(statement, amount=Decimal("150.00"))

    rows = match_manual(statement_line_ids=[sl.pk], transaction_ids=[t1.pk, t2.pk], user=clerk)

    assert {(r.bank_transaction_id, r.amount, r.stage, r.status) for r in rows} == {
        (t1.pk, Decimal("100.00"), "manual", MatchStatus.CONFIRMED),
        (t2.pk, Decimal("50.00"), "manual", MatchStatus.CONFIRMED),
    }
    assert rows[0].reason == "matched by clerk"
    assert BankTransaction.objects.get(pk=t1.pk).reconciliation_status == ReconciliationStatus.MATCHED
    assert StatementLine.objects.get(pk=sl.pk).match_status == LineMatchStatus.MATCHED


def test_manual_match_must_add_up_exactly(account, statement, clerk):
    t1 = book(account, amount=Decimal("100.00"))
    sl = line(statement, amount=Decimal("100.01"))

    with pytest.raises(DomainError) as caught:
        match_manual(statement_line_ids=[sl.pk], transaction_ids=[t1.pk], user=clerk)

    assert caught.value.field == "transaction_ids"
    assert "add up to 100.00 and the statement lines to 100.01" in caught.value.message
    assert not ReconciliationMatch.objects.exists()


def test_manual_match_refuses_many_to_many_and_matched_items(account, statement, clerk):
    t1, t2 = book(account, amount=Decimal("1.00")), book(account, amount=Decimal("1.00"))
    l1, l2 = line(statement, amount=Decimal("1.00")), line(statement, amount=Decimal("1.00"))
    with pytest.raises(DomainError) as caught:
        match_manual(statement_line_ids=[l1.pk, l2.pk], transaction_ids=[t1.pk, t2.pk], user=clerk)
    assert caught.value.field == "statement_line_ids"

    match_manual(statement_line_ids=[l1.pk], transaction_ids=[t1.pk], user=clerk)
    with pytest.raises(ConflictError, match="already matched"):
        match_manual(statement_line_ids=[l1.pk], transaction_ids=[t2.pk], user=clerk)
    with pytest.raises(NotFoundError) as missing:
        match_manual(statement_line_ids=[l2.pk], transaction_ids=["bt-nope"], user=clerk)
    assert missing.value.field == "transaction_ids"


def test_unmatch_frees_the_whole_group_and_the_matcher_does_not_redo_it(account, statement, clerk):
    t1 = book(account, amount=Decimal("100.00"))
    t2 = book(account, amount=Decimal("50.00"))
    sl = line(statement, amount=Decimal("150.00"))
    match_manual(statement_line_ids=[sl.pk], transaction_ids=[t1.pk, t2.pk], user=clerk)

    freed = match_undo(transaction_ids=[t2.pk], user=clerk)

    assert freed == [sl.pk]
    assert StatementLine.objects.get(pk=sl.pk).match_status == LineMatchStatus.UNMATCHED
    assert set(BankTransaction.objects.values_list("reconciliation_status", flat=True)) == {"unreconciled"}
    assert set(ReconciliationMatch.objects.values_list("status", flat=True)) == {MatchStatus.REJECTED}
    # and matching them again by hand is allowed
    match_manual(statement_line_ids=[sl.pk], transaction_ids=[t1.pk, t2.pk], user=clerk)
    assert ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED).count() == 2


def test_unmatch_of_nothing_names_the_field(account, statement, clerk):
    sl = line(statement, amount=Decimal("1.00"))
    with pytest.raises(DomainError) as caught:
        match_undo(statement_line_ids=[sl.pk], user=clerk)
    assert caught.value.field == "statement_line_ids"


def test_an_unmatched_fee_becomes_a_transaction_with_dimensions(account, statement, clerk):
    # Given a bank fee nobody recorded
    cost_center = CostCenterFactory(id="cc-hq")
    sl = line(statement, amount=Decimal("-12.50"), narrative="ACCOUNT SERVICE FEE", bank_reference="FEE-10")

    # When it is recorded from the line
    txn, match = statement_line_create_transaction(
        statement_line_id=sl.pk, user=clerk, transaction_type="fee", cost_center=cost_center
    )

    # Then the draft fee carries the line's data and the dimension, and is matched to it
    assert (txn.transaction_type, txn.direction, txn.amount, txn.transaction_date) == (
        "fee",
        "out",
        Decimal("12.50"),
        day(10),
    )
    assert (txn.reference, txn.description, txn.cost_center_id) == ("FEE-10", "ACCOUNT SERVICE FEE", "cc-hq")
    assert txn.posting_status == PostingStatus.DRAFT
    assert txn.reconciliation_status == ReconciliationStatus.MATCHED
    assert (match.stage, match.status, match.statement_line_id) == (
        "new_transaction",
        MatchStatus.CONFIRMED,
        sl.pk,
    )
    assert StatementLine.objects.get(pk=sl.pk).match_status == LineMatchStatus.MATCHED


def test_a_transaction_type_against_the_lines_direction_is_refused(account, statement, clerk):
    sl = line(statement, amount=Decimal("3.20"), narrative="INTEREST")
    with pytest.raises(DomainError) as caught:
        statement_line_create_transaction(statement_line_id=sl.pk, user=clerk, transaction_type="fee")
    assert caught.value.field == "transaction_type"
    assert not BankTransaction.objects.exists()


# --- Finalized periods --------------------------------------------------------------


def test_a_finalized_period_refuses_every_change_of_matches(account, clerk):
    # Given a balanced, finalized October
    statement = BankStatementFactory(
        bank_account=account, opening_balance=Decimal("0.00"), closing_balance=Decimal("0.00")
    )
    t1 = book(account, amount=Decimal("5.00"), end_to_end_id="E2E-5")
    t2 = book(account, amount=Decimal("6.00"))
    l1 = line(statement, amount=Decimal("5.00"), end_to_end_id="E2E-5")
    l2 = line(statement, amount=Decimal("6.00"))
    match_run(bank_account_id="ba-op", period="2025-10")
    reconciliation_finalize(bank_account_id="ba-op", period="2025-10", user=clerk)
    assert BankTransaction.objects.get(pk=t1.pk).reconciliation_status == ReconciliationStatus.RECONCILED

    # Then matching, manual matches, unmatching and new transactions are refused
    for attempt in (
        lambda: match_run(bank_account_id="ba-op", period="2025-10"),
        lambda: match_manual(statement_line_ids=[l2.pk], transaction_ids=[t2.pk], user=clerk),
        lambda: match_undo(statement_line_ids=[l1.pk], user=clerk),
        lambda: statement_line_create_transaction(
            statement_line_id=l2.pk, user=clerk, transaction_type="deposit"
        ),
    ):
        with pytest.raises(ConflictError, match="was finalized by clerk"):
            attempt()
    assert StatementLine.objects.get(pk=l1.pk).match_status == LineMatchStatus.MATCHED


def test_unknown_account_and_bad_period():
    with pytest.raises(NotFoundError) as missing:
        match_run(bank_account_id="ba-nope", period="2025-10")
    assert missing.value.field == "bank_account_id"
    with pytest.raises(DomainError) as bad:
        match_run(bank_account_id="ba-op", period="2025-13")
    assert bad.value.field == "period"


def test_lines_adding_up_to_one_item_with_nothing_shared_are_a_suggestion_only(account, statement, clerk):
    # Given one payment of 110.00 in the books and three bank lines of 20, 40 and 50 around it,
    # with no name or reference in common, and nothing else open that week
    txn = book(account, amount=Decimal("110.00"), counterparty_name="Harbour Stores", reference="PO-88")
    parts = [
        line(statement, amount=Decimal("20.00"), narrative="CARD SETTLEMENT"),
        line(statement, amount=Decimal("40.00"), narrative="CARD SETTLEMENT", booking_date=day(11)),
        line(statement, amount=Decimal("50.00"), narrative="POS CREDIT", booking_date=day(12)),
    ]
    line(statement, amount=Decimal("-7.50"), narrative="FEE")  # of the other sign: not a part

    run = match_run(bank_account_id="ba-op", period="2025-10")

    # Then the three lines are proposed together, as a suggestion that says why it is weak
    assert run.lines_matched == 0
    rows = [row for part in parts for row in matches_of(part)]
    assert {(row.statement_line_id, row.bank_transaction_id) for row in rows} == {
        (part.pk, txn.pk) for part in parts
    }
    assert {row.status for row in rows} == {MatchStatus.SUGGESTED}
    assert {row.stage for row in rows} == {"one_to_many"}
    assert len({row.group_key for row in rows}) == 1
    assert rows[0].score == Decimal("45.00")
    assert "add up to 110.00 within 2 days; no counterparty or reference links them" in rows[0].reason

    # and a person accepting it confirms the whole group
    match_accept(match_id=rows[0].pk, user=clerk)
    assert {row.status for part in parts for row in matches_of(part)} == {MatchStatus.CONFIRMED}
    for part in parts:
        part.refresh_from_db()
        assert part.match_status == LineMatchStatus.MATCHED


def test_a_date_only_sum_with_two_combinations_is_not_proposed(account, statement):
    # Given 30.00 in the books and lines of 10, 20, 15 and 15 the same week: 10+20 and 15+15
    book(account, amount=Decimal("30.00"))
    parts = [line(statement, amount=Decimal(a)) for a in ("10.00", "20.00", "15.00", "15.00")]

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then no group is proposed: choosing one would be a guess
    assert not any(matches_of(part) for part in parts)


def test_a_date_only_sum_among_many_open_items_is_not_proposed(account, statement):
    # Given a busy week: 13 open lines below 30.00, among which only 10 + 20 make the book's 30.00
    # (the others, 0.50 to 0.61, add up to 6.66 at most)
    book(account, amount=Decimal("30.00"))
    parts = [line(statement, amount=Decimal("10.00")), line(statement, amount=Decimal("20.00"))]
    for n in range(11):
        line(statement, amount=Decimal("0.50") + Decimal(n) / 100, booking_date=day(8 + n % 5))

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then nothing is proposed for it: among that many lines a sum is chance
    assert not any(matches_of(part) for part in parts)


def test_a_date_only_sum_takes_no_item_that_has_a_suggestion_of_its_own(account, statement):
    # Given deposits of 300.00 and 500.00, a bank line of 800.00 and two of 300.00 that week
    book(account, amount=Decimal("300.00"), transaction_date=day(9))
    book(account, amount=Decimal("500.00"), transaction_date=day(9))
    lodgement = line(statement, amount=Decimal("800.00"))
    line(statement, amount=Decimal("300.00"), booking_date=day(12))
    line(statement, amount=Decimal("300.00"), booking_date=day(13))

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then the 300.00 deposit, suggested for the two lines of its amount, is not offered as part
    # of a sum for the 800.00 line too
    assert matches_of(lodgement) == []
