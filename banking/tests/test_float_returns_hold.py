"""A float's returns in instalments hold together with the ledger.

A retry of an instalment dated before an earlier one answers that instalment (it answered the
latest by date: another posting, another amount); every instalment clears the float account its
float was posted to, even after a rule names another one; the float's summary follows the
postings through instalments and reversals; bad bodies, unknown ids and missing permissions write
nothing; the demo's float posts its recorded return; threads posting and reversing at once leave
a consistent float.
"""

import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from accounting.choices import AccountType, SourceType
from accounting.models import JournalPosting
from accounting.tests.factories import GLAccountFactory
from banking import posting
from banking.choices import FloatStatus, PostingDocument, PostingStatus
from banking.models import FloatAllocation, FloatReturn
from banking.tests import test_float_returns_in_instalments as instalments
from banking.tests.factories import FloatAllocationFactory, PostingRuleFactory
from banking.tests.posting_setup import ledger_setup
from banking.tests.test_float_returns_in_instalments import (  # the float and its doors, shared
    BASE,
    FLOATS,
    _balance,
    _return,
    _reverse,
)
from cnperp.exceptions import ConflictError
from cnperp.tests.api import client_for, user_with_perms

D = Decimal
# The same float of 500.00 given on 1 October as the instalment tests'.
ledger, given = instalments.ledger, instalments.given


def _assert_summary_agrees_with_postings(pk="fa-1"):
    """The float's summary is what its returns' postings say, and the float account agrees."""
    allocation = FloatAllocation.objects.get(pk=pk)
    live = list(FloatReturn.objects.filter(allocation_id=pk, posting_status=PostingStatus.POSTED))
    # What the ledger holds per return: the post less its reversal, if any.
    for item in FloatReturn.objects.filter(allocation_id=pk):
        post = JournalPosting.objects.get(
            source_type=SourceType.FLOAT_RETURN, source_id=item.pk, purpose="post"
        )
        assert post.reference == item.gl_reference
        reversed_ = JournalPosting.objects.filter(reverses=post).first()
        assert (reversed_ is not None) == (item.posting_status == PostingStatus.REVERSED)
    back = sum((item.amount for item in live), D("0.00"))
    assert allocation.returned_amount == back
    assert _balance(FLOATS) == allocation.amount - back == allocation.outstanding_amount
    if back == 0:
        assert allocation.status == FloatStatus.ALLOCATED
    elif back == allocation.amount:
        assert allocation.status == FloatStatus.RETURNED
    else:
        assert allocation.status == FloatStatus.PARTIALLY_RETURNED
    latest = max(live, key=lambda item: (item.return_date, item.number), default=None)
    assert allocation.return_date == (latest.return_date if latest else None)
    assert allocation.return_gl_reference == (latest.gl_reference if latest else "")


# --- Defects ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retry_of_a_backdated_instalment_answers_that_instalment_not_another(admin_api, ledger, given):
    """200.00 back on 20 October (FR-fa-1); then the clerk records that 100.00 had already come
    back on 10 October: total 300.00 dated 2025-10-10, a 201 with the 100.00 instalment. The very
    same request retried (a lost answer) must answer that same posting; it answers FR-fa-1, the
    200.00 return, because the retry picks "the latest" by return date (posting.py _live_returns)."""
    first = _return(admin_api, "200.00", "2025-10-20")
    second = _return(admin_api, "300.00", "2025-10-10")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["total_debit"] == "100.00"
    before = JournalPosting.objects.count()

    again = _return(admin_api, "300.00", "2025-10-10")

    assert again.status_code == 200
    assert JournalPosting.objects.count() == before
    assert (again.json()["reference"], again.json()["total_debit"]) == (
        second.json()["reference"],
        "100.00",
    )


