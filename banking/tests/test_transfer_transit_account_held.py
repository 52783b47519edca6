"""A transfer's receiving leg clears the transit account its sending leg debited.

Each leg used to look up the transfer rule for its own bank account: a rule for
the receiving account (variant A), or a default rule changed while the money was
on its way (variant B), sent the receiving leg's credit to another account, and
the sending leg's debit stayed in transit for good. The transit account is now
the one the other leg's posting used, per cost centre; when neither leg is
posted, the rule of the sending account decides for both.

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
from banking.choices import Direction, PostingDocument, PostingStatus
from banking.models import BankTransaction, PostingRule
from banking.tests import two_people
from banking.tests.posting_setup import contra, ledger_setup
from banking.tests.two_people import ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("segregation")]
segregation, clerk, accountant = two_people.segregation, two_people.clerk, two_people.accountant

BASE = "/api/v1/banking"
D = Decimal
TRANSIT = contra(PostingDocument.TRANSFER)  # gl-1190, the default rule's
OTHER = "gl-1900"


@pytest.fixture
def ledger():
    setup = ledger_setup()
    GLAccountFactory(id=OTHER, code="1900", name="Other clearing", account_type=AccountType.ASSET)
    return setup


def _send(clerk, pk="tr-1", initiated="2025-10-10"):
    """A transfer of 1000.00 from ba-op to ba-sav, 600.00 for cc-hq and 400.00 for cc-ops."""
    body = {
        "id": pk,
        "from_bank_account_id": "ba-op",
        "to_bank_account_id": "ba-sav",
        "amount": "1000.00",
        "initiated_date": initiated,
        "allocations": [
            {"amount": "600.00", "cost_center_id": "cc-hq"},
            {"amount": "400.00", "cost_center_id": "cc-ops"},
        ],
    }
    ok(clerk.post(f"{BASE}/transfers", body, format="json"), 201)


def _receive(clerk, pk="tr-1", day="2025-10-12"):
    body = {"received_date": day, "received_amount": "1000.00"}
    ok(clerk.post(f"{BASE}/transfers/{pk}/receive", body, format="json"))


def _leg(pk, direction):
    return BankTransaction.objects.get(
        transfer_id=pk, direction=direction, posting_status=PostingStatus.DRAFT
    ).pk


def _post_leg(accountant, pk, direction):
    leg = _leg(pk, direction)
    return ok(accountant.post(f"{BASE}/transactions/{leg}/post-accounting", {}, format="json"), 201)


def _rule(api, document_type, contra_account, **scope):
    body = {"document_type": document_type, "contra_account_id": contra_account, **scope}
    return ok(api.post(f"{BASE}/posting-rules", body, format="json"), 201)


def _change_default_rule(api, document_type, contra_account):
    rule = PostingRule.objects.get(document_type=document_type, bank_account=None, branch=None)
    ok(api.patch(f"{BASE}/posting-rules/{rule.pk}", {"contra_account_id": contra_account}, format="json"))


def _balance(account_id, **filters):
    totals = JournalEntry.objects.filter(account_id=account_id, **filters).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


def _transit_by_cost_centre():
    return {
        (account, cc): _balance(account, cost_center_id=cc)
        for account in (TRANSIT, OTHER)
        for cc in ("cc-hq", "cc-ops")
    }


NOTHING_IN_TRANSIT = {(account, cc): D("0.00") for account in (TRANSIT, OTHER) for cc in ("cc-hq", "cc-ops")}


def _credits(posting_body):
    return sorted(
        (line["account_id"], line["credit"], line["dimensions"]["cost_center_id"])
        for line in posting_body["lines"]
        if D(line["credit"])
    )


def _batch(*args):
    out = io.StringIO()
    call_command("post_transactions", *args, stdout=out)
    return out.getvalue()


# --- Variant A: a rule for the receiving account ---------------------------------------------------


def test_a_rule_for_the_receiving_account_does_not_move_the_receiving_legs_credit(clerk, accountant, ledger):
    # Given a transfer rule for ba-sav alone, and a transfer from ba-op into ba-sav
    _rule(accountant, "transfer", OTHER, bank_account_id="ba-sav")
    _send(clerk)
    sending = _post_leg(accountant, "tr-1", Direction.OUT)
    _receive(clerk)

    # When the receiving leg is posted
    receiving = _post_leg(accountant, "tr-1", Direction.IN)

    # then it credits the transit account the sending leg debited, per cost centre,
    debits = sorted(
        (line["account_id"], line["debit"], line["dimensions"]["cost_center_id"])
        for line in sending["lines"]
        if D(line["debit"])
    )
    assert debits == [(TRANSIT, "400.00", "cc-ops"), (TRANSIT, "600.00", "cc-hq")]
    assert _credits(receiving) == [(TRANSIT, "400.00", "cc-ops"), (TRANSIT, "600.00", "cc-hq")]
    # and nothing is left in transit on either account.
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT


def test_both_legs_posted_in_one_batch_use_the_sending_accounts_rule(clerk, accountant, ledger):
    _rule(clerk, "transfer", OTHER, bank_account_id="ba-sav")
    _send(clerk)
    _receive(clerk)

    _batch("--all-drafts", "--user", "accountant-2")

    assert set(BankTransaction.objects.values_list("posting_status", flat=True)) == {PostingStatus.POSTED}
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT


def test_a_rule_for_the_sending_account_sends_both_legs_through_its_account(clerk, accountant, ledger):
    _rule(accountant, "transfer", OTHER, bank_account_id="ba-op")
    _send(clerk)
    _receive(clerk)

    # The receiving leg posted first already takes the sending account's transit account.
    receiving = _post_leg(accountant, "tr-1", Direction.IN)
    _post_leg(accountant, "tr-1", Direction.OUT)

    assert _credits(receiving) == [(OTHER, "400.00", "cc-ops"), (OTHER, "600.00", "cc-hq")]
    assert _balance(TRANSIT) == D("0.00")
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT


# --- Variant B: the default rule changed while the money is on its way ------------------------------


def test_a_rule_changed_while_in_transit_leaves_the_receipt_on_the_sending_legs_account(
    clerk, accountant, ledger
):
    _send(clerk)
    _post_leg(accountant, "tr-1", Direction.OUT)
    _change_default_rule(accountant, "transfer", OTHER)
    _receive(clerk)

    receiving = _post_leg(accountant, "tr-1", Direction.IN)

    assert _credits(receiving) == [(TRANSIT, "400.00", "cc-ops"), (TRANSIT, "600.00", "cc-hq")]
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT


def test_a_receipt_recorded_again_after_a_reversal_clears_the_same_account(clerk, accountant, ledger):
    _send(clerk)
    _post_leg(accountant, "tr-1", Direction.OUT)
    _receive(clerk)
    first = _post_leg(accountant, "tr-1", Direction.IN)
    _change_default_rule(accountant, "transfer", OTHER)
    body = {"reversal_date": "2025-10-13", "reason": "booked on the wrong day"}
    leg = first["source_id"]
    ok(accountant.post(f"{BASE}/transactions/{leg}/reverse", body, format="json"), 201)

    _receive(clerk, day="2025-10-14")
    again = _post_leg(accountant, "tr-1", Direction.IN)

    assert _credits(again) == [(TRANSIT, "400.00", "cc-ops"), (TRANSIT, "600.00", "cc-hq")]
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT


def test_a_batch_clears_a_transit_account_no_rule_names_any_more(clerk, accountant, ledger):
    # The sending leg's account is no rule's now: the batch neither skips the leg as using an
    # account outside the rules nor sends it to the new one.
    _send(clerk)
    _post_leg(accountant, "tr-1", Direction.OUT)
    _change_default_rule(accountant, "transfer", OTHER)
    _receive(clerk)

    _batch("--all-drafts", "--user", "accountant-2")

    assert set(BankTransaction.objects.values_list("posting_status", flat=True)) == {PostingStatus.POSTED}
    assert _transit_by_cost_centre() == NOTHING_IN_TRANSIT
