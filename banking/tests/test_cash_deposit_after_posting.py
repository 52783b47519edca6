"""A cash submission posted before the bank credited it takes the bank's deposit afterwards.

Posted first, the submission put all the branch expected in cash in transit
(Dr 1160 / Cr 1150). ``cash-submissions/{id}/record-deposit`` names the deposit
that carried the cash and says what reached the bank: the deposit then posts
through cash in transit, and a shortage (or overage) moves from cash in transit
to cash over/short in a posting of its own dated the deposit date, so cash in
transit nets to zero, as for a submission posted with its deposit. Before,
the submission could not be changed once posted: the deposit posted to sales
and the cash stayed in transit for good, unless it was reversed and keyed in
again. Through the API, the admin and ``check_gl_balance``.
"""

import datetime
import html
import io
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client, override_settings

from accounting.choices import SourceType
from accounting.models import JournalEntry, JournalPosting
from accounting.services import accounting_period_close
from accounting.tests.factories import GLAccountFactory, UserFactory
from banking import posting, services
from banking.choices import CashSubmissionStatus, PostingStatus
from banking.models import BankTransaction, CashSubmission
from banking.tests.factories import BankTransactionFactory, PostingRuleFactory
from banking.tests.posting_setup import contra, ledger_setup
from cnperp.tests.admin_pages import changelist_url
from cnperp.tests.api import client_for, user_with_perms

D = Decimal
BASE = "/api/v1/banking"
IN_TRANSIT, OVER_SHORT, BRANCH_CASH = (
    contra("cash_in_transit"),
    contra("cash_shortage"),
    contra("cash_submission"),
)
SALES = contra("deposit")
OCT = datetime.date(2025, 10, 14)


@pytest.fixture
def ledger(db):
    return ledger_setup()


def submit(ledger, pk="cs-1", expected="2500.00", **extra):
    """Record a submission from the test branch into ba-op on 14 October and post it, undeposited."""
    submission = services.cash_submission_create(
        user=ledger["user"],
        id=pk,
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=OCT,
        expected_amount=D(expected),
        cost_center=ledger["cc"],
        **extra,
    )
    posting.cash_submission_post(submission_id=submission.pk, user=ledger["user"])
    return submission


def deposit(ledger, pk="bt-dep", amount="2450.00", day=datetime.date(2025, 10, 16), **extra):
    """A draft deposit into ba-op: the bank's credit, as a statement line would bring it."""
    fields = {"bank_account": ledger["op"], "transaction_type": "deposit", "direction": "in", **extra}
    return BankTransactionFactory(id=pk, amount=D(amount), transaction_date=day, **fields)


def record(api, body, pk="cs-1"):
    return api.post(f"{BASE}/cash-submissions/{pk}/record-deposit", body, format="json")


def balance(account_id):
    totals = JournalEntry.objects.filter(account_id=account_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D("0")) - (totals["c"] or D("0"))


def lines(posting_body):
    return sorted((line["account_id"], line["debit"], line["credit"]) for line in posting_body["lines"])


def gl_balanced():
    out = io.StringIO()
    try:
        call_command("check_gl_balance", stdout=out, stderr=out)
    except SystemExit as exc:
        return exc.code in (0, None)
    return True


# --- The shortage, the deposit, and cash in transit -------------------------------------------------


