"""A failed transfer says when it failed; a past month shows it open until then.

Before banking 0014 a failure had no date: a transfer that failed without its
sending leg being reversed read "failed" in every month that listed it, even a
month in which it was plainly still on its way (its money in the transit
account). ``transfers/{id}/fail`` and the admin's *Mark failed* take the date
(today when left out); transfer tracking of a month before it shows the
transfer as it stood then. Failures recorded before the migration are dated by
their sending leg's reversal, or else by the day they were recorded.
"""

import datetime
import html
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounting.models import JournalPosting
from banking import posting, services
from banking.choices import Direction, TransferStatus
from banking.models import BankTransaction, BankTransfer
from banking.tests import test_transfer_tracking_past_months as history
from banking.tests.test_transfer_tracking_past_months import (  # the history's doors, shared
    OCTOBER_END,
    _leg,
    listed,
    send,
    tracking,
    transit_balance,
)
from cnperp.tests.admin_pages import changelist_url

pytestmark = pytest.mark.django_db
ledger, user, api = history.ledger, history.user, history.api

d = datetime.date
BASE = "/api/v1/banking"


def fail_over_api(api, pk, **body):
    return api.post(
        f"{BASE}/transfers/{pk}/fail", {"reason": "beneficiary bank rejected it", **body}, format="json"
    )


def test_the_api_records_the_failure_date_and_refuses_one_before_the_transfer(api, user):
    send(user, "tr-dated", d(2025, 10, 20), "500.00")
    send(user, "tr-today", d(2025, 10, 20), "600.00")
    send(user, "tr-early", d(2025, 10, 20), "700.00")

    dated = fail_over_api(api, "tr-dated", failed_date="2025-11-05")
    today = fail_over_api(api, "tr-today")
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    for bad in ("2025-10-19", "2025-02-30", "soon", 20251105, tomorrow):
        refused = fail_over_api(api, "tr-early", failed_date=bad)
        assert refused.status_code == 400, (bad, refused.content)
        assert "failed_date" in refused.json(), refused.json()
    assert "after today" in str(refused.json()["failed_date"]), refused.json()

    assert dated.status_code == 200, dated.content
    assert (dated.json()["status"], dated.json()["failed_date"]) == ("failed", "2025-11-05")
    assert today.json()["failed_date"] == timezone.localdate().isoformat()
    early = BankTransfer.objects.get(pk="tr-early")
    assert (early.status, early.failed_date, early.failure_reason) == (TransferStatus.IN_TRANSIT, None, "")


def test_the_admin_marks_failed_on_the_date_given(user, superuser):
    send(user, "tr-admin", d(2025, 10, 20), "500.00")
    browser = Client()
    browser.force_login(superuser)
    form = {"action": "mark_failed", ACTION_CHECKBOX_NAME: ["tr-admin"], "reason": "closed account"}

    for written in ("5 Nov", "03/11/2025"):  # the second is 3 November or 11 March, as one reads it
        bad = browser.post(changelist_url(BankTransfer), {**form, "on_date": written}, follow=True)
        assert "Give the date it failed as YYYY-MM-DD." in bad.content.decode(), written
    ahead = browser.post(changelist_url(BankTransfer), {**form, "on_date": "2999-01-01"}, follow=True)
    assert "cannot be marked failed on 2999-01-01, after today" in html.unescape(ahead.content.decode())
    assert BankTransfer.objects.get(pk="tr-admin").status == TransferStatus.IN_TRANSIT

    browser.post(changelist_url(BankTransfer), {**form, "on_date": "2025-11-05"}, follow=True)
    transfer = BankTransfer.objects.get(pk="tr-admin")
    assert (transfer.status, transfer.failed_date) == (TransferStatus.FAILED, d(2025, 11, 5))
    # A refusal names the transfer by its id as it is ("Tr-admin" once: ids are case-sensitive).
    again = browser.post(changelist_url(BankTransfer), {**form, "on_date": "2025-11-06"}, follow=True)
    assert "Transfer tr-admin: This transfer has already failed" in html.unescape(again.content.decode())


