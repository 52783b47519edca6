"""Closing a month waits for postings dated before it that are under way.

A posting dated in October share-locks October's period row, then the rows
after it, and refuses when one of them is closed. A close of November whose
row did not exist yet locked nothing October's posting held, so the posting
could commit after November closed: a line dated before a closed month. The
close now locks the months before its own first.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from accounting import locks
from accounting.models import AccountingPeriod
from accounting.services import accounting_period_close
from accounting.tests.factories import AccountingPeriodFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]


def test_a_close_waits_for_a_posting_in_an_earlier_month_to_finish():
    AccountingPeriodFactory(id="2025-10")
    closer = UserFactory(username="controller")
    holding, released, closed = threading.Event(), [], []

    def posting_in_october():
        try:
            with transaction.atomic():
                locks.periods_lock_shared(["2025-10"])  # as a posting dated in October does
                holding.set()
                time.sleep(1.0)
                released.append(time.monotonic())
        finally:
            connection.close()

    def close_november():
        try:
            holding.wait(5)
            accounting_period_close(period_id="2025-11", user=closer)
            closed.append(time.monotonic())
        finally:
            connection.close()

    threads = [threading.Thread(target=posting_in_october), threading.Thread(target=close_november)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # November closed only once October's posting had finished
    assert released and closed
    assert closed[0] >= released[0]
    assert AccountingPeriod.objects.get(pk="2025-11").status == "closed"