def test_a_short_deposit_posts_its_shortage_and_the_deposit_clears_cash_in_transit(admin_api, ledger):
    # Given a submission of 2500.00 posted before the bank credited it: all of it in cash in transit
    submit(ledger)
    deposit(ledger)
    assert balance(IN_TRANSIT) == D("2500.00")

    # When the bank's deposit of 2450.00 is recorded on it
    response = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})

    # then the submission says what reached the bank and when (the deposit's date),
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cash_submission"]["deposited_amount"] == "2450.00"
    assert body["cash_submission"]["deposit_date"] == "2025-10-16"
    assert body["cash_submission"]["deposit_transaction_id"] == "bt-dep"
    assert body["cash_submission"]["status"] == CashSubmissionStatus.DEPOSITED
    assert body["cash_submission"]["variance"] == "-50.00"
    # the 50.00 short moves from cash in transit to cash over/short, on the deposit date,
    difference = body["difference_posting"]
    assert difference["source_type"] == SourceType.CASH_DEPOSIT
    assert difference["entry_date"] == "2025-10-16"
    assert lines(difference) == [(IN_TRANSIT, "0.00", "50.00"), (OVER_SHORT, "50.00", "0.00")]
    assert {line["dimensions"]["cost_center_id"] for line in difference["lines"]} == {"cc-hq"}
    # the audit trail says who recorded what reached the bank, and which posting it made,
    [entry] = [
        e
        for e in LogEntry.objects.get_for_model(CashSubmission).filter(object_pk="cs-1")
        if (e.additional_data or {}).get("event") == "record deposit"
    ]
    assert entry.additional_data["difference"] == "CD-cs-1"
    assert entry.changes_dict["deposited_amount"] == [None, "2450.00"]
    # and the deposit, posted now, clears what is left in cash in transit, not sales.
    posted = admin_api.post(f"{BASE}/transactions/bt-dep/post-accounting")
    assert posted.status_code == 201, posted.content
    assert (IN_TRANSIT, "0.00", "2450.00") in lines(posted.json())
    assert balance(IN_TRANSIT) == D("0.00")
    assert balance(OVER_SHORT) == D("50.00")
    assert balance(SALES) == D("0.00")
    assert balance(BRANCH_CASH) == D("-2500.00")
    assert gl_balanced()


def test_an_exact_deposit_posts_nothing_more_and_an_overage_goes_the_other_way(admin_api, ledger):
    submit(ledger, "cs-exact", "1000.00")
    submit(ledger, "cs-over", "700.00")
    deposit(ledger, "bt-exact", "1000.00")
    deposit(ledger, "bt-over", "710.00")

    exact = record(admin_api, {"deposit_transaction_id": "bt-exact"}, pk="cs-exact")  # all of it arrived
    over = record(
        admin_api, {"deposit_transaction_id": "bt-over", "deposited_amount": "710.00"}, pk="cs-over"
    )

    assert exact.status_code == over.status_code == 201
    assert exact.json()["difference_posting"] is None
    assert exact.json()["cash_submission"]["deposited_amount"] == "1000.00"
    assert lines(over.json()["difference_posting"]) == [
        (IN_TRANSIT, "10.00", "0.00"),
        (OVER_SHORT, "0.00", "10.00"),
    ]
    for pk in ("bt-exact", "bt-over"):
        assert admin_api.post(f"{BASE}/transactions/{pk}/post-accounting").status_code == 201
    assert balance(IN_TRANSIT) == D("0.00")
    assert balance(OVER_SHORT) == D("-10.00")


def test_one_deposit_carries_two_submissions_posted_before_it(admin_api, ledger):
    submit(ledger, "cs-a", "2500.00")
    submit(ledger, "cs-b", "1500.00")
    deposit(ledger, "bt-both", "4000.00")

    for pk, amount in (("cs-a", "2500.00"), ("cs-b", "1500.00")):
        response = record(admin_api, {"deposit_transaction_id": "bt-both", "deposited_amount": amount}, pk=pk)
        assert response.status_code == 201, response.content
    # More than the deposit carried is refused: the excess would stay in transit for good.
    submit(ledger, "cs-c", "100.00")
    too_much = record(
        admin_api, {"deposit_transaction_id": "bt-both", "deposited_amount": "100.00"}, pk="cs-c"
    )
    assert too_much.status_code == 400
    assert "deposited_amount" in too_much.json()

    assert admin_api.post(f"{BASE}/transactions/bt-both/post-accounting").status_code == 201
    assert balance(IN_TRANSIT) == D("100.00")  # cs-c's, still on its way


