"""The Django admin under bad and hostile input, as finance staff use it.

Change lists asked for garbage (impossible dates, broken regular expressions,
unknown lookups, odd ordering and paging), add forms fed bad amounts, dates and
text, and actions run on mixed or forged selections. Each must answer with the
admin's own error handling (a form error on the field, a message, the "bad
filter" page), never a 5xx, and change nothing.
"""

import datetime
import html
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounting.models import AccountingPeriod, JournalEntry, JournalPosting
from banking.choices import PostingStatus
from banking.models import (
    BankAccount,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    ReconciliationMatch,
    StatementLine,
)
from banking.posting import bank_transaction_post, bank_transaction_reverse, float_allocation_post
from banking.tests.factories import (
    BankStatementFactory,
    BankTransactionFactory,
    FloatAllocationFactory,
    StatementCsvProfileFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from cnperp.roles import AUDITOR
from cnperp.tests.admin_pages import add_url, changelist_url, management_form
from dimensions.models import CostCenter

pytestmark = pytest.mark.django_db

OCT_20 = datetime.date(2025, 10, 20)


@pytest.fixture
def ledger():
    return ledger_setup()


@pytest.fixture
def staff(superuser):
    # Answers, not exceptions: a 5xx is what these tests look for.
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


@pytest.fixture
def auditor():
    """A staff member of the auditor role: reads every list, changes nothing."""
    user = get_user_model().objects.create_user(username="auditor-2", password="Audit-pass-2025!")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=AUDITOR))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _fingerprint():
    """Row counts of what the admin's forms and actions write."""
    models = (
        BankAccount,
        BankTransaction,
        CashSubmission,
        FloatAllocation,
        BankTransfer,
        BankTransferAllocation,
        BankStatement,
        StatementLine,
        JournalPosting,
        JournalEntry,
        AccountingPeriod,
        CostCenter,
    )
    return {model.__name__: model.objects.count() for model in models}


def _answered_by_the_admin(response):
    """The list page, the admin's "bad filter" page (a redirect to ?e=1), or its 400 for a refused lookup."""
    if response.status_code in (200, 400):
        return True
    return response.status_code == 302 and f"{ERROR_FLAG}=1" in response["Location"]


# --- Change lists: impossible dates --------------------------------------------------
#
# The admin takes any local field lookup from the URL. A year outside 1..9999 only
# fails when the query is compiled, after the admin's own handling of bad lookups.
# cnperp.admin.DateLookupGuard catches "<field>__year=99999" on some screens; these
# get through it.

LEDGER_LISTS_WITHOUT_THE_GUARD = [
    (JournalEntry, "entry_date__year=99999"),
    (JournalEntry, "posted_at__year=99999"),
    (JournalPosting, "posted_at__year=99999"),
    (BankStatement, "from_date__year=99999"),
    (StatementLine, "value_date__year=99999"),
    (ReconciliationMatch, "decided_at__year=99999"),
    (BankTransferAllocation, "created_at__year=99999"),
]


@pytest.mark.parametrize(
    ("model", "query"),
    LEDGER_LISTS_WITHOUT_THE_GUARD,
    ids=[f"{m.__name__}-{q}" for m, q in LEDGER_LISTS_WITHOUT_THE_GUARD],
)
def test_a_read_only_list_asked_for_an_impossible_year_answers_without_a_server_error(auditor, model, query):
    # given the ledger and statement screens (ViewOnlyAdmin), which an auditor reads
    # when the year in the URL cannot be a date
    response = auditor.get(f"{changelist_url(model)}?{query}")

    # then the admin says the filter is wrong, as it does on the document screens
    assert _answered_by_the_admin(response), response.status_code


def _date_lists():
    """Every registered list with a date or date-time column, and that column's name."""
    from django.db import models

    lists = []
    for model in admin.site._registry:
        dates = [
            field.name
            for field in model._meta.get_fields()
            if isinstance(field, (models.DateField, models.DateTimeField)) and field.concrete
        ]
        if dates:
            lists.append((model, dates[0]))
    return lists


def test_every_list_with_a_date_refuses_an_impossible_year_without_a_server_error(staff):
    # Every registered admin, the users, groups and API tokens included (the user list was a 500
    # for ?date_joined__year=99999 once re-registered without the guard).
    asked = []
    for model, field in _date_lists():
        url = f"{changelist_url(model)}?{field}__year=99999"
        response = staff.get(url)
        assert _answered_by_the_admin(response), (url, response.status_code)
        asked.append(model._meta.label)
    assert {"auth.User", "banking.BankTransaction", "accounting.JournalEntry"} <= set(asked), asked


