"""The matcher confirms only what is certain, and stale suggestions go when their ground does.

Each test asserts what docs/reconciliation.md ("How the matcher decides") promises; each
failed before the fix it names: a key naming another transaction, single candidates rivalling
a sum, several combinations, and suggestions left behind by a match, a sum overtaken, an
account change or a reversal.
"""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from accounting.tests.factories import AccountingPeriodFactory, UserFactory
from banking.choices import LineMatchStatus, MatchStatus, ReconciliationStatus
from banking.matching import match_accept, match_manual, match_run
from banking.models import BankTransaction, ReconciliationMatch, StatementLine
from banking.posting import bank_transaction_post, bank_transaction_reverse
from banking.services import bank_transaction_update
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import DomainError

pytestmark = pytest.mark.django_db

D = Decimal


def oct_(n):
    return datetime.date(2025, 10, n)


def nov(n):
    return datetime.date(2025, 11, n)


@pytest.fixture
def account():
    for code in ("2025-09", "2025-10", "2025-11"):
        AccountingPeriodFactory(id=code)
    return BankAccountFactory(id="ba-op")


@pytest.fixture
def statement(account):
    return BankStatementFactory(bank_account=account, opening_balance=D("0.00"), closing_balance=D("0.00"))


@pytest.fixture
def clerk():
    return UserFactory(username="clerk")


def book(account, **fields):
    fields.setdefault("transaction_date", oct_(10))
    return BankTransactionFactory(bank_account=account, **fields)


def line(statement, **fields):
    fields.setdefault("booking_date", oct_(10))
    return StatementLineFactory(statement=statement, **fields)


def rows(**filters):
    return set(
        ReconciliationMatch.objects.filter(**filters).values_list(
            "statement_line_id", "bank_transaction_id", "status"
        )
    )


# --- False automatic matches ---------------------------------------------------------------


def test_equal_amount_is_not_confirmed_when_the_end_to_end_id_names_another_transaction(account, statement):
    # Given ACME's payment of invoice A (1,000.00, end-to-end id E2E-A), which the bank
    # credited less a fee of 10.00, and ACME's payment of invoice B (990.00, E2E-B) not yet
    # on the statement
    paid_a = book(account, amount=D("1000.00"), end_to_end_id="E2E-A", counterparty_name="ACME Ltd")
    paid_b = book(account, amount=D("990.00"), end_to_end_id="E2E-B", counterparty_name="ACME Ltd")
    sl = line(statement, amount=D("990.00"), end_to_end_id="E2E-A", counterparty_name="ACME LIMITED")

    match_run(bank_account_id="ba-op", period="2025-10")

    # Then the line, whose end-to-end id says it is payment A, is not confirmed against
    # payment B just because the numbers are equal: "never a false match"
    assert (sl.pk, paid_b.pk, MatchStatus.CONFIRMED) not in rows(statement_line=sl)
    assert (
        BankTransaction.objects.get(pk=paid_b.pk).reconciliation_status == ReconciliationStatus.UNRECONCILED
    )
    # and the pointer to payment A ("..., but the amounts differ") is still offered
    assert (sl.pk, paid_a.pk, MatchStatus.SUGGESTED) in rows(statement_line=sl)


def test_a_sum_is_not_confirmed_while_single_transactions_of_the_whole_amount_compete(account, statement):
    # Given a line of 300.00 from ACME, two book items of exactly 300.00 from ACME the same
    # day (a tie: both stay suggestions) and two smaller ACME items that add up to 300.00
    singles = [book(account, amount=D("300.00"), counterparty_name="ACME Ltd") for _ in range(2)]
    parts = [
        book(account, amount=D("100.00"), counterparty_name="ACME Ltd"),
        book(account, amount=D("200.00"), counterparty_name="ACME Ltd"),
    ]
    sl = line(statement, amount=D("300.00"), counterparty_name="ACME LIMITED")

    run = match_run(bank_account_id="ba-op", period="2025-10")

    # Then nothing is confirmed: the sum (97) does not beat the two single candidates
    # (100 each) by ten points, so the matcher is not certain
    assert run.lines_matched == 0, rows(statement_line=sl)
    assert not ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED).exists()
    assert all(BankTransaction.objects.get(pk=p.pk).reconciliation_status == "unreconciled" for p in parts)
    # and the two equal single candidates are offered, for a person to decide
    assert {(sl.pk, s.pk, MatchStatus.SUGGESTED) for s in singles} <= rows(statement_line=sl)
    assert StatementLine.objects.get(pk=sl.pk).match_status == LineMatchStatus.SUGGESTED


@override_settings(BANKING_MATCH_AUTO_CONFIRM_SCORE=50)
def test_one_of_several_combinations_is_never_confirmed_even_at_the_lowest_score(account, statement):
    # Given the lowest auto-confirm score the setting allows (50) and a line of 300.00 that two
    # different sets of ACME items add up to: 100 + 200, and 150 + 150
    items = [
        book(account, amount=D(amount), counterparty_name="ACME Ltd")
        for amount in ("100.00", "200.00", "150.00", "150.00")
    ]
    sl = line(statement, amount=D("300.00"), counterparty_name="ACME LIMITED")

    run = match_run(bank_account_id="ba-op", period="2025-10")

    # Then the matcher does not pick one of them ("one of several combinations", score 50): the
    # other combination is a rival as good, so it is a suggestion, never a confirmation
    assert run.lines_matched == 0, rows(statement_line=sl)
    assert not rows(status=MatchStatus.CONFIRMED)
    assert all(
        BankTransaction.objects.get(pk=item.pk).reconciliation_status == ReconciliationStatus.UNRECONCILED
        for item in items
    )