@pytest.mark.django_db
def test_a_return_clears_the_float_account_its_float_was_posted_to(admin_api, ledger, given):
    """fa-1 was given from 1170 Branch floats. Between two instalments a branch rule sends new
    floats of test-branch to 1171 (as the demo's chart has per-branch float accounts). The second
    instalment credits 1171, not 1170: the float reads RETURNED with nothing outstanding while
    1170 still holds 300.00 of it and 1171 is a negative asset of -300.00."""
    assert _return(admin_api, "200.00", "2025-10-10").status_code == 201
    other = GLAccountFactory(
        id="gl-1171", code="1171", name="Float: test branch", account_type=AccountType.ASSET
    )
    PostingRuleFactory(
        document_type=PostingDocument.FLOAT_ALLOCATION, branch=ledger["branch"], contra_account=other
    )

    rest = _return(admin_api, "500.00", "2025-10-20")

    assert rest.status_code == 201, rest.content
    assert FloatAllocation.objects.get(pk="fa-1").status == FloatStatus.RETURNED
    assert (_balance(FLOATS), _balance("gl-1171")) == (D("0.00"), D("0.00"))


# --- Guards (verified sound) -----------------------------------------------------------------


@pytest.mark.django_db
def test_summary_follows_the_postings_through_instalments_and_reversals(admin_api, ledger, given):
    r1 = _return(admin_api, "200.00", "2025-10-10")
    assert r1.status_code == 201
    _assert_summary_agrees_with_postings()
    r2 = _return(admin_api, "350.00", "2025-10-20")
    r3 = _return(admin_api, "500.00", "2025-10-25")
    assert (r2.status_code, r3.status_code) == (201, 201)
    _assert_summary_agrees_with_postings()
    assert FloatAllocation.objects.get(pk="fa-1").status == FloatStatus.RETURNED
    # An earlier one reversed, then the latest, then the total re-posted, then all reversed.
    assert _reverse(admin_api, r1.json()["source_id"], day="2025-11-20").status_code == 201
    _assert_summary_agrees_with_postings()
    assert _reverse(admin_api, r3.json()["source_id"], day="2025-11-20").status_code == 201
    _assert_summary_agrees_with_postings()
    r4 = _return(admin_api, "500.00", "2025-11-21")
    assert (r4.status_code, r4.json()["total_debit"]) == (201, "350.00")
    _assert_summary_agrees_with_postings()
    for item in (r2, r4):
        assert _reverse(admin_api, item.json()["source_id"], day="2025-11-22").status_code == 201
    _assert_summary_agrees_with_postings()
    assert FloatAllocation.objects.get(pk="fa-1").status == FloatStatus.ALLOCATED
    r5 = _return(admin_api, "500.00", "2025-11-23")
    assert r5.status_code == 201
    _assert_summary_agrees_with_postings()
    # The ledger's seals and balance hold (both exit non-zero otherwise).
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    call_command("check_gl_balance", stdout=out)
    assert "every seal matches" in out.getvalue() and "The ledger balances." in out.getvalue()


