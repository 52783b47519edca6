"""Segregation of duties looks at who changed a draft's figures, not at who last stamped it.

Matching, accepting a suggestion or saving an unchanged form stamp ``updated_by``; taking that
stamp for "changed the figures" refused cron's posting and every reviewer (each test failed so).
"""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from accounting.services import command_user_get
from accounting.tests.factories import AccountingPeriodFactory, UserFactory
from banking.choices import MatchStatus, PostingStatus
from banking.matching import match_accept, match_run
from banking.models import BankTransaction, ReconciliationMatch
from banking.posting import bank_transaction_post, bank_transactions_post_batch
from banking.services import bank_transaction_update
from banking.tests.factories import BankTransactionFactory, StatementLineFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db
SOD = override_settings(BANKING_SEGREGATION_OF_DUTIES=True)

D = Decimal
OCT_10 = datetime.date(2025, 10, 10)


@pytest.fixture
def ledger():
    setup = ledger_setup()
    AccountingPeriodFactory(id="2025-10")
    return setup


def _draft_matched_by(ledger, clerk, matcher_user):
    """A clerk's draft deposit, matched to its statement line by ``matcher_user``'s run."""
    txn = BankTransactionFactory(
        id="bt-rev-1",
        bank_account=ledger["op"],
        amount=D("250.00"),
        transaction_date=OCT_10,
        end_to_end_id="E2E-REV-1",
        created_by=clerk,
        updated_by=clerk,
    )
    StatementLineFactory(
        statement__bank_account=ledger["op"],
        amount=D("250.00"),
        booking_date=OCT_10,
        end_to_end_id="E2E-REV-1",
    )
    run = match_run(bank_account_id="ba-op", period="2025-10", user=matcher_user)
    assert run.lines_matched == 1
    return txn


@SOD
def test_cron_matching_then_cron_posting_as_service_account_is_not_refused(ledger):
    # Given a clerk's draft deposit that the nightly `reconcile --match` (run as the
    # system-posting service account) matched to its statement line
    clerk = UserFactory(username="clerk-rev")
    service = command_user_get()
    txn = _draft_matched_by(ledger, clerk, service)

    # When the nightly `post_transactions` (also the service account) posts the drafts
    result = bank_transactions_post_batch(transaction_ids=[txn.pk], user=service)

    # Then the draft is posted: the service account neither created nor changed its figures
    # (the clerk did); matching is no change of the document. Today it is skipped with
    # "you created or changed this bank transaction" because _mark_matched stamped updated_by.
    assert result.skipped == {}, result.skipped
    assert BankTransaction.objects.get(pk=txn.pk).posting_status == PostingStatus.POSTED


@SOD
def test_accepting_a_suggestion_does_not_make_the_reviewer_a_maker(ledger):
    # Given a clerk's draft deposit suggested (no shared key) for a statement line
    clerk = UserFactory(username="clerk-rev2")
    reviewer = UserFactory(username="reviewer-rev2")
    txn = BankTransactionFactory(
        id="bt-rev-2",
        bank_account=ledger["op"],
        amount=D("310.00"),
        transaction_date=OCT_10,
        created_by=clerk,
        updated_by=clerk,
    )
    sl = StatementLineFactory(
        statement__bank_account=ledger["op"], amount=D("310.00"), booking_date=datetime.date(2025, 10, 11)
    )
    match_run(bank_account_id="ba-op", period="2025-10")
    suggestion = ReconciliationMatch.objects.get(statement_line=sl, bank_transaction=txn)
    assert suggestion.status == MatchStatus.SUGGESTED

    # When the reviewer (not the clerk) accepts the suggestion and then posts the draft
    match_accept(match_id=suggestion.pk, user=reviewer)
    _posting, created = bank_transaction_post(transaction_id=txn.pk, user=reviewer)

    # Then it posts: the reviewer neither created nor changed the transaction. Today it is a
    # SegregationError "You created or changed this bank transaction" (a message that lies).
    assert created


@SOD
def test_saving_a_draft_unchanged_does_not_make_the_checker_a_maker(ledger):
    # Given a clerk's draft deposit; the checker opens it in the admin and presses Save
    # without changing anything (DraftDocumentAdmin.save_model sends every form field to the
    # update service, which stamps updated_by whatever changed)
    clerk = UserFactory(username="clerk-rev4")
    checker = UserFactory(username="checker-rev4")
    txn = BankTransactionFactory(
        id="bt-rev-4",
        bank_account=ledger["op"],
        amount=D("75.00"),
        transaction_date=OCT_10,
        created_by=clerk,
        updated_by=clerk,
    )
    bank_transaction_update(
        transaction_id=txn.pk, user=checker, amount=txn.amount, description=txn.description
    )

    # When the checker posts it, it posts: no figure of the clerk's draft was changed
    _posting, created = bank_transaction_post(transaction_id=txn.pk, user=checker)
    assert created
