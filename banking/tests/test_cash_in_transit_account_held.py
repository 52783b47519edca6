"""A deposit that carried branch cash clears the cash-in-transit account its submission debited.

The submission looked up the cash-in-transit rule for its branch, the deposit
(which names no branch) for itself: a rule for one branch sent the submission's
debit to one account and the deposit's credit to another, and so did a rule
changed between the two postings. The first of them to post now fixes the
account; the other takes it from that posting.

One user records (the clerk), another posts (the accountant): segregation of
duties is on, as in the accountant's test that found it.
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounting.choices import AccountType
from accounting.models import JournalEntry
from accounting.tests.factories import GLAccountFactory
from banking.choices import PostingDocument, PostingStatus
from banking.models import BankTransaction, PostingRule
from banking.tests import two_people
from banking.tests.posting_setup import contra, ledger_setup
from banking.tests.two_people import ok
from dimensions.tests.factories import BranchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("segregation")]
segregation, clerk, accountant = two_people.segregation, two_people.clerk, two_people.accountant

BASE = "/api/v1/banking"
D = Decimal
DEFAULT_TRANSIT = contra(PostingDocument.CASH_IN_TRANSIT)  # gl-1160
HARBOUR_TRANSIT = "gl-1900"
BANK = "gl-bank-ba-op"


@pytest.fixture
def ledger():
    setup = ledger_setup()
    GLAccountFactory(
        id=HARBOUR_TRANSIT, code="1900", name="Harbour cash in transit", account_type=AccountType.ASSET
    )
    BranchFactory(id="br-harbour", code="HB", name="Harbour")
    return setup


def _harbour_rule(api):
    body = {
        "document_type": "cash_in_transit",
        "branch_id": "br-harbour",
        "contra_account_id": HARBOUR_TRANSIT,
    }
    ok(api.post(f"{BASE}/posting-rules", body, format="json"), 201)


def _change_default_rule(api, contra_account):
    rule = PostingRule.objects.get(document_type="cash_in_transit", bank_account=None, branch=None)
    ok(api.patch(f"{BASE}/posting-rules/{rule.pk}", {"contra_account_id": contra_account}, format="json"))


def _deposit(clerk, pk="bt-dep", amount="300.00"):
    body = {
        "id": pk,
        "bank_account_id": "ba-op",
        "transaction_type": "deposit",
        "amount": amount,
        "transaction_date": "2025-10-15",
    }
    return ok(clerk.post(f"{BASE}/transactions", body, format="json"), 201)


def _submission(clerk, pk="cs-1", amount="300.00", deposit="bt-dep", branch="br-harbour", **extra):
    body = {
        "id": pk,
        "branch_id": branch,
        "bank_account_id": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": amount,
        **extra,
    }
    if deposit is not None:
        body.update(deposited_amount=amount, deposit_date="2025-10-15", deposit_transaction_id=deposit)
    return clerk.post(f"{BASE}/cash-submissions", body, format="json")


def _post(api, documents, pk):
    return ok(api.post(f"{BASE}/{documents}/{pk}/post-accounting", {}, format="json"), 201)


def _balance(account_id):
    totals = JournalEntry.objects.filter(account_id=account_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


def _lines(posting_body):
    return sorted((line["account_id"], line["debit"], line["credit"]) for line in posting_body["lines"])


def _nothing_in_transit():
    assert (_balance(DEFAULT_TRANSIT), _balance(HARBOUR_TRANSIT)) == (D("0.00"), D("0.00"))


# --- A rule for the submission's branch -----------------------------------------------------------


def test_a_branch_rule_sends_the_deposit_to_the_account_its_submission_debited(clerk, accountant, ledger):
    # Given the harbour's own cash-in-transit account, a deposit of 300.00 (no branch) and the
    # harbour's submission naming it
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk), 201)

    # When both are posted
    submission = _post(accountant, "cash-submissions", "cs-1")
    deposit = _post(accountant, "transactions", "bt-dep")

    # then the deposit clears the account the submission debited,
    assert _lines(submission) == [
        (contra("cash_submission"), "0.00", "300.00"),
        (HARBOUR_TRANSIT, "300.00", "0.00"),
    ]
    assert _lines(deposit) == [(HARBOUR_TRANSIT, "0.00", "300.00"), (BANK, "300.00", "0.00")]
    # and nothing is left in transit on either account.
    _nothing_in_transit()


def test_a_deposit_posted_before_its_submission_takes_the_submissions_branch_rule(clerk, accountant, ledger):
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk), 201)

    deposit = _post(accountant, "transactions", "bt-dep")
    # A rule changed in between does not split them: the submission debits what the deposit credited.
    _change_default_rule(accountant, "gl-1150")
    PostingRule.objects.filter(branch_id="br-harbour").update(is_active=False)
    submission = _post(accountant, "cash-submissions", "cs-1")

    assert _lines(deposit) == [(HARBOUR_TRANSIT, "0.00", "300.00"), (BANK, "300.00", "0.00")]
    assert (HARBOUR_TRANSIT, "300.00", "0.00") in _lines(submission)
    _nothing_in_transit()


# --- A rule changed between the two postings --------------------------------------------------------


def test_a_rule_changed_after_the_submission_leaves_the_deposit_on_the_submissions_account(
    clerk, accountant, ledger
):
    _deposit(clerk)
    ok(_submission(clerk), 201)
    _post(accountant, "cash-submissions", "cs-1")  # Dr 1160 by the default rule

    _change_default_rule(accountant, HARBOUR_TRANSIT)
    deposit = _post(accountant, "transactions", "bt-dep")

    assert _lines(deposit) == [(DEFAULT_TRANSIT, "0.00", "300.00"), (BANK, "300.00", "0.00")]
    _nothing_in_transit()


def test_a_rule_changed_after_the_deposit_leaves_the_submission_on_the_deposits_account(
    clerk, accountant, ledger
):
    # Given a deposit of 300.00 posted first, through the default cash in transit (1160), for the
    # submission of 200.00 naming it, and then the default rule's account changed to 1900
    _deposit(clerk)
    ok(_submission(clerk, amount="200.00", branch="test-branch"), 201)
    _post(accountant, "transactions", "bt-dep")
    _change_default_rule(accountant, HARBOUR_TRANSIT)

    # Then the submission still may not be deleted (the deposit's credit waits for it) ...
    refused = accountant.delete(f"{BASE}/cash-submissions/cs-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "deposit_posted"
    # ... a second submission, of the other 100.00, may name the deposit (it went through cash in
    # transit, whatever today's rule names) ...
    second = _submission(clerk, pk="cs-2", amount="100.00", branch="test-branch")
    assert second.status_code == 201, second.content
    # ... and posted, both debit 1160, which the deposit credited, not today's 1900
    for pk in ("cs-1", "cs-2"):
        assert DEFAULT_TRANSIT in {line[0] for line in _lines(_post(accountant, "cash-submissions", pk))}
    _nothing_in_transit()


def test_a_batch_clears_a_cash_in_transit_account_no_rule_names_any_more(clerk, accountant, ledger):
    _deposit(clerk)
    ok(_submission(clerk), 201)
    _post(accountant, "cash-submissions", "cs-1")
    _change_default_rule(accountant, HARBOUR_TRANSIT)

    out = io.StringIO()
    call_command("post_transactions", "--all-drafts", "--user", "accountant-2", stdout=out)

    assert BankTransaction.objects.get(pk="bt-dep").posting_status == PostingStatus.POSTED, out.getvalue()
    _nothing_in_transit()


def test_the_correction_of_a_deposit_clears_the_account_its_submission_debited(clerk, accountant, ledger):
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk), 201)
    _post(accountant, "cash-submissions", "cs-1")
    _post(accountant, "transactions", "bt-dep")

    body = {"reversal_date": "2025-10-20", "reason": "wrong date", "transaction_date": "2025-10-16"}
    correction = ok(accountant.post(f"{BASE}/transactions/bt-dep/correct", body, format="json"), 201)
    _post(clerk, "transactions", correction["id"])  # the accountant recorded the correction

    _nothing_in_transit()
    assert _balance(BANK) == D("300.00")


# --- One deposit of several submissions --------------------------------------------------------------


def test_a_second_submission_may_name_a_deposit_posted_through_the_branchs_account(clerk, accountant, ledger):
    # Given the harbour's first submission of 200.00 and its deposit of 300.00, both posted
    # through the harbour's cash-in-transit account
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk, amount="200.00"), 201)
    _post(accountant, "cash-submissions", "cs-1")
    _post(accountant, "transactions", "bt-dep")

    # When the harbour's second submission of 100.00 names the same deposit
    second = _submission(clerk, pk="cs-2", amount="100.00")

    # then it is accepted (the deposit went through cash in transit), and clears the rest.
    ok(second, 201)
    _post(accountant, "cash-submissions", "cs-2")
    _nothing_in_transit()


def test_submissions_of_two_branches_on_one_deposit_share_the_account_posted_first(clerk, accountant, ledger):
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk, pk="cs-h", amount="200.00"), 201)
    ok(_submission(clerk, pk="cs-t", amount="100.00", branch="test-branch"), 201)

    _post(accountant, "cash-submissions", "cs-h")  # Dr 1900, the harbour's
    test_branch = _post(accountant, "cash-submissions", "cs-t")
    _post(accountant, "transactions", "bt-dep")

    assert (HARBOUR_TRANSIT, "100.00", "0.00") in _lines(test_branch)
    _nothing_in_transit()


# --- The bank's deposit recorded after the submission was posted ------------------------------------


def test_a_deposit_recorded_afterwards_clears_the_account_the_submission_debited(clerk, accountant, ledger):
    _harbour_rule(accountant)
    ok(_submission(clerk, deposit=None), 201)
    _post(accountant, "cash-submissions", "cs-1")  # Dr 1900, nothing deposited yet
    _deposit(clerk)

    body = {"deposit_transaction_id": "bt-dep", "deposited_amount": "300.00"}
    ok(accountant.post(f"{BASE}/cash-submissions/cs-1/record-deposit", body, format="json"), 201)
    deposit = _post(accountant, "transactions", "bt-dep")

    assert _lines(deposit) == [(HARBOUR_TRANSIT, "0.00", "300.00"), (BANK, "300.00", "0.00")]
    _nothing_in_transit()


def test_a_posted_submission_cannot_take_a_deposit_that_clears_another_account(clerk, accountant, ledger):
    # Given a deposit of 300.00 that already clears 1160 for the test branch's 100.00,
    _harbour_rule(accountant)
    _deposit(clerk)
    ok(_submission(clerk, pk="cs-t", amount="100.00", branch="test-branch"), 201)
    _post(accountant, "cash-submissions", "cs-t")
    _post(accountant, "transactions", "bt-dep")
    # and the harbour's 200.00 posted into 1900 before the bank's credit came
    ok(_submission(clerk, pk="cs-h", amount="200.00", deposit=None), 201)
    _post(accountant, "cash-submissions", "cs-h")

    # When the harbour's submission is said to have reached the bank through that deposit
    body = {"deposit_transaction_id": "bt-dep", "deposited_amount": "200.00"}
    refused = accountant.post(f"{BASE}/cash-submissions/cs-h/record-deposit", body, format="json")

    # then it is refused, naming both accounts: 1900 would keep the 200.00 and 1160 go into credit.
    assert refused.status_code == 400, refused.content
    message = str(refused.json()["deposit_transaction_id"])
    assert HARBOUR_TRANSIT in message and DEFAULT_TRANSIT in message
    assert (_balance(DEFAULT_TRANSIT), _balance(HARBOUR_TRANSIT)) == (D("-200.00"), D("200.00"))


def test_a_submission_taken_up_again_does_not_name_a_deposit_posted_through_its_deposit_rule(
    clerk, accountant, ledger
):
    # Given a submission naming a draft deposit, cancelled, and the deposit then posted through
    # its deposit rule (nothing named it any more)
    _deposit(clerk)
    ok(_submission(clerk), 201)
    ok(clerk.patch(f"{BASE}/cash-submissions/cs-1", {"status": "cancelled"}, format="json"))
    deposit = _post(accountant, "transactions", "bt-dep")
    assert DEFAULT_TRANSIT not in {line[0] for line in _lines(deposit)}

    # When the submission is taken up again, naming that deposit still
    taken_up = clerk.patch(f"{BASE}/cash-submissions/cs-1", {"status": "deposited"}, format="json")

    # Then it is refused: the deposit's credit went to its deposit rule's account, which the
    # submission's posting would otherwise have debited as if it were cash in transit
    assert taken_up.status_code == 400, taken_up.content
    assert "posted through its deposit rule" in str(taken_up.json()["deposit_transaction_id"])


def test_a_correction_of_a_deposit_posted_through_its_rule_clears_cash_in_transit_when_named(
    clerk, accountant, ledger
):
    # Given a deposit posted through its deposit rule (nothing named it), then corrected: the
    # correction a draft, which the harbour's submission names
    _deposit(clerk)
    _post(accountant, "transactions", "bt-dep")
    body = {"reversal_date": "2025-10-16", "reason": "it was branch cash", "id": "bt-dep-c"}
    ok(clerk.post(f"{BASE}/transactions/bt-dep/correct", body, format="json"), 201)
    ok(_submission(clerk, deposit="bt-dep-c"), 201)

    # When both post
    correction = _post(accountant, "transactions", "bt-dep-c")
    _post(accountant, "cash-submissions", "cs-1")

    # Then the correction credits cash in transit (the rule's), not the account the first deposit
    # credited through its deposit rule, and nothing is left in transit
    assert (DEFAULT_TRANSIT, "0.00", "300.00") in _lines(correction)
    _nothing_in_transit()