@pytest.mark.django_db
def test_bad_bodies_unknown_ids_and_permissions_write_nothing(admin_api, ledger, given):
    assert _return(admin_api, "200.00", "2025-10-10").status_code == 201
    before = (
        JournalPosting.objects.count(),
        FloatReturn.objects.count(),
        FloatAllocation.objects.get().returned_amount,
    )
    url = f"{BASE}/float-allocations/fa-1/post-return"
    for body, field in (
        ({"returned_amount": "abc", "return_date": "2025-10-11"}, "returned_amount"),
        ({"returned_amount": "300.001", "return_date": "2025-10-11"}, "returned_amount"),
        ({"returned_amount": "0.00", "return_date": "2025-10-11"}, "returned_amount"),
        ({"returned_amount": "300.00", "return_date": "2025-02-30"}, "return_date"),
        ({"returned_amount": "300.00", "return_date": "2025-10-11", "amount": "1"}, "amount"),
        ({"returned_amount": "300.00"}, "return_date"),
    ):
        response = admin_api.post(url, body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    assert _return(admin_api, "300.00", "2025-10-11", pk="fa-nope").status_code == 404
    assert _reverse(admin_api, "fr-nope").status_code == 404
    bad = admin_api.post(
        f"{BASE}/float-returns/fa-1/reverse",
        {"reversal_date": "2025-11-01", "reason": "x", "y": 1},
        format="json",
    )
    assert bad.status_code == 400 and "y" in bad.json()
    poster = user_with_perms("poster", "banking.post_floatallocation", "banking.view_floatallocation")
    assert _reverse(client_for(poster), "fa-1").status_code == 403
    assert _return(client_for(poster), "300.00", "2025-10-11").status_code == 201
    assert (JournalPosting.objects.count(), FloatReturn.objects.count()) == (before[0] + 1, before[1] + 1)


@pytest.mark.django_db
def test_a_demo_float_posts_its_recorded_return_as_its_first_instalment(admin_api):
    call_command("load_demo", stdout=io.StringIO())
    allocation = FloatAllocation.objects.filter(returned_amount__gt=0).order_by("pk").first()
    assert (
        admin_api.post(
            f"{BASE}/float-allocations/{allocation.pk}/post-accounting", {}, format="json"
        ).status_code
        == 201
    )

    response = admin_api.post(f"{BASE}/float-allocations/{allocation.pk}/post-return", {}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["reference"] == f"FR-{allocation.pk}"
    assert response.json()["total_debit"] == f"{allocation.returned_amount}"
    again = admin_api.post(f"{BASE}/float-allocations/{allocation.pk}/post-return", {}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, response.json()["id"])


# --- MariaDB: concurrency ------------------------------------------------------------------------


def _run_threads(work):
    errors, results, start = [], [], threading.Barrier(len(work))

    def run(job):
        try:
            start.wait()
            results.append(job())
        except ConflictError as exc:
            results.append(("409", exc.code))
        except Exception as exc:  # collected and asserted empty
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors, results


def _race_float():
    ledger = ledger_setup()
    FloatAllocationFactory(id="fa-1", branch=ledger["branch"], bank_account=ledger["op"], amount=D("500.00"))
    posting.float_allocation_post(allocation_id="fa-1", user=ledger["user"])
    return ledger


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_threads_posting_different_totals_at_once_leave_a_consistent_float():
    ledger = _race_float()

    def caller(total):
        def job():
            return posting.float_return_post(
                allocation_id="fa-1",
                user=ledger["user"],
                returned_amount=D(total),
                return_date=datetime.date(2025, 10, 10),
            )[1]

        return job

    totals = ("100.00", "200.00", "300.00", "400.00", "500.00", "250.00", "150.00", "350.00")
    errors, results = _run_threads([caller(total) for total in totals])

    assert errors == []
    assert all(
        result is True or result is False or result == ("409", "returned_amount_below_returned")
        for result in results
    )
    _assert_summary_agrees_with_postings()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_reversals_racing_new_instalments_leave_a_consistent_float():
    ledger = _race_float()
    for number in range(5):
        posting.float_return_post(
            allocation_id="fa-1",
            user=ledger["user"],
            returned_amount=D(50 * (number + 1)),
            return_date=datetime.date(2025, 10, 10 + number),
        )
    ids = list(FloatReturn.objects.order_by("number").values_list("pk", flat=True))

    def reverse(pk):
        return lambda: (
            posting.float_return_reverse(
                return_id=pk, user=ledger["user"], reversal_date=datetime.date(2025, 10, 28), reason="x"
            ).reference
        )

    def post(total):
        return lambda: (
            posting.float_return_post(
                allocation_id="fa-1",
                user=ledger["user"],
                returned_amount=D(total),
                return_date=datetime.date(2025, 10, 27),
            )[0].reference
        )

    errors, _results = _run_threads(
        [reverse(pk) for pk in ids] + [post("300.00"), post("400.00"), post("260.00")]
    )

    assert errors == []
    _assert_summary_agrees_with_postings()
