"""A branch returns its float in instalments, and a wrong return is reversed on its own.

Through the public doors: the API (``float-allocations/{id}/post-return`` with the
total returned to date, ``float-returns/{id}/reverse``), the services in
``banking.posting``, and the admin (the float's returns on its page, the action
"Reverse one of its returns"). Each instalment is its own balanced posting;
the float keeps the running summary; a retry of the same total posts nothing,
also when several requests arrive at once (MariaDB); the returns posted once
before instalments existed keep their postings through banking 0011.
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import Client

from accounting.choices import SourceType
from accounting.models import JournalEntry, JournalPosting
from accounting.services import accounting_period_close, journal_posting_create
from banking import posting
from banking.choices import FloatStatus, PostingStatus, ReconciliationState
from banking.models import FloatAllocation, FloatReturn
from banking.posting import RuleBook, float_allocation_lines
from banking.tests.factories import BankReconciliationFactory, FloatAllocationFactory
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import ConflictError, DomainError
from cnperp.tests.admin_pages import change_url, changelist_url

D = Decimal
BASE = "/api/v1/banking"
FLOATS = "gl-1170"  # Branch floats (the float_allocation rule's account)


@pytest.fixture
def ledger(db):
    return ledger_setup()


@pytest.fixture
def given(ledger):
    """A float of 500.00 from ba-op to the test branch, given (posted) on 1 October 2025."""
    allocation = FloatAllocationFactory(
        id="fa-1",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        amount=D("500.00"),
        cost_center=ledger["cc"],
    )
    posting.float_allocation_post(allocation_id=allocation.pk, user=ledger["user"])
    return allocation


def _return(api, total, day=None, pk="fa-1"):
    body = {"returned_amount": total}
    if day:
        body["return_date"] = day
    return api.post(f"{BASE}/float-allocations/{pk}/post-return", body, format="json")


def _reverse(api, return_id, day="2025-11-10", reason="Counted twice"):
    return api.post(
        f"{BASE}/float-returns/{return_id}/reverse", {"reversal_date": day, "reason": reason}, format="json"
    )


def _balance(account_id):
    totals = JournalEntry.objects.filter(account_id=account_id).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D("0")) - (totals["c"] or D("0"))


def _balanced(reference):
    totals = JournalEntry.objects.filter(reference=reference).aggregate(d=Sum("debit"), c=Sum("credit"))
    return totals["d"] == totals["c"] and totals["d"] > 0


def _summary(pk="fa-1"):
    allocation = FloatAllocation.objects.get(pk=pk)
    return (
        allocation.returned_amount,
        allocation.status,
        allocation.return_date,
        allocation.return_gl_reference,
    )


def _ledger_state():
    return (
        JournalPosting.objects.count(),
        FloatReturn.objects.count(),
        _summary(),
        list(FloatReturn.objects.values_list("pk", "posting_status")),
    )


# --- Instalments through the API ---------------------------------------------------------


@pytest.mark.django_db
def test_two_instalments_then_the_full_amount_each_post_their_own_balanced_posting(admin_api, ledger, given):
    bank = ledger["op"].gl_account_id
    assert (_balance(FLOATS), _balance(bank)) == (D("500.00"), D("-500.00"))

    # When 200.00 comes back on 10 October,
    first = _return(admin_api, "200.00", "2025-10-10")
    # then it posts FR-fa-1 for 200.00 and the float is partly back.
    assert first.status_code == 201, first.content
    assert (first.json()["reference"], first.json()["total_debit"]) == ("FR-fa-1", "200.00")
    assert first.json()["source_type"] == "float_return" and first.json()["source_id"] == "fa-1"
    assert _summary() == (D("200.00"), FloatStatus.PARTIALLY_RETURNED, datetime.date(2025, 10, 10), "FR-fa-1")
    assert (_balance(FLOATS), _balance(bank)) == (D("300.00"), D("-300.00"))

    # When the total back reaches 350.00 on 20 October, the 150.00 more is a second instalment,
    second = _return(admin_api, "350.00", "2025-10-20")
    assert second.status_code == 201, second.content
    second_ref = second.json()["reference"]
    assert second_ref.startswith("FR-fr-") and second.json()["total_debit"] == "150.00"
    assert _summary() == (
        D("350.00"),
        FloatStatus.PARTIALLY_RETURNED,
        datetime.date(2025, 10, 20),
        second_ref,
    )
    assert (_balance(FLOATS), _balance(bank)) == (D("150.00"), D("-150.00"))

    # and the rest, on 5 November, returns the float in full.
    third = _return(admin_api, "500.00", "2025-11-05")
    assert third.status_code == 201, third.content
    assert third.json()["total_debit"] == "150.00" and third.json()["period"] == "2025-11"
    assert _summary()[:2] == (D("500.00"), FloatStatus.RETURNED)
    assert (_balance(FLOATS), _balance(bank)) == (D("0.00"), D("0.00"))

    # Each instalment is its own balanced posting, with its lines on the float's cost centre.
    references = [first.json()["reference"], second_ref, third.json()["reference"]]
    assert all(_balanced(reference) for reference in references)
    assert set(
        JournalEntry.objects.filter(reference__in=references).values_list("cost_center_id", flat=True)
    ) == {"cc-hq"}
    # And the float's API representation lists them, in order, none reversed.
    shown = admin_api.get(f"{BASE}/float-allocations/fa-1").json()
    assert [(r["number"], r["amount"], r["gl_reference"], r["reversed"]) for r in shown["returns"]] == [
        (1, "200.00", "FR-fa-1", False),
        (2, "150.00", second_ref, False),
        (3, "150.00", third.json()["reference"], False),
    ]
    assert shown["returned_amount"] == "500.00" and shown["outstanding_amount"] == "0.00"


@pytest.mark.django_db
def test_the_same_total_again_is_a_retry_that_posts_nothing(admin_api, ledger, given):
    first = _return(admin_api, "200.00", "2025-10-10")
    second = _return(admin_api, "300.00", "2025-10-12")
    before = _ledger_state()

    # When the same total is sent again (with its date, another date, or no figures at all),
    answers = [
        _return(admin_api, "300.00", "2025-10-12"),
        _return(admin_api, "300.00", "2025-10-15"),
        admin_api.post(f"{BASE}/float-allocations/fa-1/post-return", {}, format="json"),
    ]

    # then each answers 200 with the latest return's posting, and nothing new is written.
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert {answer.json()["reference"] for answer in answers} == {second.json()["reference"]}
    assert first.json()["reference"] != second.json()["reference"]
    assert _ledger_state() == before


@pytest.mark.django_db
def test_a_lower_total_is_a_409_naming_the_figures_and_changes_nothing(admin_api, ledger, given):
    _return(admin_api, "300.00", "2025-10-10")
    before = _ledger_state()

    response = _return(admin_api, "250.00", "2025-10-12")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "returned_amount_below_returned"
    assert "300.00" in body["detail"] and "250.00" in body["detail"] and "reverse" in body["detail"]
    assert _ledger_state() == before


@pytest.mark.django_db
def test_a_total_above_the_float_is_a_400_on_returned_amount(admin_api, ledger, given):
    _return(admin_api, "300.00", "2025-10-10")
    before = _ledger_state()

    response = _return(admin_api, "500.01", "2025-10-12")

    assert response.status_code == 400
    assert "returned_amount" in response.json()
    assert _ledger_state() == before


@pytest.mark.django_db
def test_an_instalment_before_the_float_was_given_is_a_400_on_return_date(admin_api, ledger, given):
    response = _return(admin_api, "100.00", "2025-09-30")

    assert response.status_code == 400
    assert "return_date" in response.json()
    assert not FloatReturn.objects.exists()


@pytest.mark.django_db
def test_an_instalment_in_a_closed_period_is_refused(admin_api, ledger, given):
    _return(admin_api, "100.00", "2025-10-10")
    accounting_period_close(period_id="2025-11", user=ledger["user"])
    before = _ledger_state()

    response = _return(admin_api, "200.00", "2025-11-05")

    assert response.status_code == 409
    assert "2025-11" in response.json()["detail"]
    assert _ledger_state() == before


@pytest.mark.django_db
def test_an_instalment_in_a_signed_off_month_of_the_bank_is_refused(admin_api, ledger, given):
    _return(admin_api, "100.00", "2025-10-10")
    BankReconciliationFactory(bank_account=ledger["op"], status=ReconciliationState.FINALIZED)
    before = _ledger_state()

    response = _return(admin_api, "200.00", "2025-10-20")

    assert response.status_code == 409
    assert response.json()["code"] == "reconciliation_finalized"
    assert _ledger_state() == before
    # Dated in November, after the signed-off month, it posts.
    assert _return(admin_api, "200.00", "2025-11-03").status_code == 201


@pytest.mark.django_db
def test_only_a_posted_float_comes_back(ledger):
    draft = FloatAllocationFactory(id="fa-draft", branch=ledger["branch"], bank_account=ledger["op"])

    with pytest.raises(ConflictError, match="only a posted float"):
        posting.float_return_post(
            allocation_id=draft.pk,
            user=ledger["user"],
            returned_amount=D("100.00"),
            return_date=datetime.date(2025, 10, 10),
        )
    assert not FloatReturn.objects.exists()


@pytest.mark.django_db
def test_a_later_instalment_needs_its_own_date(ledger, given):
    posting.float_return_post(
        allocation_id="fa-1",
        user=ledger["user"],
        returned_amount=D("100.00"),
        return_date=datetime.date(2025, 10, 10),
    )

    with pytest.raises(DomainError) as caught:
        posting.float_return_post(allocation_id="fa-1", user=ledger["user"], returned_amount=D("200.00"))

    assert caught.value.field == "return_date"
    assert FloatReturn.objects.count() == 1


@pytest.mark.django_db
def test_a_return_recorded_on_the_float_posts_as_its_first_instalment(ledger):
    # Given a float whose return the clerk recorded on the draft (as the demo data does),
    allocation = FloatAllocationFactory(
        id="fa-rec",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        returned_amount=D("450.00"),
        return_date=datetime.date(2025, 12, 24),
    )
    posting.float_allocation_post(allocation_id=allocation.pk, user=ledger["user"])

    # when its return is posted without figures, then the recorded total and date are posted,
    back, created = posting.float_return_post(allocation_id=allocation.pk, user=ledger["user"])
    assert created and back.reference == "FR-fa-rec" and back.entry_date == datetime.date(2025, 12, 24)
    assert _summary("fa-rec")[:2] == (D("450.00"), FloatStatus.PARTIALLY_RETURNED)
    # and asking again is a retry.
    again, created = posting.float_return_post(allocation_id=allocation.pk, user=ledger["user"])
    assert (again.pk, created) == (back.pk, False)


# --- Reversing an instalment -------------------------------------------------------------


@pytest.mark.django_db
def test_reversing_an_instalment_mirrors_it_and_the_float_takes_a_new_one(admin_api, ledger, given):
    bank = ledger["op"].gl_account_id
    _return(admin_api, "200.00", "2025-10-10")
    second = _return(admin_api, "500.00", "2025-10-20").json()
    second_id = second["source_id"]
    assert _summary()[1] == FloatStatus.RETURNED

    # When the second instalment (300.00, counted wrong) is reversed on 10 November,
    response = _reverse(admin_api, second_id)

    # then its mirror posting is written, line for line, in November,
    assert response.status_code == 201, response.content
    reversal = response.json()
    assert reversal["reference"] == second["reference"] + "-REV"
    assert reversal["reverses_id"] == second["id"] and reversal["period"] == "2025-11"
    assert [(line["account_id"], line["debit"], line["credit"]) for line in reversal["lines"]] == [
        (line["account_id"], line["credit"], line["debit"]) for line in second["lines"]
    ]
    assert _balanced(reversal["reference"])
    # the return is marked reversed, with who, when, why,
    returned = FloatReturn.objects.get(pk=second_id)
    assert returned.posting_status == PostingStatus.REVERSED
    assert (returned.reversal_date, returned.reversal_reason) == (
        datetime.date(2025, 11, 10),
        "Counted twice",
    )
    assert (
        returned.reversal_gl_reference == reversal["reference"]
        and returned.reversed_by.username == "root-admin"
    )
    # and the float's summary and the books are back to the first instalment alone.
    assert _summary() == (D("200.00"), FloatStatus.PARTIALLY_RETURNED, datetime.date(2025, 10, 10), "FR-fa-1")
    assert (_balance(FLOATS), _balance(bank)) == (D("300.00"), D("-300.00"))
    listed = admin_api.get(f"{BASE}/float-allocations/fa-1").json()["returns"]
    assert [(r["id"], r["reversed"], r["reversal_gl_reference"]) for r in listed][1] == (
        second_id,
        True,
        reversal["reference"],
    )

    # When the right total (450.00) is then posted, the 250.00 more is a new instalment.
    again = _return(admin_api, "450.00", "2025-11-12")
    assert again.status_code == 201, again.content
    assert again.json()["total_debit"] == "250.00"
    assert _summary()[:2] == (D("450.00"), FloatStatus.PARTIALLY_RETURNED)
    assert FloatReturn.objects.get(pk=again.json()["source_id"]).number == 3


@pytest.mark.django_db
def test_reversing_every_return_puts_the_float_back_to_allocated(admin_api, ledger, given):
    _return(admin_api, "500.00", "2025-10-10")

    assert _reverse(admin_api, "fa-1").status_code == 201

    assert _summary() == (D("0.00"), FloatStatus.ALLOCATED, None, "")
    assert _balance(FLOATS) == D("500.00")


@pytest.mark.django_db
def test_a_return_is_reversed_once(admin_api, ledger, given):
    _return(admin_api, "200.00", "2025-10-10")
    assert _reverse(admin_api, "fa-1").status_code == 201
    before = _ledger_state()

    again = _reverse(admin_api, "fa-1")

    assert again.status_code == 409
    assert again.json()["code"] == "already_reversed"
    assert _ledger_state() == before


@pytest.mark.django_db
def test_reversing_a_return_answers_like_the_other_reverse_doors(admin_api, ledger, given):
    _return(admin_api, "200.00", "2025-10-10")
    before = _ledger_state()

    unknown = _reverse(admin_api, "fr-nope")
    no_reason = admin_api.post(
        f"{BASE}/float-returns/fa-1/reverse", {"reversal_date": "2025-11-10"}, format="json"
    )
    bad_date = _reverse(admin_api, "fa-1", day="2025-13-40")
    too_early = _reverse(admin_api, "fa-1", day="2025-10-09")
    accounting_period_close(period_id="2025-12", user=ledger["user"])
    closed = _reverse(admin_api, "fa-1", day="2025-12-01")
    BankReconciliationFactory(bank_account=ledger["op"], status=ReconciliationState.FINALIZED)
    signed_off = _reverse(admin_api, "fa-1", day="2025-10-20")

    assert unknown.status_code == 404
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert bad_date.status_code == 400 and "reversal_date" in bad_date.json()
    assert too_early.status_code == 400 and "reversal_date" in too_early.json()
    assert closed.status_code == 409 and "2025-12" in closed.json()["detail"]
    assert signed_off.status_code == 409 and signed_off.json()["code"] == "reconciliation_finalized"
    assert _ledger_state() == before


@pytest.mark.django_db
def test_reversing_a_return_needs_the_permission_to_reverse_a_float(api_client, ledger, given):
    from cnperp.tests.api import user_with_perms

    posting.float_return_post(
        allocation_id="fa-1",
        user=ledger["user"],
        returned_amount=D("100.00"),
        return_date=datetime.date(2025, 10, 9),
    )
    poster = user_with_perms("poster", "banking.post_floatallocation", "banking.view_floatallocation")
    api_client.force_authenticate(poster)

    assert _reverse(api_client, "fa-1").status_code == 403
    assert FloatReturn.objects.get(pk="fa-1").posting_status == PostingStatus.POSTED


@pytest.mark.django_db
def test_the_float_is_not_reversed_while_a_return_stands_and_is_once_they_are_reversed(
    admin_api, ledger, given
):
    first = _return(admin_api, "200.00", "2025-10-10").json()
    second = _return(admin_api, "300.00", "2025-10-12").json()
    reverse_float = {"reversal_date": "2025-11-10", "reason": "Float never left the bank"}

    refused = admin_api.post(f"{BASE}/float-allocations/fa-1/reverse", reverse_float, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "float_returned"
    detail = refused.json()["detail"]
    assert "Reverse its returns first" in detail
    assert first["reference"] in detail and second["reference"] in detail

    for item in (second, first):
        assert _reverse(admin_api, item["source_id"]).status_code == 201
    allowed = admin_api.post(f"{BASE}/float-allocations/fa-1/reverse", reverse_float, format="json")

    assert allowed.status_code == 201, allowed.content
    assert FloatAllocation.objects.get(pk="fa-1").posting_status == PostingStatus.REVERSED
    assert (_balance(FLOATS), _balance(ledger["op"].gl_account_id)) == (D("0.00"), D("0.00"))
    # A reversed float takes no return.
    assert _return(admin_api, "100.00", "2025-11-12").status_code == 409


# --- The admin ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _confirm(client, action, ids, **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "confirm": "yes", **fields}
    return client.post(changelist_url(FloatAllocation), data, follow=True)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.django_db
def test_the_admin_posts_instalments_shows_them_and_reverses_one(admin_client, ledger, given):
    # Given two instalments posted from the changelist (the total returned to date each time),
    for total, day in (("200.00", "2025-10-10"), ("350.00", "2025-10-20")):
        done = _confirm(admin_client, "post_return", ["fa-1"], return_date=day, returned_amount=total)
        assert "1 float allocation returned and posted." in _messages(done)
    second = FloatReturn.objects.get(allocation_id="fa-1", number=2)
    retry = _confirm(
        admin_client, "post_return", ["fa-1"], return_date="2025-10-20", returned_amount="350.00"
    )
    assert any("already posted" in message for message in _messages(retry))

    # the float's page lists both, each linked to its posting.
    page = admin_client.get(change_url(given)).content.decode()
    assert "FR-fa-1" in page and second.gl_reference in page
    assert "/admin/accounting/journalposting/?reference=FR-fa-1" in page

    # When the second is reversed through "Reverse one of its returns",
    form = admin_client.post(
        changelist_url(FloatAllocation),
        {"action": "reverse_return", ACTION_CHECKBOX_NAME: ["fa-1"], "index": 0},
    )
    assert form.status_code == 200 and "float_return" in form.context["form"].fields
    done = _confirm(
        admin_client,
        "reverse_return",
        ["fa-1"],
        float_return=second.pk,
        reversal_date="2025-11-10",
        reason="Counted twice",
    )

    # then it is reversed and the float's summary follows; the page shows the reversal.
    assert any(f"{second.gl_reference}-REV" in message for message in _messages(done))
    assert FloatReturn.objects.get(pk=second.pk).posting_status == PostingStatus.REVERSED
    assert _summary()[:2] == (D("200.00"), FloatStatus.PARTIALLY_RETURNED)
    assert f"{second.gl_reference}-REV" in admin_client.get(change_url(given)).content.decode()


@pytest.mark.django_db
def test_the_admin_reverses_a_return_of_one_float_at_a_time(admin_client, ledger, given):
    other = FloatAllocationFactory(id="fa-2", branch=ledger["branch"], bank_account=ledger["op"])
    posting.float_allocation_post(allocation_id=other.pk, user=ledger["user"])

    response = _confirm(
        admin_client, "reverse_return", ["fa-1", "fa-2"], reversal_date="2025-11-10", reason="x"
    )

    assert any("one float at a time" in message for message in _messages(response))
    assert JournalPosting.objects.filter(purpose="reverse").count() == 0


@pytest.mark.django_db
def test_the_admin_shows_references_as_text_to_a_reader_without_the_ledger(ledger, given):
    from cnperp.tests.api import user_with_perms

    posting.float_return_post(
        allocation_id="fa-1",
        user=ledger["user"],
        returned_amount=D("100.00"),
        return_date=datetime.date(2025, 10, 9),
    )
    reader = user_with_perms("reader", "banking.view_floatallocation")
    reader.is_staff = True
    reader.save()
    client = Client()
    client.force_login(reader)

    page = client.get(change_url(given)).content.decode()

    assert "FR-fa-1" in page
    assert "journalposting/?reference=FR-fa-1" not in page


# --- Several requests with the same total at once (MariaDB) -------------------------------


def _run_threads(work):
    errors, results, start = [], [], threading.Barrier(len(work))

    def run(job):
        try:
            start.wait()
            results.append(job())
        except Exception as exc:  # collected and asserted empty below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors, results


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_eight_requests_with_the_same_total_at_once_post_one_instalment():
    ledger = ledger_setup()
    FloatAllocationFactory(
        id="fa-race", branch=ledger["branch"], bank_account=ledger["op"], amount=D("500.00")
    )
    posting.float_allocation_post(allocation_id="fa-race", user=ledger["user"])

    def caller(total, day):
        def job():
            _posting, created = posting.float_return_post(
                allocation_id="fa-race", user=ledger["user"], returned_amount=D(total), return_date=day
            )
            return created

        return job

    # When eight callers send the first total at once, then one instalment is posted and the others
    # are answered with it;
    errors, created = _run_threads([caller("200.00", datetime.date(2025, 10, 10)) for _ in range(8)])
    assert errors == [] and sorted(created) == [False] * 7 + [True]
    # and so for the next total.
    errors, created = _run_threads([caller("450.00", datetime.date(2025, 10, 20)) for _ in range(8)])
    assert errors == [] and sorted(created) == [False] * 7 + [True]

    assert list(FloatReturn.objects.order_by("number").values_list("number", "amount")) == [
        (1, D("200.00")),
        (2, D("250.00")),
    ]
    assert JournalPosting.objects.filter(source_type=SourceType.FLOAT_RETURN).count() == 2
    assert _summary("fa-race")[:2] == (D("450.00"), FloatStatus.PARTIALLY_RETURNED)
    assert _balance(FLOATS) == D("50.00")


# --- The returns posted before instalments (banking 0011) ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_return_posted_before_instalments_keeps_its_posting_through_the_migration():
    from django.db.migrations.exceptions import IrreversibleError

    # Given the books as they were before banking 0011: a float of 500.00 whose 200.00 return
    # was posted once, as FR-<float> with the float's id as its source (the rules, the float and
    # the return's lines made first: today's models read columns that 0010 does not have yet),
    ledger = ledger_setup()
    allocation = FloatAllocationFactory(
        id="fa-old", branch=ledger["branch"], bank_account=ledger["op"], amount=D("500.00")
    )
    posting.float_allocation_post(allocation_id=allocation.pk, user=ledger["user"])
    bank_gl = {ledger["op"].pk: ledger["op"].gl_account_id}
    lines = float_allocation_lines(allocation, RuleBook.load(), bank_gl, amount=D("200.00"), returning=True)
    call_command("migrate", "banking", "0010", verbosity=0)
    old = journal_posting_create(
        source_type=SourceType.FLOAT_RETURN,
        source_id=allocation.pk,
        entry_date=datetime.date(2025, 10, 15),
        lines=lines,
        posted_by=ledger["user"],
        description="Float return fa-old from test-branch",
    )
    FloatAllocation.objects.filter(pk=allocation.pk).update(
        returned_amount=D("200.00"),
        return_date=datetime.date(2025, 10, 15),
        return_gl_reference=old.reference,
        status=FloatStatus.PARTIALLY_RETURNED,
    )

    # when the migration runs,
    call_command("migrate", "banking", verbosity=0)

    # then the return is a row with the float's id, linked to its posting as it was,
    carried = FloatReturn.objects.get(allocation_id="fa-old")
    assert (carried.pk, carried.number, carried.amount, carried.return_date) == (
        "fa-old",
        1,
        D("200.00"),
        datetime.date(2025, 10, 15),
    )
    assert (carried.gl_reference, carried.posted_by_id, carried.posting_status) == (
        "FR-fa-old",
        ledger["user"].pk,
        PostingStatus.POSTED,
    )
    assert posting.float_return_post(allocation_id="fa-old", user=ledger["user"])[0].pk == old.pk  # a retry
    # going back and forth keeps it so (nothing the old single return cannot say yet),
    call_command("migrate", "banking", "0010", verbosity=0)
    call_command("migrate", "banking", verbosity=0)
    assert FloatReturn.objects.get(pk="fa-old").gl_reference == "FR-fa-old"
    # the rest of the float comes back as a second instalment, and the old return can be reversed.
    _back, created = posting.float_return_post(
        allocation_id="fa-old",
        user=ledger["user"],
        returned_amount=D("500.00"),
        return_date=datetime.date(2025, 10, 25),
    )
    assert created and _summary("fa-old")[:2] == (D("500.00"), FloatStatus.RETURNED)
    reversal = posting.float_return_reverse(
        return_id="fa-old",
        user=ledger["user"],
        reversal_date=datetime.date(2025, 10, 26),
        reason="Wrong count",
    )
    assert reversal.reverses_id == old.pk
    assert _summary("fa-old")[:2] == (D("300.00"), FloatStatus.PARTIALLY_RETURNED)

    # And going back before 0011 is now refused: 0010 would read the float as returned once.
    with pytest.raises(IrreversibleError, match="fa-old"):
        call_command("migrate", "banking", "0010", verbosity=0)
    # (the migrations after 0011 were taken back before 0011 refused: forward again, as a deployment would)
    call_command("migrate", "banking", verbosity=0)
    assert FloatReturn.objects.filter(allocation_id="fa-old").count() == 2


@pytest.mark.django_db
def test_a_reversed_float_has_nothing_outstanding(admin_api, ledger, given):
    # The float was never given once reversed: the branch holds none of it, as its float account says
    reversed_ = admin_api.post(
        f"{BASE}/float-allocations/fa-1/reverse",
        {"reversal_date": "2025-10-20", "reason": "never left"},
        format="json",
    )
    shown = admin_api.get(f"{BASE}/float-allocations/fa-1").json()

    assert reversed_.status_code == 201, reversed_.content
    assert (shown["posting_status"], shown["outstanding_amount"]) == ("reversed", "0.00")


@pytest.mark.django_db
def test_a_return_recorded_but_not_posted_is_still_outstanding(admin_api, ledger):
    # Given a float recorded with 150.00 back, then posted: the return itself is not posted yet
    FloatAllocationFactory(
        id="fa-rec",
        branch=ledger["branch"],
        bank_account=ledger["op"],
        amount=D("400.00"),
        returned_amount=D("150.00"),
        return_date=datetime.date(2025, 10, 3),
    )
    posting.float_allocation_post(allocation_id="fa-rec", user=ledger["user"])

    # the branch still holds all 400.00, as the float account says, until the return is posted
    shown = admin_api.get(f"{BASE}/float-allocations/fa-rec").json()
    assert (shown["returned_amount"], shown["outstanding_amount"]) == ("150.00", "400.00")
    posting.float_return_post(allocation_id="fa-rec", user=ledger["user"])
    shown = admin_api.get(f"{BASE}/float-allocations/fa-rec").json()
    assert (shown["returned_amount"], shown["outstanding_amount"]) == ("150.00", "250.00")
