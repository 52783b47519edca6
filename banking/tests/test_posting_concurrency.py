"""Concurrent posting on MariaDB: real threads, real connections, real row locks.

16 threads post the same 200 transactions, each in its own (seeded) random
order; a batch run and a period close race the single posts. Exactly one posting
per transaction, no error to any caller.
"""

import datetime
import random
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod, JournalEntry, JournalPosting
from accounting.selectors import gl_unbalanced_references_guide
from accounting.services import accounting_period_close
from banking import posting
from banking.choices import PostingStatus
from banking.models import BankTransaction
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import ConflictError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]

THREADS = 16
TRANSACTIONS = 200


def _drafts(ledger, count, day=datetime.date(2025, 10, 15)):
    BankTransaction.objects.bulk_create(
        [
            BankTransaction(
                id=f"bt-c-{number:04d}",
                bank_account=ledger["op"],
                transaction_type="deposit",
                direction="in",
                amount=Decimal(number) + Decimal("0.25"),
                transaction_date=day,
                cost_center=ledger["cc"] if number % 2 else None,
            )
            for number in range(count)
        ]
    )
    return [f"bt-c-{number:04d}" for number in range(count)]


def _run_threads(work):
    errors, start = [], threading.Barrier(len(work))

    def run(job):
        try:
            start.wait()
            job()
        except Exception as exc:  # every failure is collected and asserted empty below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def test_sixteen_threads_posting_the_same_200_transactions_give_200_postings():
    # Given 200 drafts and 16 callers, each with its own seeded order.
    ledger = ledger_setup()
    ids = _drafts(ledger, TRANSACTIONS)
    created = []

    def caller(seed):
        order = ids[:]
        random.Random(seed).shuffle(order)

        def job():
            for txn_id in order:
                _, was_created = posting.bank_transaction_post(transaction_id=txn_id, user=ledger["user"])
                if was_created:
                    created.append(txn_id)

        return job

    # When they all post at once.
    errors = _run_threads([caller(seed) for seed in range(THREADS)])

    # Then no caller saw an error, and each transaction was posted exactly once.
    assert errors == []
    assert sorted(created) == ids
    assert JournalPosting.objects.count() == TRANSACTIONS
    assert JournalEntry.objects.count() == 2 * TRANSACTIONS
    assert not BankTransaction.objects.filter(posting_status=PostingStatus.DRAFT).exists()
    assert gl_unbalanced_references_guide() == []


def test_batches_and_single_posts_racing_post_each_transaction_once():
    ledger = ledger_setup()
    ids = _drafts(ledger, 120)
    chunks = [ids[i : i + 30] for i in range(0, len(ids), 30)]

    def batch(chunk):
        return lambda: posting.bank_transactions_post_batch(
            transaction_ids=list(reversed(chunk)), user=ledger["user"]
        )

    def singles(seed):
        order = ids[:]
        random.Random(seed).shuffle(order)
        return lambda: [
            posting.bank_transaction_post(transaction_id=t, user=ledger["user"]) for t in order[:40]
        ]

    errors = _run_threads([batch(c) for c in chunks] + [singles(seed) for seed in range(4)])

    assert errors == []
    assert JournalPosting.objects.count() == 120
    assert JournalEntry.objects.count() == 240


def test_a_close_racing_postings_lets_none_in_after_it():
    # Given postings under way while the controller closes the period.
    ledger = ledger_setup()
    ids = _drafts(ledger, 60)
    refused = []

    def poster(part):
        def job():
            for txn_id in part:
                try:
                    posting.bank_transaction_post(transaction_id=txn_id, user=ledger["user"])
                except ConflictError as exc:
                    assert "2025-10" in exc.message
                    refused.append(txn_id)

        return job

    def closer():
        accounting_period_close(period_id="2025-10", user=ledger["user"])

    errors = _run_threads([poster(ids[:30]), poster(ids[30:]), closer])

    # Then every transaction is either posted before the close or refused after it.
    assert errors == []
    assert AccountingPeriod.objects.get(pk="2025-10").status == PeriodStatus.CLOSED
    closed_at = AccountingPeriod.objects.get(pk="2025-10").closed_at
    assert not JournalPosting.objects.filter(posted_at__gt=closed_at).exists()
    assert JournalPosting.objects.count() + len(refused) == 60