# --- Retries and second thoughts ---------------------------------------------------------------------


def test_the_same_deposit_again_is_a_retry_and_a_different_one_is_refused(admin_api, ledger):
    submit(ledger)
    deposit(ledger)
    deposit(ledger, "bt-other", "2500.00")
    first = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})
    postings = JournalPosting.objects.count()

    again = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})
    bare = record(admin_api, {"deposit_transaction_id": "bt-dep"})  # the recorded figures stand

    assert (again.status_code, bare.status_code) == (200, 200)
    assert again.json()["difference_posting"]["id"] == first.json()["difference_posting"]["id"]
    assert JournalPosting.objects.count() == postings
    for body in (
        {"deposit_transaction_id": "bt-dep", "deposited_amount": "2400.00"},
        {"deposit_transaction_id": "bt-other"},
        {"deposit_transaction_id": "bt-dep", "deposit_date": "2025-10-20"},
    ):
        refused = record(admin_api, body)
        assert refused.status_code == 409, body
        assert refused.json()["code"] == "deposit_recorded"
        assert "Reverse the submission" in refused.json()["detail"]
    assert JournalPosting.objects.count() == postings
    assert CashSubmission.objects.get(pk="cs-1").deposited_amount == D("2450.00")


def test_a_submission_posted_with_its_figures_but_no_deposit_takes_the_link_only(admin_api, ledger):
    # Posted saying 2450.00 reached the bank on the 16th, without naming the deposit
    submit(ledger, deposited_amount=D("2450.00"), deposit_date=datetime.date(2025, 10, 16))
    deposit(ledger)
    postings = JournalPosting.objects.count()

    different = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2500.00"})
    linked = record(admin_api, {"deposit_transaction_id": "bt-dep"})

    assert different.status_code == 409  # its posting already says 2450.00
    assert linked.status_code == 201, linked.content
    assert linked.json()["difference_posting"] is None
    assert JournalPosting.objects.count() == postings
    assert admin_api.post(f"{BASE}/transactions/bt-dep/post-accounting").status_code == 201
    assert balance(IN_TRANSIT) == D("0.00")


def test_reversing_the_submission_reverses_its_shortage_too(admin_api, ledger):
    submit(ledger)
    deposit(ledger)
    record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})

    reversed_ = admin_api.post(
        f"{BASE}/cash-submissions/cs-1/reverse",
        {"reversal_date": "2025-10-20", "reason": "counted at the wrong branch"},
        format="json",
    )

    assert reversed_.status_code == 201, reversed_.content
    difference = JournalPosting.objects.get(
        source_type=SourceType.CASH_DEPOSIT, source_id="cs-1", purpose="post"
    )
    assert JournalPosting.objects.filter(reverses=difference).count() == 1
    assert balance(IN_TRANSIT) == balance(OVER_SHORT) == balance(BRANCH_CASH) == D("0.00")
    assert gl_balanced()
    # Reversed, it takes no deposit any more.
    assert record(admin_api, {"deposit_transaction_id": "bt-dep"}).status_code == 409


# --- What is refused, with nothing changed ------------------------------------------------------------