def test_a_transfer_failed_after_the_month_without_a_reversal_was_in_transit_at_its_end(api, user):
    # Sent on 30 October (and one in September), both failed on 5 November; their sending legs
    # are still posted (the bank has not returned the money yet).
    send(user, "tr-stuck", d(2025, 10, 30), "1000.00")
    send(user, "tr-stuck-early", d(2025, 9, 28), "250.00")
    for pk in ("tr-stuck", "tr-stuck-early"):
        services.bank_transfer_fail(transfer_id=pk, user=user, reason="rejected", failed_date=d(2025, 11, 5))

    october = tracking(api, "2025-10")

    items = listed(october)
    assert {pk: items[pk]["status"] for pk in ("tr-stuck", "tr-stuck-early")} == {
        "tr-stuck": "in_transit",
        "tr-stuck-early": "in_transit",
    }
    assert items["tr-stuck"]["days_in_transit"] == 6  # to the failure
    totals = october["totals"]
    assert (totals["in_transit_count"], totals["in_transit_amount"]) == (2, "1250.00")
    assert Decimal(totals["in_transit_amount"]) == transit_balance(OCTOBER_END)
    # November lists them as failed: that is what happened to them in it. Their sending legs
    # still posted, the money sits in transit with nothing on its way to clear it: flagged.
    november = listed(tracking(api, "2025-11"))
    assert {pk: (november[pk]["status"], november[pk]["attention_reasons"]) for pk in november} == {
        "tr-stuck": ("failed", ["failed_not_reversed"]),
        "tr-stuck-early": ("failed", ["failed_not_reversed"]),
    }
    # December lists them still, flagged, for the same reason ...
    december = tracking(api, "2025-12")
    assert {item["id"] for item in december["attention"]} == {"tr-stuck", "tr-stuck-early"}
    assert listed(december)["tr-stuck"]["attention_reasons"] == ["failed_not_reversed"]
    # ... until the legs are reversed: then nothing happened to them in December.
    for pk in ("tr-stuck", "tr-stuck-early"):
        posting.bank_transaction_reverse(
            transaction_id=_leg(pk, Direction.OUT),
            user=user,
            reversal_date=d(2025, 11, 20),
            reason="returned",
        )
    assert {"tr-stuck", "tr-stuck-early"}.isdisjoint(listed(tracking(api, "2025-12")))
    assert listed(tracking(api, "2025-11"))["tr-stuck"]["needs_attention"] is False


def test_a_transfer_failed_by_the_months_end_is_failed_at_its_end(api, user):
    send(user, "tr-gone", d(2025, 10, 20), "800.00")
    services.bank_transfer_fail(transfer_id="tr-gone", user=user, reason="rejected", failed_date=OCTOBER_END)
    # Its sending leg reversed only in November: the failure was known on 31 October all the same.
    posting.bank_transaction_reverse(
        transaction_id=_leg("tr-gone", Direction.OUT),
        user=user,
        reversal_date=d(2025, 11, 3),
        reason="returned",
    )

    item = listed(tracking(api, "2025-10"))["tr-gone"]

    assert (item["status"], item["days_in_transit"]) == ("failed", None)


@pytest.mark.django_db(transaction=True)
def test_banking_0014_dates_the_failures_recorded_before_it(ledger, user):
    # Given two transfers failed before failures had dates: one whose sending leg was reversed on
    # 4 November, one whose leg still stands
    send(user, "tr-old-reversed", d(2025, 10, 25), "100.00")
    send(user, "tr-old-standing", d(2025, 10, 26), "200.00")
    for pk in ("tr-old-reversed", "tr-old-standing"):
        services.bank_transfer_fail(transfer_id=pk, user=user, reason="rejected", failed_date=d(2025, 12, 1))
    posting.bank_transaction_reverse(
        transaction_id=_leg("tr-old-reversed", Direction.OUT),
        user=user,
        reversal_date=d(2025, 11, 4),
        reason="returned",
    )
    recorded_on = BankTransfer.objects.get(pk="tr-old-standing").updated_at.date()
    # When banking goes back before 0014 and forward again
    call_command("migrate", "banking", "0013", verbosity=0)
    call_command("migrate", "banking", verbosity=0)
    # then each failure has a date: the reversal's, or the day it was recorded.
    assert dict(BankTransfer.objects.values_list("pk", "failed_date")) == {
        "tr-old-reversed": d(2025, 11, 4),
        "tr-old-standing": recorded_on,
    }
    assert JournalPosting.objects.filter(purpose="reverse").count() == 1


def test_a_transfer_dated_after_today_is_refused_and_a_wrong_one_is_failed_not_edited(api, user):
    # A transfer dated ahead (a year typed 2099) could be neither received nor failed, both being
    # news from the bank never dated after today, while its leg could post into transit.
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    body = {"from_bank_account_id": "ba-op", "to_bank_account_id": "ba-sav", "amount": "100.00"}
    refused = api.post(f"{BASE}/transfers", {**body, "initiated_date": tomorrow}, format="json")
    assert refused.status_code == 400, refused.content
    assert "after today" in str(refused.json()["initiated_date"]), refused.content
    assert not BankTransfer.objects.exists()

    # A transfer recorded wrongly is not put right through its leg: the refusal says what to do.
    created = api.post(
        f"{BASE}/transfers", {**body, "id": "tr-typo", "initiated_date": "2025-10-02"}, format="json"
    )
    assert created.status_code == 201, created.content
    leg = _leg("tr-typo", Direction.OUT)
    changed = api.patch(f"{BASE}/transactions/{leg}", {"amount": "10.00"}, format="json")
    assert changed.status_code == 409, changed.content
    assert "mark it failed (POST /api/v1/banking/transfers/tr-typo/fail" in changed.json()["detail"]
    assert fail_over_api(api, "tr-typo").status_code == 200


