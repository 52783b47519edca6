"""Statement import and matcher edges a second review found.

- Two identical card payments on two pages of one MT940 statement are both kept
  (per-page counting made the second page's a "repeat").
- A CSV with a running balance, newest rows first, all of one day, reads its
  order from the balances.
- A file for account 37040044/9123456 is not ours because our number is 123456.
- The matcher does not confirm a line booked in another currency.
- A cheque booked late in one month and cashed early in the next is found.
- The statement balances of same-day pages come from the first and last page.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting.tests.factories import AccountingPeriodFactory
from banking.choices import MatchStatus
from banking.importers import csv_profile
from banking.matching import match_run
from banking.models import ReconciliationMatch, StatementCsvProfile, StatementLine
from banking.reconciliation import reconcile_banking_by_dimension
from banking.statement_import import statement_import
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from cnperp.exceptions import DomainError

D = Decimal
pytestmark = pytest.mark.django_db
IBAN = "DE89370400440532013000"


def account(**fields):
    defaults = {"id": "ba-rev", "iban": IBAN, "account_number": "", "currency": "EUR"}
    return BankAccountFactory(**{**defaults, **fields})


def run(bank_account, content, file_name="statement.sta", **kwargs):
    return statement_import(
        bank_account=bank_account, content=content, file_name=file_name, user=None, **kwargs
    )


def mt940_page(page, opening, closing, lines, *, opening_tag="60F", closing_tag="62F"):
    body = [":20:STMT1", f":25:{IBAN}", f":28C:00005/{page:03d}", f":{opening_tag}:{opening}"]
    for statement_line, details in lines:
        body += [f":61:{statement_line}", f":86:{details}"]
    body.append(f":{closing_tag}:{closing}")
    return "\r\n".join(body) + "\r\n-\r\n"


def test_identical_card_payments_on_two_pages_of_one_mt940_statement_both_kept():
    ba = account()
    card = ("2510151015D5,00NMSCNONREF", "CARD PAYMENT BAKERY")
    content = (
        mt940_page(1, "C251014EUR1000,00", "C251015EUR995,00", [card], closing_tag="62M")
        + mt940_page(2, "C251015EUR995,00", "C251015EUR990,00", [card], opening_tag="60M")
    ).encode()

    result = run(ba, content)

    assert result.new_lines == 2
    assert StatementLine.objects.filter(bank_account=ba).count() == 2


def csv_profile_obj(**fields):
    defaults = {
        "name": "Rev",
        "date_column": "Date",
        "amount_column": "Amount",
        "description_column": "Description",
        "balance_column": "Balance",
    }
    return StatementCsvProfile(**{**defaults, **fields})


def test_csv_running_balance_newest_first_within_one_day():
    content = (
        b"Date,Amount,Description,Balance\n"
        b"2025-10-15,-30.00,Third,1170.00\n"
        b"2025-10-15,200.00,Second,1200.00\n"
        b"2025-10-15,50.00,First,1000.00\n"
    )
    [statement] = csv_profile.parse(content, csv_profile_obj())
    assert statement.opening_balance == D("950.00")
    assert statement.closing_balance == D("1170.00")
    assert statement.is_consistent is True


def test_file_of_another_account_whose_number_ends_with_ours_is_refused():
    ours = account(iban="", account_number="123456")
    content = mt940_page(1, "C251014EUR1000,00", "C251015EUR995,00", [("2510151015D5,00NMSCNONREF", "X")])
    content = content.replace(IBAN, "37040044/9123456").encode()
    with pytest.raises(DomainError):
        run(ours, content)


OCT = datetime.date(2025, 10, 1)


def day(n):
    return OCT + datetime.timedelta(days=n - 1)


@pytest.fixture
def op_account():
    AccountingPeriodFactory(id="2025-10")
    return BankAccountFactory(id="ba-op", currency="EUR")


def stmt(ba):
    return BankStatementFactory(bank_account=ba, opening_balance=D("0.00"), closing_balance=D("0.00"))


def test_matcher_does_not_confirm_a_line_in_another_currency(op_account):
    line = StatementLineFactory(
        statement=stmt(op_account),
        booking_date=day(15),
        amount=D("250.00"),
        currency="USD",
        counterparty_name="ACME GmbH",
        dedupe_key="k-usd",
    )
    book = BankTransactionFactory(
        bank_account=op_account, amount=D("250.00"), transaction_date=day(15), counterparty_name="ACME GmbH"
    )

    match_run(bank_account_id="ba-op", period="2025-10")

    assert not ReconciliationMatch.objects.filter(
        statement_line=line, bank_transaction=book, status=MatchStatus.CONFIRMED
    ).exists()


def test_a_line_in_another_currency_is_not_matched_or_recorded_by_hand(op_account):
    # Given a USD line of 250.00 on the EUR account, and a EUR transaction of 250.00
    from accounting.tests.factories import UserFactory
    from banking.matching import match_manual, statement_line_create_transaction
    from banking.models import BankTransaction

    line = StatementLineFactory(
        statement=stmt(op_account),
        booking_date=day(15),
        amount=D("-250.00"),
        currency="usd",
        dedupe_key="k-usd",
    )
    book = BankTransactionFactory(
        bank_account=op_account, amount=D("250.00"), direction="out", transaction_type="withdrawal"
    )
    clerk = UserFactory(username="clerk")

    # When a person matches them, or records the line as a fee, both are refused naming the line
    with pytest.raises(DomainError, match="is in USD, the account in EUR") as refused:
        match_manual(statement_line_ids=[line.pk], transaction_ids=[book.pk], user=clerk)
    assert refused.value.field == "statement_line_ids"
    with pytest.raises(DomainError, match="is in USD, the account in EUR") as refused:
        statement_line_create_transaction(statement_line_id=line.pk, user=clerk, transaction_type="fee")
    assert refused.value.field == "statement_line_id"

    # and nothing changed: no match, no new transaction, the line still open
    assert not ReconciliationMatch.objects.exists()
    assert list(BankTransaction.objects.values_list("pk", flat=True)) == [book.pk]
    line.refresh_from_db()
    assert line.match_status == "unmatched"


def test_open_lines_in_another_currency_are_counted_but_kept_out_of_the_total(op_account, admin_api):
    # Given two open EUR lines (one naming no currency) and two USD lines on the EUR account
    statement = stmt(op_account)
    for key, amount, currency in (
        ("k-eur", "-12.50", "EUR"),
        ("k-none", "-7.25", ""),
        ("k-usd-1", "1000.00", "USD"),
        ("k-usd-2", "-0.10", "usd"),
    ):
        StatementLineFactory(
            statement=statement, booking_date=day(20), amount=D(amount), currency=currency, dedupe_key=key
        )

    # When the reconciliation of the month is read through the API
    month = {"bank_account_id": "ba-op", "period": "2025-10"}
    answer = admin_api.get("/api/v1/banking/reconciliation", month)

    # Then the four lines are open, but only the EUR ones add up to the total; the USD ones
    # are given apart, per currency, and each listed line says its currency
    assert answer.status_code == 200, answer.content
    lines = answer.json()["unmatched_statement_lines"]
    assert lines["count"] == 4
    assert lines["total"] == "-19.75"
    assert lines["other_currencies"] == [{"currency": "USD", "count": 2, "total": "999.90"}]
    assert sorted((item["amount"], item["currency"]) for item in lines["items"]) == [
        ("-0.10", "USD"),
        ("-12.50", "EUR"),
        ("-7.25", "EUR"),
        ("1000.00", "USD"),
    ]
    unassigned = answer.json()["dimensions"]["cost_center"][-1]
    assert (unassigned["key"], unassigned["unmatched_statement_amount"]) == ("unassigned", "-19.75")

    # and the command prints the same figures, the USD ones apart
    out = io.StringIO()
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", stdout=out)
    assert "unmatched statement lines  4, -19.75" in out.getvalue()
    assert "of which in USD      2, 999.90 (not in the total)" in out.getvalue()


def test_cheque_booked_late_september_cashed_early_october_is_found_by_its_reference(op_account):
    # 13 days apart, inside the fuzzy stage's three windows (15 days), the reference on the line
    line = StatementLineFactory(
        statement=stmt(op_account),
        booking_date=day(3),
        amount=D("-500.00"),
        narrative="CHEQUE CHQ 004711 PAID",
        dedupe_key="k-chq",
    )
    book = BankTransactionFactory(
        bank_account=op_account,
        amount=D("500.00"),
        direction="out",
        transaction_type="withdrawal",
        transaction_date=datetime.date(2025, 9, 20),
        reference="CHQ-004711",
    )

    match_run(bank_account_id="ba-op", period="2025-10")

    assert ReconciliationMatch.objects.filter(statement_line=line, bank_transaction=book).exists()


def test_reconciliation_takes_opening_of_page_1_and_closing_of_page_2_of_a_same_day_statement(op_account):
    # Two pages of one MT940 statement (:28C:00005/001 and /002), both dated 15 October: page 1
    # opens at 1000.00 and ends at the intermediate 995.00 (:62M:), page 2 goes on from 995.00 (:60M:)
    # to 990.00 (:62F:). Statement ids are random ("st-<hex>"): here page 2 happens to sort first.
    common = {"bank_account": op_account, "from_date": day(15), "to_date": day(15), "format": "mt940"}
    BankStatementFactory(
        id="st-b",
        statement_number="STMT1/00005/001",
        opening_balance=D("1000.00"),
        closing_balance=D("995.00"),
        **common,
    )
    BankStatementFactory(
        id="st-a",
        statement_number="STMT1/00005/002",
        opening_balance=D("995.00"),
        closing_balance=D("990.00"),
        **common,
    )

    result = reconcile_banking_by_dimension("ba-op", "2025-10")

    assert (result["statement_opening_balance"], result["statement_closing_balance"]) == (
        D("1000.00"),
        D("990.00"),
    )


@pytest.mark.parametrize(
    ("identifier", "ours"),
    [
        ("37040044/0123456", True),
        ("37040044/123456", True),
        ("37040044/9123456", False),
        ("DE89370400440000123456", True),
        ("DE89370400440009123456", False),
        ("0000123456", True),
        ("9123456", False),
    ],
)
def test_an_account_number_is_recognised_only_as_a_whole_field(identifier, ours):
    from banking.statement_import import _is_this_account

    mine = BankAccountFactory.build(id="ba-num", iban="", account_number="123456")

    assert _is_this_account(identifier, mine) is ours