def test_every_date_drilldown_at_the_last_year_answers_without_a_server_error(staff):
    # The drilldown above a list filters up to the next year, month or day: 9999 had none (a 500).
    asked = []
    for model, model_admin in admin.site._registry.items():
        field = model_admin.date_hierarchy
        if not field:
            continue
        for query in ("year=9999", "year=9999&{f}__month=12", "year=9999&{f}__month=12&{f}__day=31"):
            url = f"{changelist_url(model)}?{field}__{query.format(f=field)}"
            response = staff.get(url)
            assert _answered_by_the_admin(response), (url, response.status_code)
        asked.append(model._meta.label)
    assert {"banking.BankTransaction", "auditlog.LogEntry"} <= set(asked), asked


@pytest.mark.parametrize(
    "query",
    [
        "resource_type=abc",
        "resource_type=",
        "resource_type=%27",
        "resource_type=%F0%9F%98%80",
        "resource_type=%D9%A5",
        "timestamp__year=99999999999999999999",
    ],
)
def test_the_audit_trail_list_names_a_filter_it_cannot_apply(staff, query):
    BankTransactionFactory()  # an entry in the trail: the filter by kind of record shows only then
    assert LogEntry.objects.exists()

    response = staff.get(f"/admin/auditlog/logentry/?{query}", follow=True)

    assert response.status_code == 200
    assert "This list cannot be filtered by" in html.unescape(response.content.decode())


DATE_LOOKUPS_THE_GUARD_MISSES = [
    (BankTransaction, "transaction_date__iso_year=99999"),
    (BankTransaction, "transaction_date__year__gt=99999"),
    (BankTransaction, "transaction_date__year__gte=99999"),
    (CashSubmission, "submission_date__year__lt=99999"),
    (AccountingPeriod, "start_date__iso_year=99999"),
    (CostCenter, "created_at__year__gt=99999"),
    (BankTransaction, "transaction_date__year__lte=0"),
]


@pytest.mark.parametrize(
    ("model", "query"),
    DATE_LOOKUPS_THE_GUARD_MISSES,
    ids=[f"{m.__name__}-{q}" for m, q in DATE_LOOKUPS_THE_GUARD_MISSES],
)
def test_an_impossible_year_spelled_as_iso_year_or_a_comparison_answers_without_a_server_error(
    staff, model, query
):
    response = staff.get(f"{changelist_url(model)}?{query}")

    assert _answered_by_the_admin(response), response.status_code


# --- Change lists: a broken regular expression ---------------------------------------

REGEX_QUERIES = [
    (BankTransaction, "id__regex=("),
    (BankTransaction, "reference__iregex=["),
    (JournalEntry, "reference__regex=*"),
    (CostCenter, "code__regex=("),
]


@pytest.mark.parametrize(
    ("model", "query"), REGEX_QUERIES, ids=[f"{m.__name__}-{q}" for m, q in REGEX_QUERIES]
)
def test_a_broken_regular_expression_in_a_list_url_is_not_reported_as_a_database_outage(
    auditor, model, query
):
    # when a list is asked to filter by a regular expression MariaDB cannot compile
    response = auditor.get(f"{changelist_url(model)}?{query}")

    # then it is the admin's "bad filter" answer, not a 503 "the database is unavailable"
    # (which also counts a database outage in the metrics and logs an ERROR)
    assert response.status_code != 503, response.content[:200]
    assert _answered_by_the_admin(response), response.status_code


# --- Change lists: other garbage (guards) --------------------------------------------

LIST_GARBAGE = [
    "o=99",
    "o=abc",
    "o=1.99.-99",
    "q=%25",
    "q=_",
    "q=%00",
    "q=%ED%A0%80",
    "q=" + "x" * 3000,
    "id__in=",
    "nope__exact=1",
    "id__nope=1",
    "p=99999",
    "p=-1",
    "period=2025-13",
    "period=%00",
    "created_at__gte=notadate",
    "is_active__exact=maybe",
    "_to_field=password",
]


@pytest.mark.parametrize("query", LIST_GARBAGE)
def test_every_list_answers_garbage_in_its_query_string_without_a_server_error(staff, ledger, query):
    """Guard: every registered screen, every garbage query: a page, the bad-filter page or a 400."""
    failures = []
    for model in admin.site._registry:
        response = staff.get(f"{changelist_url(model)}?{query}")
        if response.status_code >= 500:
            failures.append((model.__name__, response.status_code))
    assert not failures


# --- Add forms: a non-positive amount --------------------------------------------------


def _transaction(**changes):
    return {
        "id": "bt-hostile-1",
        "bank_account": "ba-op",
        "transaction_type": "deposit",
        "direction": "",
        "amount": "100.00",
        "transaction_date": "2025-10-20",
        "reference": "DEP-1",
        **changes,
    }


def _submission(**changes):
    return {
        "id": "cs-hostile-1",
        "branch": "test-branch",
        "bank_account": "ba-op",
        "submission_date": "2025-10-20",
        "expected_amount": "100.00",
        "status": "submitted",
        **changes,
    }


