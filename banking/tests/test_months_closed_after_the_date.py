"""A closed month, or an account's signed-off month, holds the dates before it too.

A month's balances hold every line dated before it: its opening balance, the
cash position's cached figures of closed months, a signed-off reconciliation's
book closing balance. Before, a posting dated in an open month before a closed
one (or in a month with no period yet, which was then created open) was
accepted and changed the closed month's figures; a deposit dated in August
changed the book balance of a September reconciliation already signed off.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting.models import AccountingPeriod, JournalPosting
from accounting.services import accounting_period_close, accounting_period_reopen
from accounting.tests.factories import AccountingPeriodFactory
from banking.choices import PostingStatus, ReconciliationState
from banking.models import BankTransaction
from banking.tests.factories import BankReconciliationFactory, BankTransactionFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db
BASE = "/api/v1/banking"
D = Decimal


@pytest.fixture
def ledger():
    setup = ledger_setup()
    for key, account, day in (
        ("bt-oct", setup["op"], datetime.date(2025, 10, 5)),
        ("bt-2024", setup["op"], datetime.date(2024, 6, 15)),
        ("bt-dec", setup["op"], datetime.date(2025, 12, 2)),
        ("bt-aug-sav", setup["sav"], datetime.date(2025, 8, 20)),
        ("bt-aug", setup["op"], datetime.date(2025, 8, 20)),
    ):
        BankTransactionFactory(
            id=key,
            bank_account=account,
            transaction_type="deposit",
            direction="in",
            amount=D("100.00"),
            transaction_date=day,
        )
    return setup


def post(api, key):
    return api.post(f"{BASE}/transactions/{key}/post-accounting", {}, format="json")


def test_nothing_posts_before_a_closed_month(admin_api, ledger, superuser):
    accounting_period_close(period_id="2025-11", user=superuser)

    october, old = post(admin_api, "bt-oct"), post(admin_api, "bt-2024")

    assert (october.status_code, october.json()["code"]) == (409, "period_closed")
    assert october.json()["detail"] == (
        "Period 2025-11 is closed and comes after 2025-10: a posting dated in 2025-10 would change the "
        "balances of the closed month. Choose a date after 2025-11, the last closed month, or reopen "
        "2025-11 first."
    )
    assert (old.status_code, old.json()["code"]) == (409, "period_closed")
    # nothing was written, and the refused date left no open month behind
    assert not JournalPosting.objects.exists()
    assert not AccountingPeriod.objects.filter(pk="2024-06").exists()
    assert set(BankTransaction.objects.values_list("posting_status", flat=True)) == {PostingStatus.DRAFT}

    # After the closed month, postings go on; reopened, the month before takes its own again
    assert post(admin_api, "bt-dec").status_code == 201
    accounting_period_reopen(period_id="2025-11", user=superuser)
    assert post(admin_api, "bt-oct").status_code == 201


def test_nor_is_a_reversal_dated_before_it(admin_api, ledger, superuser):
    assert post(admin_api, "bt-oct").status_code == 201
    accounting_period_close(period_id="2025-11", user=superuser)

    early = admin_api.post(
        f"{BASE}/transactions/bt-oct/reverse",
        {"reversal_date": "2025-10-20", "reason": "typo"},
        format="json",
    )
    late = admin_api.post(
        f"{BASE}/transactions/bt-oct/reverse",
        {"reversal_date": "2025-12-01", "reason": "typo"},
        format="json",
    )

    assert (early.status_code, early.json()["code"]) == (409, "period_closed")
    assert late.status_code == 201, late.content


def test_the_batch_leaves_those_drafts_and_says_why(ledger, superuser):
    accounting_period_close(period_id="2025-09", user=superuser)
    out = io.StringIO()

    with pytest.raises(Exception, match="left unposted"):
        call_command("post_transactions", "--all-drafts", stdout=out)

    assert "left as draft: bt-aug: Period 2025-09 is closed and comes after 2025-08" in out.getvalue()
    assert "left as draft: bt-2024: Period 2025-09 is closed and comes after 2024-06" in out.getvalue()
    assert set(JournalPosting.objects.values_list("source_id", flat=True)) == {"bt-oct", "bt-dec"}


def signed_off(account, period="2025-09"):
    return BankReconciliationFactory(
        bank_account=account,
        period_id=period,
        reconciliation_date=AccountingPeriod.bounds(period)[1],
        status=ReconciliationState.FINALIZED,
    )


def test_an_earlier_date_does_not_change_a_signed_off_month_of_the_account(admin_api, ledger):
    AccountingPeriodFactory(id="2025-09")
    signed_off(ledger["op"])

    august, other_account, after = (
        post(admin_api, "bt-aug"),
        post(admin_api, "bt-aug-sav"),
        post(admin_api, "bt-oct"),
    )

    assert (august.status_code, august.json()["code"]) == (409, "reconciliation_finalized")
    assert "for 2025-09 was finalized" in august.json()["detail"]
    assert "nothing dated in it or before it can be posted or reversed" in august.json()["detail"]
    # another account's books, and the months after, are not what was signed off
    assert (other_account.status_code, after.status_code) == (201, 201)
    assert set(JournalPosting.objects.values_list("source_id", flat=True)) == {"bt-aug-sav", "bt-oct"}


def test_the_batch_leaves_a_draft_dated_before_a_signed_off_month(ledger):
    AccountingPeriodFactory(id="2025-09")
    signed_off(ledger["op"])
    out = io.StringIO()

    with pytest.raises(Exception, match="left unposted"):
        call_command("post_transactions", "--all-drafts", stdout=out)

    assert "left as draft: bt-aug: The reconciliation of bank account ba-op for 2025-09" in out.getvalue()
    assert "bt-2024: The reconciliation of bank account ba-op for 2025-09" in out.getvalue()
    assert set(JournalPosting.objects.values_list("source_id", flat=True)) == {
        "bt-oct",
        "bt-dec",
        "bt-aug-sav",
    }


def test_a_month_not_over_yet_is_not_closed(superuser):
    from django.utils import timezone

    from cnperp.exceptions import ConflictError

    this_month = timezone.localdate().strftime("%Y-%m")

    for month in (this_month, "2099-12"):
        with pytest.raises(ConflictError, match=f"Period {month} has not ended") as refused:
            accounting_period_close(period_id=month, user=superuser)
        assert refused.value.code == "period_not_ended"
    assert not AccountingPeriod.objects.filter(pk__in=[this_month, "2099-12"]).exists()


def test_an_earlier_month_is_reopened_only_after_the_later_closed_ones(ledger, superuser):
    from cnperp.exceptions import ConflictError

    for month in ("2025-10", "2025-11"):
        accounting_period_close(period_id=month, user=superuser)

    with pytest.raises(ConflictError, match="Period 2025-11 after 2025-10 is closed too") as refused:
        accounting_period_reopen(period_id="2025-10", user=superuser)
    assert "Reopen 2025-11 first" in refused.value.message
    assert AccountingPeriod.objects.get(pk="2025-10").status == "closed"

    accounting_period_reopen(period_id="2025-11", user=superuser)
    accounting_period_reopen(period_id="2025-10", user=superuser)
    assert set(
        AccountingPeriod.objects.filter(pk__in=["2025-10", "2025-11"]).values_list("status", flat=True)
    ) == {"open"}


def test_a_posting_rule_may_not_post_into_a_bank_accounts_books(ledger):
    from django.core.exceptions import ValidationError

    from banking.models import PostingRule

    rule = PostingRule(
        document_type="fee", bank_account=ledger["sav"], contra_account_id=ledger["op"].gl_account_id
    )

    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert refused.value.message_dict["contra_account"] == [
        f"GL account {ledger['op'].gl_account_id} is the ledger account of bank account ba-op: its books. "
        "A posting rule needs an account of its own."
    ]