def test_bad_requests_are_refused_naming_the_field_and_change_nothing(admin_api, ledger):
    submit(ledger)
    deposit(ledger)
    deposit(ledger, "bt-out", "2450.00", direction="out", transaction_type="withdrawal")
    deposit(ledger, "bt-sales", "2450.00")
    posting.bank_transaction_post(transaction_id="bt-sales", user=ledger["user"])  # through its deposit rule
    deposit(ledger, "bt-elsewhere", "2450.00", bank_account=ledger["sav"])
    postings = JournalPosting.objects.count()

    cases = {
        "deposit_transaction_id": [
            {},
            {"deposit_transaction_id": "bt-nope"},
            {"deposit_transaction_id": "bt-out"},
            {"deposit_transaction_id": "bt-sales"},
            {"deposit_transaction_id": "bt-elsewhere"},
        ],
        "deposited_amount": [
            {"deposit_transaction_id": "bt-dep", "deposited_amount": "-1.00"},
            {"deposit_transaction_id": "bt-dep", "deposited_amount": "12.345"},
            {"deposit_transaction_id": "bt-dep", "deposited_amount": 2450.5},
        ],
        "deposit_date": [
            {"deposit_transaction_id": "bt-dep", "deposit_date": "2025-10-13"},  # before it was submitted
            {"deposit_transaction_id": "bt-dep", "deposit_date": "2025-13-01"},
            {"deposit_transaction_id": "bt-dep", "deposit_date": "2999-12-31"},  # a day not come yet
        ],
    }
    for field, bodies in cases.items():
        for body in bodies:
            response = record(admin_api, body)
            assert response.status_code == 400, (body, response.content)
            assert field in response.json(), (body, response.json())
    unknown_field = record(admin_api, {"deposit_transaction_id": "bt-dep", "amount": "1.00"})
    assert unknown_field.status_code == 400
    assert record(admin_api, {"deposit_transaction_id": "bt-dep"}, pk="cs-nope").status_code == 404

    submission = CashSubmission.objects.get(pk="cs-1")
    assert (submission.deposited_amount, submission.deposit_transaction_id) == (None, None)
    assert submission.status == CashSubmissionStatus.SUBMITTED
    assert JournalPosting.objects.count() == postings


def test_a_draft_a_closed_period_and_a_missing_permission_are_refused(admin_api, ledger):
    services.cash_submission_create(
        user=ledger["user"],
        id="cs-draft",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        submission_date=OCT,
        expected_amount=D("300.00"),
    )
    submit(ledger)
    deposit(ledger, day=datetime.date(2025, 11, 3))
    draft = record(admin_api, {"deposit_transaction_id": "bt-dep"}, pk="cs-draft")
    assert (draft.status_code, draft.json()["code"]) == (409, "document_draft")

    accounting_period_close(period_id="2025-11", user=ledger["user"])
    closed = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})
    assert closed.status_code == 409
    assert "2025-11" in closed.json()["detail"]
    assert CashSubmission.objects.get(pk="cs-1").deposited_amount is None

    viewer = client_for(user_with_perms("viewer", "banking.view_cashsubmission"))
    assert record(viewer, {"deposit_transaction_id": "bt-dep"}).status_code == 403


# --- The admin --------------------------------------------------------------------------------------


def test_the_admin_action_asks_for_the_deposit_and_records_it(ledger, superuser):
    submit(ledger)
    deposit(ledger)
    browser = Client()
    browser.force_login(superuser)
    chosen = {"action": "record_deposit", ACTION_CHECKBOX_NAME: ["cs-1"]}

    # Chosen from the list, the action asks which deposit and how much,
    asked = browser.post(changelist_url(CashSubmission), chosen)
    assert asked.status_code == 200
    assert "Record the deposit" in asked.content.decode()
    assert CashSubmission.objects.get(pk="cs-1").deposited_amount is None
    # without the deposit it asks again, naming the field, and records nothing,
    missing = browser.post(
        changelist_url(CashSubmission), {**chosen, "confirm": "yes", "deposit_transaction": ""}
    )
    assert missing.status_code == 200
    assert "This field is required." in missing.content.decode()
    assert CashSubmission.objects.get(pk="cs-1").deposited_amount is None
    # an unknown deposit is a message naming it,
    unknown = browser.post(
        changelist_url(CashSubmission),
        {**chosen, "confirm": "yes", "deposit_transaction": "bt-nope"},
        follow=True,
    )
    assert 'No bank transaction has the id "bt-nope"' in html.unescape(unknown.content.decode())
    # and with it, the deposit is recorded and the shortage posted.
    done = browser.post(
        changelist_url(CashSubmission),
        {**chosen, "confirm": "yes", "deposit_transaction": "bt-dep", "deposited_amount": "2450.00"},
        follow=True,
    )
    text = html.unescape(done.content.decode())
    # (named by its kind first: the admin capitalises a message's first letter, and "Cs-1" is another id)
    said = "Cash submission cs-1: 2450.00 reached the bank on 2025-10-16 through bt-dep; 50.00 short posted"
    assert said + " as CD-cs-1" in text
    submission = CashSubmission.objects.get(pk="cs-1")
    assert (submission.deposited_amount, submission.deposit_transaction_id) == (D("2450.00"), "bt-dep")
    assert balance(OVER_SHORT) == D("50.00")
    # Two at once is refused: each submission has its own amount.
    submit(ledger, "cs-2", "90.00")
    both = browser.post(
        changelist_url(CashSubmission),
        {"action": "record_deposit", ACTION_CHECKBOX_NAME: ["cs-1", "cs-2"]},
        follow=True,
    )
    assert "Select one cash submission at a time" in both.content.decode()
    assert CashSubmission.objects.get(pk="cs-2").posting_status == PostingStatus.POSTED