def _float(**changes):
    return {
        "id": "fa-hostile-1",
        "branch": "test-branch",
        "bank_account": "ba-op",
        "allocation_date": "2025-10-20",
        "amount": "100.00",
        "returned_amount": "0",
        **changes,
    }


def _transfer(**changes):
    return {
        "id": "tr-hostile-1",
        "from_bank_account": "ba-op",
        "to_bank_account": "ba-sav",
        "amount": "100.00",
        "initiated_date": "2025-10-10",
        **management_form("allocations", total=0),
        **changes,
    }


NON_POSITIVE = [
    (BankTransaction, _transaction, "amount", "-5.00"),
    (BankTransaction, _transaction, "amount", "0"),
    (CashSubmission, _submission, "expected_amount", "-5.00"),
    (CashSubmission, _submission, "deposited_amount", "-5.00"),
    (FloatAllocation, _float, "amount", "0"),
    (FloatAllocation, _float, "returned_amount", "-5.00"),
    # The service says "More cannot come back than was allocated" on returned_amount; the
    # form's constraint check answers first, with the constraint's name.
    (FloatAllocation, _float, "returned_amount", "200.00"),
    (BankTransfer, _transfer, "amount", "-5.00"),
]


@pytest.mark.parametrize(
    ("model", "form", "field", "value"),
    NON_POSITIVE,
    ids=[f"{m.__name__}-{f}={v}" for m, _form, f, v in NON_POSITIVE],
)
def test_a_bad_amount_is_refused_on_its_own_field_in_plain_words(staff, ledger, model, form, field, value):
    before = _fingerprint()

    response = staff.post(add_url(model), form(**{field: value}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    # Rule 7: the answer names the field; a clerk cannot act on 'Constraint "x" is violated.'
    assert field in errors, dict(errors)
    assert "Constraint" not in str(errors), dict(errors)
    assert _fingerprint() == before


def test_a_negative_allocation_of_a_transfer_is_refused_on_its_amount(staff, ledger):
    before = _fingerprint()
    data = _transfer(**management_form("allocations", total=2))
    data.update({"allocations-0-amount": "-50.00", "allocations-1-amount": "150.00"})

    response = staff.post(add_url(BankTransfer), data)

    assert response.status_code == 200
    (allocations,) = [inline.formset for inline in response.context["inline_admin_formsets"]]
    assert "amount" in allocations.forms[0].errors, allocations.forms[0].errors
    assert "Constraint" not in str(allocations.forms[0].errors)
    assert _fingerprint() == before


# --- Add forms: other bad values (guards) ---------------------------------------------

BAD_TRANSACTION_VALUES = [
    ("amount", "1.001"),
    ("amount", "1" + "0" * 20),
    ("amount", "NaN"),
    ("amount", "Infinity"),
    ("amount", "   "),
    ("amount", "\x00"),
    ("transaction_date", "0001-01-01"),
    ("transaction_date", "9999-12-31"),
    ("transaction_date", "2025-02-30"),
    ("transaction_date", "2025-10-20\x00"),
    ("value_date", "1899-12-31"),
    ("reference", "x" * 10_000),
    ("reference", "a\x00b"),
    ("description", "x" * 10_000),
    ("counterparty_name", "a\x00b"),
    ("id", "has space"),
    ("id", "a" * 65),
    ("id", "../x"),
    ("bank_account", "ba-nowhere"),
    ("cost_center", "cc-hq\x00"),
    ("direction", "sideways"),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_TRANSACTION_VALUES, ids=[f"{f}-{v[:12]!r}" for f, v in BAD_TRANSACTION_VALUES]
)
def test_a_bad_value_on_the_transaction_form_is_named_and_saves_nothing(staff, ledger, field, value):
    """Guard: each bad value comes back on its own field, and nothing is written."""
    before = _fingerprint()

    response = staff.post(add_url(BankTransaction), _transaction(**{field: value}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert _fingerprint() == before


# --- Actions on mixed and forged selections (guards) -----------------------------------


def _act(client, model, action, ids, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "index": 0, **extra}
    return client.post(changelist_url(model), data, follow=True)


def _confirm(client, model, action, ids, **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: list(ids), "confirm": "yes", **fields}
    return client.post(changelist_url(model), data, follow=True)


def _messages(response):
    return " | ".join(str(message) for message in response.context["messages"])


@pytest.fixture
def mixed(ledger, superuser):
    """A draft, a posted and a reversed transaction of ba-op."""
    for pk in ("bt-draft", "bt-posted", "bt-reversed"):
        BankTransactionFactory(id=pk, bank_account=ledger["op"], transaction_date=OCT_20)
    bank_transaction_post(transaction_id="bt-posted", user=superuser)
    bank_transaction_post(transaction_id="bt-reversed", user=superuser)
    bank_transaction_reverse(
        transaction_id="bt-reversed", user=superuser, reversal_date=OCT_20, reason="wrong customer"
    )
    return ledger


def _states():
    return dict(BankTransaction.objects.values_list("pk", "posting_status"))


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_reversing_a_mixed_selection_on_a_date_outside_the_books_reverses_nothing(staff, mixed, day):
    """Guard: the reversal date is refused per document with the reason; no posting is written."""
    states, postings = _states(), JournalPosting.objects.count()

    response = _confirm(
        staff,
        BankTransaction,
        "reverse_posted",
        ["bt-draft", "bt-posted", "bt-reversed"],
        reversal_date=day,
        reason="x",
    )

    assert response.status_code == 200
    assert "outside the books" in _messages(response)
    assert _states() == states
    assert JournalPosting.objects.count() == postings


def test_reversing_a_mixed_selection_reverses_the_posted_one_and_names_the_others(staff, mixed):
    """Guard: a draft and an already reversed one are refused by name; the posted one is reversed once."""
    postings = JournalPosting.objects.count()

    response = _confirm(
        staff,
        BankTransaction,
        "reverse_posted",
        ["bt-draft", "bt-posted", "bt-reversed", "bt-nowhere", "\x00"],
        reversal_date="2025-10-21",
        reason="Booked twice",
    )

    shown = _messages(response)
    assert response.status_code == 200
    assert "1 bank transaction reversed" in shown
    assert "bt-draft" in shown and "bt-reversed" in shown
    assert _states() == {
        "bt-draft": PostingStatus.DRAFT,
        "bt-posted": PostingStatus.REVERSED,
        "bt-reversed": PostingStatus.REVERSED,
    }
    assert JournalPosting.objects.count() == postings + 1


@pytest.mark.parametrize("amount", ["1.001", "-1", "NaN", "Infinity", "1e400", "   ", "1" + "0" * 20])
def test_a_bad_returned_amount_for_floats_is_named_and_returns_nothing(staff, ledger, superuser, amount):
    """Guard: the float-return page names the returned amount; no float changes, no posting."""
    for pk in ("fa-1", "fa-2"):
        FloatAllocationFactory(
            id=pk, bank_account=ledger["op"], branch=ledger["branch"], amount=Decimal("100.00")
        )
        float_allocation_post(allocation_id=pk, user=superuser)
    floats = list(FloatAllocation.objects.order_by("pk").values_list("pk", "returned_amount", "status"))
    postings = JournalPosting.objects.count()

    response = _confirm(
        staff,
        FloatAllocation,
        "post_return",
        ["fa-1", "fa-2"],
        return_date="2025-10-25",
        returned_amount=amount,
    )

    assert response.status_code == 200
    assert "returned_amount" in response.context["form"].errors
    assert (
        list(FloatAllocation.objects.order_by("pk").values_list("pk", "returned_amount", "status")) == floats
    )
    assert JournalPosting.objects.count() == postings


# --- Statement upload with bad amounts and dates (guard) --------------------------------

CSV_HEADER = b"Date,Amount,Description\n"


@pytest.mark.parametrize(
    "row",
    [
        b"2025-10-01,1.001,x",
        b"2025-10-01,NaN,x",
        b"2025-10-01,-Infinity,x",
        b"2025-10-01,1e5,x",
        b"2025-10-01,100000000000000000000,x",
        b"0001-01-01,1.00,x",
        b"9999-12-31,1.00,x",
    ],
)
def test_an_uploaded_csv_with_a_bad_amount_or_date_is_refused_on_the_file_and_imports_nothing(
    staff, ledger, row
):
    profile = StatementCsvProfileFactory()
    before = _fingerprint()
    good = b"2025-10-02,5.00,fine\n"

    response = staff.post(
        "/admin/banking/bankstatement/import/",
        {
            "bank_account": "ba-op",
            "format": "csv",
            "profile": profile.pk,
            "file": SimpleUploadedFile("s.csv", CSV_HEADER + good + row + b"\n"),
        },
    )

    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert _fingerprint() == before


# --- Workbench filters not yet covered (guard) -----------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("amount_min=NaN", "amount_min"),
        ("amount_max=Infinity", "amount_max"),
        ("date_from=0000-00-00", "date_from"),
        ("page=1e3", "page"),
        ("status=%00", "status"),
    ],
)
def test_the_workbench_lists_refuse_a_non_finite_amount_or_odd_paging_naming_the_parameter(
    staff, ledger, query, field
):
    statement = BankStatementFactory(bank_account=ledger["op"])
    StatementLineFactory(statement=statement, bank_account=ledger["op"], booking_date=OCT_20)

    response = staff.get(f"/admin/banking/bankaccount/ba-op/reconcile/2025-10/lines/?{query}")

    assert response.status_code == 400
    assert response.json()["field"] == field
