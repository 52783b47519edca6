"""Property-based: any sequence of create / post / reverse / close / reopen keeps the ledger sound.

After every step: each posting balances, the trial balance of every period is
zero, the bank account's GL totals per cost centre equal the totals of the
documents that are posted (reversed ones net to nothing), and no GL line
written earlier has changed.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import JournalEntry
from accounting.selectors import dimension_totals, gl_unbalanced_references, trial_balance
from accounting.services import accounting_period_close, accounting_period_reopen
from banking import posting
from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import DomainError

pytestmark = pytest.mark.django_db

KINDS = [("deposit", "in"), ("withdrawal", "out"), ("fee", "out"), ("interest", "in")]
COST_CENTERS = [None, "cc-hq", "cc-ops"]
MONTHS = ["2025-10", "2025-11"]
days = st.dates(min_value=datetime.date(2025, 10, 1), max_value=datetime.date(2025, 11, 30))

create_op = st.tuples(
    st.just("create"),
    st.integers(min_value=1, max_value=10_000_000),
    st.sampled_from(KINDS),
    st.sampled_from(COST_CENTERS),
    days,
)
post_op = st.tuples(st.just("post"), st.integers(min_value=0, max_value=30))
reverse_op = st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30), days)
period_op = st.tuples(st.sampled_from(["close", "reopen"]), st.sampled_from(MONTHS))
# Creates and posts are drawn more often than period changes, so sequences build up a ledger.
operations = st.lists(
    st.one_of(create_op, create_op, post_op, post_op, post_op, reverse_op, period_op),
    min_size=1,
    max_size=30,
)


@pytest.fixture
def ledger():
    return ledger_setup()


def _lines_snapshot():
    return {row["id"]: row for row in JournalEntry.objects.values()}


def _apply(operation, created, user, ledger):
    kind = operation[0]
    if kind == "create":
        _, cents, (transaction_type, direction), cost_center, day = operation
        txn = BankTransaction.objects.create(
            id=f"bt-p-{len(created):03d}",
            bank_account=ledger["op"],
            transaction_type=transaction_type,
            direction=direction,
            amount=Decimal(cents) / 100,
            transaction_date=day,
            cost_center_id=cost_center,
        )
        created.append(txn.pk)
    elif kind == "post" and created:
        posting.bank_transaction_post(transaction_id=created[operation[1] % len(created)], user=user)
    elif kind == "reverse" and created:
        posting.bank_transaction_reverse(
            transaction_id=created[operation[1] % len(created)],
            user=user,
            reversal_date=operation[2],
            reason="test",
        )
    elif kind == "close":
        accounting_period_close(period_id=operation[1], user=user)
    elif kind == "reopen":
        accounting_period_reopen(period_id=operation[1], user=user)


def _expected_bank_totals():
    totals = {}
    for txn in BankTransaction.objects.filter(posting_status=PostingStatus.POSTED):
        totals[txn.cost_center_id] = totals.get(txn.cost_center_id, Decimal(0)) + txn.signed_amount
    return totals


def _check_invariants(before):
    assert gl_unbalanced_references() == []
    assert all(row["difference"] == 0 for row in trial_balance())
    actual = dimension_totals(dimension_type="cost_center", account_id="gl-bank-ba-op")
    expected = _expected_bank_totals()
    for key in set(actual) | set(expected):
        assert actual.get(key, Decimal(0)) == expected.get(key, Decimal(0)), key
    after = _lines_snapshot()
    assert {key: after[key] for key in before} == before
    return after


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(opening=st.lists(create_op, min_size=1, max_size=6), operations=operations)
def test_any_sequence_of_operations_keeps_the_ledger_sound(ledger, opening, operations):
    with transaction.atomic():
        created, snapshot = [], {}
        for operation in opening + operations:
            try:
                with transaction.atomic():
                    _apply(operation, created, ledger["user"], ledger)
            except DomainError:
                pass  # refused (closed period, already reversed, draft...): nothing may have changed
            snapshot = _check_invariants(snapshot)
        transaction.set_rollback(True)