# --- Suggestions that outlive what they offer -----------------------------------------------


def test_a_run_drops_other_months_suggestions_on_a_transaction_it_matched(account, statement):
    # Given a transaction of 31 October and a November line a November run suggested for it
    txn = book(account, amount=D("120.00"), transaction_date=oct_(31), end_to_end_id="E2E-31")
    november = line(statement, amount=D("120.00"), booking_date=nov(2))
    match_run(bank_account_id="ba-op", period="2025-11")
    assert rows(statement_line=november) == {(november.pk, txn.pk, MatchStatus.SUGGESTED)}

    # When October's run matches the transaction to its own line by the end-to-end id
    october = line(statement, amount=D("120.00"), booking_date=oct_(31), end_to_end_id="E2E-31")
    match_run(bank_account_id="ba-op", period="2025-10")
    assert rows(statement_line=october) == {(october.pk, txn.pk, MatchStatus.CONFIRMED)}

    # Then no suggestion still offers the matched transaction (accepting it is a 409), and the
    # November line is open again, as after a manual match or an accepted suggestion
    assert rows(bank_transaction=txn, status=MatchStatus.SUGGESTED) == set()
    assert StatementLine.objects.get(pk=november.pk).match_status == LineMatchStatus.UNMATCHED


def test_a_manual_match_drops_the_whole_group_of_a_sum_it_overtakes(account, statement, clerk):
    # Given a line of 300.00 suggested as two ACME items (100 + 200) that also add up for
    # another line: two sum suggestions sharing the items, both left open
    a = book(account, amount=D("100.00"), counterparty_name="ACME Ltd")
    b = book(account, amount=D("200.00"), counterparty_name="ACME Ltd")
    first = line(statement, amount=D("300.00"), counterparty_name="ACME LIMITED")
    second = line(statement, amount=D("300.00"), counterparty_name="ACME LIMITED", booking_date=oct_(11))
    match_run(bank_account_id="ba-op", period="2025-10")
    assert rows(statement_line=second) == {
        (second.pk, a.pk, MatchStatus.SUGGESTED),
        (second.pk, b.pk, MatchStatus.SUGGESTED),
    }

    # When a clerk matches the first line by hand with A and a new transaction C
    c = book(account, amount=D("200.00"))
    match_manual(statement_line_ids=[first.pk], transaction_ids=[a.pk, c.pk], user=clerk)

    # Then the second line's sum, which needed A, is gone as a whole (a group is accepted or
    # rejected as a whole): no half of it is left as a suggestion that cannot add up
    assert rows(statement_line=second, status=MatchStatus.SUGGESTED) == set()
    assert StatementLine.objects.get(pk=second.pk).match_status == LineMatchStatus.UNMATCHED


# --- Manual decisions ------------------------------------------------------------------


def test_accepting_a_suggestion_whose_transaction_moved_to_another_account_is_refused(
    account, statement, clerk
):
    # Given a suggestion pairing an operating-account line with a draft transaction
    savings = BankAccountFactory(id="ba-sav")
    txn = book(account, amount=D("42.00"))
    sl = line(statement, amount=D("42.00"))
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.get(statement_line=sl, bank_transaction=txn)
    assert suggestion.status == MatchStatus.SUGGESTED

    # and the draft is then corrected to the savings account (allowed: it is not matched)
    bank_transaction_update(transaction_id=txn.pk, user=clerk, bank_account=savings)

    # When the suggestion is accepted, it is refused: a match stays within one account,
    # as a manual match of the two is
    with pytest.raises(DomainError):
        match_accept(match_id=suggestion.pk, user=clerk)
    assert BankTransaction.objects.get(pk=txn.pk).reconciliation_status == ReconciliationStatus.UNRECONCILED


def test_reversing_a_suggested_transaction_drops_its_suggestion(superuser):
    # Given a posted deposit the matcher suggested for a line (same amount, no name)
    ledger = ledger_setup()
    AccountingPeriodFactory(id="2025-10")
    BankTransactionFactory(
        id="bt-sugg", bank_account=ledger["op"], amount=D("250.00"), transaction_date=oct_(15)
    )
    bank_transaction_post(transaction_id="bt-sugg", user=superuser)
    sl = StatementLineFactory(
        id="sl-sugg", statement__bank_account=ledger["op"], amount=D("250.00"), booking_date=oct_(16)
    )
    match_run(bank_account_id="ba-op", period="2025-10")
    assert rows(statement_line=sl) == {(sl.pk, "bt-sugg", MatchStatus.SUGGESTED)}

    # When the deposit is reversed (allowed: it is not matched)
    bank_transaction_reverse(transaction_id="bt-sugg", user=superuser, reversal_date=oct_(20), reason="Typo")

    # Then no suggestion offers the reversed transaction (accepting it is a 409, the matcher
    # "never" considers reversed ones) and the line is open again, as a deletion would leave it
    assert rows(bank_transaction_id="bt-sugg", status=MatchStatus.SUGGESTED) == set()
    assert StatementLine.objects.get(pk=sl.pk).match_status == LineMatchStatus.UNMATCHED