# --- What a review found -------------------------------------------------------------------------


def test_a_submission_posted_naming_its_deposit_takes_no_other(admin_api, ledger):
    # Posted naming bt-dep (what reached the bank not said yet): bt-dep clears its cash in transit.
    deposit(ledger)
    deposit(ledger, "bt-other", "2450.00")
    submit(ledger, deposit_transaction=BankTransaction.objects.get(pk="bt-dep"))

    other = record(admin_api, {"deposit_transaction_id": "bt-other"})
    same = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})

    # A second deposit would clear the same cash twice.
    assert (other.status_code, other.json()["code"]) == (409, "deposit_recorded")
    assert same.status_code == 201, same.content
    for pk in ("bt-dep", "bt-other"):
        assert admin_api.post(f"{BASE}/transactions/{pk}/post-accounting").status_code == 201
    assert balance(IN_TRANSIT) == D("0.00")
    assert balance(SALES) == D("-2450.00")  # bt-other was never the branch's cash


def test_the_shortage_leaves_the_transit_account_the_submission_was_posted_to(admin_api, ledger):
    # The branch's own cash-in-transit rule is added after the submission was posted to 1160.
    submit(ledger)
    deposit(ledger)
    PostingRuleFactory(
        document_type="cash_in_transit",
        branch=ledger["branch"],
        contra_account=GLAccountFactory(id="gl-1161", code="1161", account_type="asset"),
    )

    response = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})

    assert lines(response.json()["difference_posting"]) == [
        (IN_TRANSIT, "0.00", "50.00"),
        (OVER_SHORT, "50.00", "0.00"),
    ]
    assert balance(IN_TRANSIT) == D("2450.00")  # what the deposit will clear


def test_a_deposit_date_in_a_closed_period_is_refused_even_with_nothing_to_post(admin_api, ledger):
    submit(ledger)
    deposit(ledger, "bt-exact", "2500.00", day=datetime.date(2025, 11, 3))
    accounting_period_close(period_id="2025-11", user=ledger["user"])

    closed = record(admin_api, {"deposit_transaction_id": "bt-exact"})

    assert (closed.status_code, closed.json()["code"]) == (409, "period_closed")
    assert CashSubmission.objects.get(pk="cs-1").deposit_transaction_id is None