def test_a_draft_receiving_leg_is_deleted_with_its_receipt_and_the_refusals_say_what_to_do(api, user):
    # Given a transfer sent (its leg posted) and received on 22 October, the receipt still a draft
    send(user, "tr-back", d(2025, 10, 20), "500.00")
    received = api.post(f"{BASE}/transfers/tr-back/receive", {"received_date": "2025-10-22"}, format="json")
    assert received.status_code == 200, received.content
    incoming = _leg("tr-back", Direction.IN)

    # Changing the receiving leg alone is refused, saying how to put the receipt right; failing a
    # received transfer is no way out (it is refused), and the advice no longer says so.
    changed = api.patch(f"{BASE}/transactions/{incoming}", {"amount": "450.00"}, format="json")
    assert changed.status_code == 409, changed.content
    assert "delete this draft receiving leg" in changed.json()["detail"]
    sending = _leg("tr-back", Direction.OUT)
    assert BankTransfer.objects.get(pk="tr-back").status == TransferStatus.RECEIVED
    failed = fail_over_api(api, "tr-back")
    assert failed.status_code == 409, failed.content
    assert (
        "delete its draft receiving leg to undo the receipt, then mark it failed" in failed.json()["detail"]
    )
    corrected = api.post(
        f"{BASE}/transactions/{sending}/correct",
        {"reversal_date": "2025-10-23", "reason": "typo", "amount": "5.00"},
        format="json",
    )
    assert corrected.status_code == 409, corrected.content
    assert "reverse its sending leg, mark it failed and record it anew" in corrected.json()["detail"]

    # Deleting it undoes the receipt: the transfer is in transit again, nothing received
    deleted = api.delete(f"{BASE}/transactions/{incoming}")
    assert deleted.status_code == 204, deleted.content
    transfer = BankTransfer.objects.get(pk="tr-back")
    assert (transfer.status, transfer.received_date, transfer.received_amount) == (
        TransferStatus.IN_TRANSIT,
        None,
        None,
    )
    assert list(transfer.allocations.values_list("received_amount", flat=True)) == [None]

    # and the receipt is recorded again, right this time
    again = api.post(
        f"{BASE}/transfers/tr-back/receive",
        {"received_date": "2025-10-22", "received_amount": "450.00"},
        format="json",
    )
    assert again.status_code == 200, again.content
    assert BankTransfer.objects.get(pk="tr-back").received_amount == Decimal("450.00")
    assert BankTransaction.objects.filter(transfer_id="tr-back").count() == 2
    assert sending in set(BankTransaction.objects.filter(transfer_id="tr-back").values_list("pk", flat=True))


def test_the_draft_sending_leg_of_a_received_transfer_says_to_post_it(api, user):
    # Given a transfer received before its sending leg was posted
    send(user, "tr-early2", d(2025, 10, 20), "300.00", post=False)
    services.bank_transfer_receive(transfer_id="tr-early2", user=user, received_date=d(2025, 10, 21))
    sending = _leg("tr-early2", Direction.OUT)

    refused = api.delete(f"{BASE}/transactions/{sending}")

    assert refused.status_code == 409, refused.content
    assert "the transfer is received, so post it" in refused.json()["detail"]
    assert BankTransaction.objects.filter(pk=sending).exists()


def test_a_failed_transfer_stranded_at_a_months_end_stays_so_after_its_leg_is_reversed(api, user):
    # Given a transfer failed on 25 October with its sending leg posted, the leg reversed only on
    # 3 December, when the bank returned the money
    send(user, "tr-late", d(2025, 10, 20), "640.00")
    services.bank_transfer_fail(
        transfer_id="tr-late", user=user, reason="rejected", failed_date=d(2025, 10, 25)
    )
    posting.bank_transaction_reverse(
        transaction_id=_leg("tr-late", Direction.OUT),
        user=user,
        reversal_date=d(2025, 12, 3),
        reason="returned",
    )

    # Then October and November show it as they stood: failed, its money stranded in transit
    for month in ("2025-10", "2025-11"):
        item = listed(tracking(api, month))["tr-late"]
        assert (item["status"], item["attention_reasons"]) == ("failed", ["failed_not_reversed"]), month
    # and December, in which the money came back, does not list it
    assert "tr-late" not in listed(tracking(api, "2025-12"))
