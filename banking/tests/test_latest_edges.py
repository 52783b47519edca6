"""Edges of the import, matcher and admin fixes, found by a review of those fixes.

- A transfer added on the rendered page (empty allocation rows) without allocations
  carries its own dimensions; only a recorded transfer must keep one.
- Bulk-deleted rows are logged with their ids (logged before the deletes, in their transaction).
- A UK or Irish IBAN names an 8-digit account number (known account-field widths).
- A statement repeated, or overlapping another, in one file stores a reference-less
  line once, as two files would; only a page continuing the one before counts on.
- A line booked in another currency keeps the suggestion an earlier run made.
- A newest-first CSV of one day reads its order from the balances it shows, with gaps.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.test import Client

from banking.choices import LineMatchStatus, MatchStatus
from banking.importers import csv_profile
from banking.matching import match_run
from banking.models import (
    BankAccount,
    BankTransfer,
    BankTransferAllocation,
    ReconciliationMatch,
    StatementCsvProfile,
    StatementLine,
)
from banking.statement_import import _is_this_account, statement_import
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from banking.tests.statement_files import camt_entry, camt_file, camt_statement
from cnperp.tests.admin_pages import add_url, changelist_url, form_data
from dimensions.tests.factories import CostCenterFactory

D = Decimal
pytestmark = pytest.mark.django_db
IBAN = "DE89370400440532013000"


@pytest.fixture
def staff(superuser, settings):
    settings.SECURE_SSL_REDIRECT = False
    client = Client()
    client.force_login(superuser)
    return client


def run(bank_account, content, file_name="statement.xml", **kwargs):
    return statement_import(
        bank_account=bank_account, content=content, file_name=file_name, user=None, **kwargs
    )


# --- Admin: a transfer added on the rendered add page without allocations -----------------------


def test_a_transfer_added_on_the_rendered_page_without_allocations_is_accepted(staff):
    # given the add page as a browser renders it: two empty extra allocation rows (extra = 2)
    BankAccountFactory(id="ba-op", name="Operating")
    BankAccountFactory(id="ba-pay", name="Payroll")
    CostCenterFactory(id="cc-hq")
    data = form_data(staff.get(add_url(BankTransfer)))
    assert data["allocations-TOTAL_FORMS"] == "2"
    data.update(
        {
            "id": "tr-admin-1",
            "from_bank_account": "ba-op",
            "to_bank_account": "ba-pay",
            "amount": "1000.00",
            "initiated_date": "2025-10-10",
            "reference": "PAYROLL-OCT",
            "cost_center": "cc-hq",
        }
    )

    # when the clerk saves it leaving the allocation rows empty (docs: empty = the transfer's own dimensions)
    response = staff.post(add_url(BankTransfer), data)

    # then it is created with one allocation of its own dimensions
    errors = []
    if response.status_code == 200:
        for inline in response.context["inline_admin_formsets"]:
            errors += list(inline.formset.non_form_errors())
    assert response.status_code == 302, errors
    (allocation,) = BankTransferAllocation.objects.filter(transfer_id="tr-admin-1")
    assert (allocation.amount, allocation.cost_center_id) == (D("1000.00"), "cc-hq")


# --- Admin: a bulk delete through RefusalAdmin logs the deleted rows' ids -----------------------


def test_bulk_deleted_bank_accounts_are_logged_with_their_ids(staff):
    BankAccountFactory(id="ba-old-1")
    BankAccountFactory(id="ba-old-2")

    staff.post(
        changelist_url(BankAccount),
        {"action": "delete_selected", "_selected_action": ["ba-old-1", "ba-old-2"], "post": "yes"},
        follow=True,
    )

    assert not BankAccount.objects.filter(pk__in=["ba-old-1", "ba-old-2"]).exists()
    logged = sorted(
        str(object_id)
        for object_id in LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True)
    )
    assert logged == ["ba-old-1", "ba-old-2"]


# --- Import: a UK IBAN names the account's 8-digit number --------------------------------------


@pytest.mark.parametrize(
    ("identifier", "number"),
    [
        ("GB29NWBK60161331926819", "31926819"),  # sort code 601613, account 31926819
        ("IE29AIBK93115212345678", "12345678"),  # sort code 931152, account 12345678
    ],
)
def test_an_iban_ending_with_a_uk_style_account_number_is_ours(identifier, number):
    mine = BankAccountFactory.build(id="ba-uk", iban="", account_number=number)

    # before b028f49..HEAD this was True (the IBAN ends with the number); the IBAN's account
    # field is exactly the 8-digit number, after the 6-digit sort code.
    assert _is_this_account(identifier, mine) is True


# --- Import: reference-less lines repeated by a later statement of the same file ---------------


def _import_account():
    return BankAccountFactory(id="ba-import", iban=IBAN, account_number="", currency="EUR")


def test_a_statement_repeated_in_one_file_stores_its_reference_less_line_once():
    # given one camt file in which the bank repeats a statement (same id, same entries): a
    # reference-less card payment and a payment with a reference
    bank_account = _import_account()
    entries = [
        camt_entry("5.00", sign="DBIT", name="Coffee Shop", text="Card"),
        camt_entry("10.00", reference="A1"),
    ]
    content = camt_file(
        [camt_statement(entries, statement_id="S-1"), camt_statement(entries, statement_id="S-1")]
    )

    result = run(bank_account, content)

    # then each payment is stored once, as the same two statements in two files would be
    # (the reference line is; the reference-less one is stored a second time as ":2")
    assert StatementLine.objects.filter(bank_account=bank_account, amount=D("10.00")).count() == 1
    assert StatementLine.objects.filter(bank_account=bank_account, amount=D("-5.00")).count() == 1, [
        (o.new_lines, o.duplicate_lines) for o in result.statements
    ]


def test_overlapping_statements_give_the_same_lines_in_one_file_as_in_two():
    # given two statements overlapping on 15 October (a reference-less card payment in both)
    card = camt_entry("5.00", sign="DBIT", name="Coffee Shop", text="Card", date="2025-10-15")
    first = camt_statement([camt_entry("1.00", date="2025-10-14", text="a"), card], statement_id="S-1")
    second = camt_statement([card, camt_entry("2.00", date="2025-10-16", text="b")], statement_id="S-2")

    one_file = _import_account()
    run(one_file, camt_file([first, second]))
    two_files = BankAccountFactory(id="ba-import-2", iban=IBAN, account_number="", currency="EUR")
    run(two_files, camt_file([first]))
    run(two_files, camt_file([second]))

    def stored(account):
        return sorted(StatementLine.objects.filter(bank_account=account).values_list("amount", flat=True))

    assert stored(one_file) == stored(two_files) == [D("-5.00"), D("1.00"), D("2.00")]


# --- Matcher: a foreign-currency line's old suggestion is removed, its status left "suggested" --


def test_a_foreign_currency_line_suggested_earlier_is_not_left_suggested_without_a_suggestion():
    from accounting.tests.factories import AccountingPeriodFactory

    AccountingPeriodFactory(id="2025-10")
    ba = BankAccountFactory(id="ba-op", currency="EUR")
    statement = BankStatementFactory(bank_account=ba, opening_balance=D("0.00"), closing_balance=D("0.00"))
    # given a USD line a previous run suggested (before lines in another currency were left out)
    usd = StatementLineFactory(
        statement=statement,
        booking_date=datetime.date(2025, 10, 15),
        amount=D("250.00"),
        currency="USD",
        dedupe_key="k-usd",
        match_status=LineMatchStatus.SUGGESTED,
    )
    book = BankTransactionFactory(
        bank_account=ba, amount=D("250.00"), transaction_date=datetime.date(2025, 10, 15)
    )
    ReconciliationMatch.objects.create(
        bank_account=ba,
        statement_line=usd,
        bank_transaction=book,
        group_key="grp-old",
        amount=D("250.00"),
        score=D("80.00"),
        stage="amount_date",
        reason="old",
        status=MatchStatus.SUGGESTED,
    )
    # and an EUR line of the month, so the run has lines to consider
    StatementLineFactory(
        statement=statement,
        booking_date=datetime.date(2025, 10, 20),
        amount=D("12.34"),
        currency="EUR",
        dedupe_key="k-eur",
    )

    match_run(bank_account_id="ba-op", period="2025-10")

    usd.refresh_from_db()
    still_suggested = ReconciliationMatch.objects.filter(
        statement_line=usd, status=MatchStatus.SUGGESTED
    ).exists()
    # the line's status must agree with its matches: suggested only while a suggestion exists
    assert (usd.match_status == LineMatchStatus.SUGGESTED) == still_suggested, (
        usd.match_status,
        still_suggested,
    )


# --- CSV: newest first, one day, a balance missing on one row -----------------------------------


def test_csv_newest_first_one_day_with_a_balance_missing_on_a_middle_row():
    profile = StatementCsvProfile(
        name="Rev",
        date_column="Date",
        amount_column="Amount",
        description_column="Description",
        balance_column="Balance",
    )
    content = (
        b"Date,Amount,Description,Balance\n"
        b"2025-10-15,-30.00,Third,1170.00\n"
        b"2025-10-15,200.00,Second,\n"
        b"2025-10-15,50.00,First,1000.00\n"
    )
    [statement] = csv_profile.parse(content, profile)
    assert (statement.opening_balance, statement.closing_balance) == (D("950.00"), D("1170.00"))