@override_settings(BANKING_SEGREGATION_OF_DUTIES=True)
def test_under_segregation_of_duties_who_splits_a_deposit_by_hand_does_not_post_its_difference(ledger):
    clerk, controller = UserFactory(username="clerk"), UserFactory(username="controller")
    for user in (clerk, controller):
        user.is_superuser = user.is_staff = True
        user.save()
    # Recorded by the clerk, posted by the controller: the submission itself is two people's work.
    for pk in ("cs-a", "cs-b"):
        services.cash_submission_create(
            user=clerk,
            id=pk,
            branch=ledger["branch"],
            bank_account=ledger["op"],
            submission_date=OCT,
            expected_amount=D("1000.00"),
        )
        posting.cash_submission_post(submission_id=pk, user=controller)
    deposit(ledger, "bt-one", "990.00")  # the bank's figure for cs-a alone
    deposit(ledger, "bt-shared", "990.00")  # cs-b's part of it split by hand below

    from_the_bank = record(
        client_for(controller), {"deposit_transaction_id": "bt-one", "deposited_amount": "990.00"}, pk="cs-a"
    )
    by_hand = record(
        client_for(controller),
        {"deposit_transaction_id": "bt-shared", "deposited_amount": "985.00"},
        pk="cs-b",
    )

    assert from_the_bank.status_code == 201, from_the_bank.content
    assert (by_hand.status_code, by_hand.json()["code"]) == (403, "segregation_of_duties")
    assert CashSubmission.objects.get(pk="cs-b").deposited_amount is None


def test_the_admin_says_what_it_linked_for_a_submission_posted_without_a_deposit_date(ledger, superuser):
    # A submission posted before a deposited amount needed its date: the amount said, not the date
    # nor the deposit (a new one is refused that way, see test_cash_deposit_dates.py).
    submit(ledger, deposited_amount=D("2450.00"), deposit_date=datetime.date(2025, 10, 16))
    CashSubmission.objects.filter(pk="cs-1").update(deposit_date=None)
    deposit(ledger)
    browser = Client()
    browser.force_login(superuser)

    done = browser.post(
        changelist_url(CashSubmission),
        {
            "action": "record_deposit",
            ACTION_CHECKBOX_NAME: ["cs-1"],
            "confirm": "yes",
            "deposit_transaction": "bt-dep",
        },
        follow=True,
    )

    assert done.status_code == 200
    said = "Cash submission cs-1: 2450.00 reached the bank on 2025-10-16 through bt-dep."
    assert said in html.unescape(done.content.decode())
    linked = CashSubmission.objects.get(pk="cs-1")
    # and the day the bank credited it is the deposit's: the variance report counts it from then
    assert (linked.deposit_transaction_id, linked.deposit_date) == ("bt-dep", datetime.date(2025, 10, 16))


def test_a_reversal_dated_before_the_over_short_posting_says_which_date_and_why(admin_api, ledger):
    submit(ledger)
    deposit(ledger)  # 16 October
    record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})
    postings = JournalPosting.objects.count()

    early = admin_api.post(
        f"{BASE}/cash-submissions/cs-1/reverse",
        {"reversal_date": "2025-10-15", "reason": "wrong"},
        format="json",
    )

    assert early.status_code == 400
    message = early.json()["reversal_date"][0]
    assert "CD-cs-1" in message and "on or after 2025-10-16" in message
    assert JournalPosting.objects.count() == postings
    assert CashSubmission.objects.get(pk="cs-1").posting_status == PostingStatus.POSTED


def test_the_difference_of_a_posted_submission_posts_with_a_cost_centre_retired_since(admin_api, ledger):
    # Posted with cost centre cc-hq, which is retired before the bank's credit arrives
    submit(ledger)
    deposit(ledger)
    retired = admin_api.patch("/api/v1/dimensions/cost-centers/cc-hq", {"is_active": False}, format="json")
    assert retired.status_code == 200, retired.content

    # the shortage still moves out of cash in transit, with the submission's own cost centre: the
    # submission is posted, and no edit could give it another one
    recorded = record(admin_api, {"deposit_transaction_id": "bt-dep", "deposited_amount": "2450.00"})

    assert recorded.status_code == 201, recorded.content
    difference = JournalEntry.objects.filter(reference="CD-cs-1")
    assert sorted(difference.values_list("account_id", "debit", "credit")) == [
        (IN_TRANSIT, D("0.00"), D("50.00")),
        (OVER_SHORT, D("50.00"), D("0.00")),
    ]
    assert set(difference.values_list("cost_center_id", flat=True)) == {"cc-hq"}
