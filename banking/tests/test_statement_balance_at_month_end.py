"""A month's statement balances are the balances on its first and last days, whatever the statement's span.

A statement running on past the month's end (or begun before its start) states the balances of its
own first and last days; the month took them as its own, so a long statement's final balance showed
as the closing balance of every month it covered, "within threshold". A statement whose lines are
booked after the month of the end date it states closes after them: that month took their money
as in the bank, and then the next month listed the same lines as open.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from banking import reports
from banking.models import BankStatement, StatementLine
from banking.reconciliation import reconcile_banking_by_dimension
from banking.tests.factories import BankAccountFactory, BankStatementFactory, StatementLineFactory
from banking.tests.statement_files import sample

pytestmark = pytest.mark.django_db

D = Decimal
d = datetime.date


@pytest.fixture
def long_statement():
    """ba-long's statement of 1 October to 15 November: 1,000.00, then +200 (Oct), -50 (Oct), +300 (Nov)."""
    account = BankAccountFactory(id="ba-long")
    statement = BankStatementFactory(
        bank_account=account,
        from_date=d(2025, 10, 1),
        to_date=d(2025, 11, 15),
        opening_balance=D("1000.00"),
        closing_balance=D("1450.00"),
    )
    for day, amount in ((d(2025, 10, 3), "200.00"), (d(2025, 10, 20), "-50.00"), (d(2025, 11, 4), "300.00")):
        StatementLineFactory(statement=statement, booking_date=day, amount=D(amount))
    return account


def test_a_statement_running_past_the_month_gives_the_months_last_day_balance(long_statement):
    october = reconcile_banking_by_dimension("ba-long", "2025-10")
    november = reconcile_banking_by_dimension("ba-long", "2025-11")

    # October closes after its own lines (1,000 + 200 - 50), not at the statement's 15 November.
    assert (october["statement_opening_balance"], october["statement_closing_balance"]) == (
        D("1000.00"),
        D("1150.00"),
    )
    # November opens where October closed (the statement began before it) and closes with it.
    assert (november["statement_opening_balance"], november["statement_closing_balance"]) == (
        D("1150.00"),
        D("1450.00"),
    )


def test_the_reports_take_the_same_month_end_balance(long_statement):
    cash = reports.cash_position_get(bank_account_id="ba-long", period="2025-10")
    variance = reports.variance_report_get(bank_account_id="ba-long", period="2025-10")

    assert cash["totals"]["statement_closing_balance"] == D("1150.00")
    assert variance["totals"]["statement_closing_balance"] == D("1150.00")


def test_lines_booked_after_the_end_a_statement_states_are_not_in_that_months_balance(admin_api):
    # The SIX camt.053 sample states 30 April 2016 as its end, yet 18 of its entries (1,620.00)
    # are booked on 27 May; its closing balance adds up all of them.
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    response = admin_api.post(
        "/api/v1/banking/statements/import",
        {
            "file": SimpleUploadedFile("six.xml", sample("camt/camt053_six_v4.xml")),
            "bank_account_id": "ba-six",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    statement = BankStatement.objects.get()
    lines = StatementLine.objects.filter(bank_account_id="ba-six")
    may = lines.filter(booking_date__gte=d(2016, 5, 1)).aggregate(total=Sum("amount"))["total"]
    assert may == D("1620.00")

    april = reconcile_banking_by_dimension("ba-six", "2016-04")
    may_month = reconcile_banking_by_dimension("ba-six", "2016-05")

    # The statement keeps the end it states, and records what its closing holds beyond that month;
    assert (statement.to_date, statement.later_lines_total) == (d(2016, 4, 30), may)
    # April closes before May's lines
    assert april["statement_closing_balance"] == statement.closing_balance - may
    # and May, where those lines are booked, lists them open (no statement of May yet).
    assert may_month["unmatched_statement_lines"]["total"] == may


def test_a_later_statement_s_lines_are_not_taken_off_the_month_before(long_statement):
    # The next statement's own lines on the days the long one runs past October are the same
    # bank lines, stored once: October still closes at 1,150.00.
    november = BankStatementFactory(
        bank_account=long_statement,
        from_date=d(2025, 11, 1),
        to_date=d(2025, 11, 30),
        opening_balance=D("1150.00"),
        closing_balance=D("1480.00"),
    )
    StatementLineFactory(statement=november, booking_date=d(2025, 11, 20), amount=D("30.00"))

    assert reconcile_banking_by_dimension("ba-long", "2025-10")["statement_closing_balance"] == D("1150.00")
    november_result = reconcile_banking_by_dimension("ba-long", "2025-11")
    assert (november_result["statement_opening_balance"], november_result["statement_closing_balance"]) == (
        D("1150.00"),
        D("1480.00"),
    )


def test_the_migration_fills_in_what_stored_statements_hold_beyond_their_month(admin_api):
    # Statements imported before banking 0016 had no later_lines_total: it is worked out from
    # their stored lines, as the import now records it.
    import importlib

    from django.apps import apps

    migration = importlib.import_module("banking.migrations.0016_statement_later_lines")
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    admin_api.post(
        "/api/v1/banking/statements/import",
        {
            "file": SimpleUploadedFile("six.xml", sample("camt/camt053_six_v4.xml")),
            "bank_account_id": "ba-six",
        },
        format="multipart",
    )
    imported = BankStatement.objects.get().later_lines_total
    BankStatement.objects.update(later_lines_total=0)

    migration.later_lines_of_stored_statements(apps, None)

    assert imported == D("1620.00")
    assert BankStatement.objects.get().later_lines_total == imported


def _statement(account, number, start, end, opening, lines, fmt="camt053", closing=None):
    statement = BankStatementFactory(
        bank_account=account,
        statement_number=number,
        format=fmt,
        from_date=start,
        to_date=end,
        opening_balance=D(opening),
        closing_balance=D(closing) if closing else D(opening) + sum(D(a) for _day, a in lines),
    )
    for day, amount in lines:
        StatementLineFactory(statement=statement, booking_date=day, amount=D(amount))
    return statement


def test_statements_running_from_the_25th_give_each_month_its_first_and_last_days_balances():
    # Given a bank whose statements run from the 25th to the 24th: 1,000.00 on 25 September, then
    # +10 (28 Sep), +20 (5 Oct), +30 (20 Oct) | +40 (28 Oct), +50 (10 Nov)
    account = BankAccountFactory(id="ba-25")
    lines_a = ((d(2025, 9, 28), "10.00"), (d(2025, 10, 5), "20.00"), (d(2025, 10, 20), "30.00"))
    _statement(account, "A", d(2025, 9, 25), d(2025, 10, 24), "1000.00", lines_a)
    _statement(
        account,
        "B",
        d(2025, 10, 25),
        d(2025, 11, 24),
        "1060.00",
        ((d(2025, 10, 28), "40.00"), (d(2025, 11, 10), "50.00")),
    )

    months = {
        code: reconcile_banking_by_dimension("ba-25", code) for code in ("2025-09", "2025-10", "2025-11")
    }
    balances = {
        code: (result["statement_opening_balance"], result["statement_closing_balance"])
        for code, result in months.items()
    }

    # Then each month opens where the one before closed, and moves by its own lines
    assert balances == {
        "2025-09": (D("1000.00"), D("1010.00")),
        "2025-10": (D("1010.00"), D("1100.00")),
        "2025-11": (D("1100.00"), D("1150.00")),
    }
    october_lines = StatementLine.objects.filter(booking_date__month=10).aggregate(t=Sum("amount"))["t"]
    assert balances["2025-10"][1] - balances["2025-10"][0] == october_lines
    cash = reports.cash_position_get(bank_account_id="ba-25", period="2025-10")
    assert cash["totals"]["statement_closing_balance"] == D("1100.00")


def test_a_days_interim_report_does_not_replace_the_days_closing_statement():
    # Given November's camt.053 (1,000.00, then +100, +5 and +7: 1,112.00) and, imported after it,
    # a camt.052 interim report of 30 November at noon (1,100.00 then +5: 1,105.00)
    account = BankAccountFactory(id="ba-ing")
    _statement(
        account,
        "NOV-2025",
        d(2025, 11, 1),
        d(2025, 11, 30),
        "1000.00",
        ((d(2025, 11, 10), "100.00"), (d(2025, 11, 30), "5.00"), (d(2025, 11, 30), "7.00")),
    )
    _statement(
        account,
        "RPT-2025-11-30-1200",
        d(2025, 11, 30),
        d(2025, 11, 30),
        "1100.00",
        (),
        fmt="camt052",
        closing="1105.00",
    )

    november = reconcile_banking_by_dimension("ba-ing", "2025-11")

    # Then the month closes at the day's closing balance, whatever the numbers' order
    assert november["statement_closing_balance"] == D("1112.00")
    cash = reports.cash_position_get(bank_account_id="ba-ing", period="2025-11")
    assert cash["totals"]["statement_closing_balance"] == D("1112.00")


def test_a_month_whose_first_statement_begins_after_its_first_day_opens_before_that_statements_lines():
    # Given daily statements of 2 and 3 October only (nothing happened on the 1st): the month opens
    # at the 2nd's opening and closes after the 3rd's lines
    account = BankAccountFactory(id="ba-day")
    _statement(account, "D-02", d(2025, 10, 2), d(2025, 10, 2), "500.00", ((d(2025, 10, 2), "25.00"),))
    _statement(account, "D-03", d(2025, 10, 3), d(2025, 10, 3), "525.00", ((d(2025, 10, 3), "-5.00"),))

    october = reconcile_banking_by_dimension("ba-day", "2025-10")

    assert (october["statement_opening_balance"], october["statement_closing_balance"]) == (
        D("500.00"),
        D("520.00"),
    )


def test_a_month_end_interim_report_does_not_beat_a_whole_statement_running_past_the_month():
    # Given a camt.053 of 25 October to 24 November (1,000.00, then +100 on 28 Oct, +25 on 31 Oct,
    # +10 on 3 Nov) and a camt.052 interim report of 31 October at noon (1,100.00, +50: 1,150.00)
    account = BankAccountFactory(id="ba-noon")
    whole = ((d(2025, 10, 28), "100.00"), (d(2025, 10, 31), "25.00"), (d(2025, 11, 3), "10.00"))
    _statement(account, "C-1", d(2025, 10, 25), d(2025, 11, 24), "1000.00", whole)
    _statement(
        account, "RPT-31", d(2025, 10, 31), d(2025, 10, 31), "1100.00", (), fmt="camt052", closing="1150.00"
    )

    # Then October closes after all its lines (1,000 + 100 + 25), not at the noon report's figure
    october = reconcile_banking_by_dimension("ba-noon", "2025-10")
    assert october["statement_closing_balance"] == D("1125.00")
    cash = reports.cash_position_get(bank_account_id="ba-noon", period="2025-10")
    assert cash["totals"]["statement_closing_balance"] == D("1125.00")


def test_a_statements_own_lines_booked_after_its_end_are_counted_once():
    # Given the only statement of October, 1 to 24 October: 1,000.00, +100 (10 Oct) and +20 booked
    # on 27 October (after the end it states), closing 1,120.00
    account = BankAccountFactory(id="ba-late")
    _statement(
        account,
        "L-1",
        d(2025, 10, 1),
        d(2025, 10, 24),
        "1000.00",
        ((d(2025, 10, 10), "100.00"), (d(2025, 10, 27), "20.00")),
    )

    # Then October closes at 1,120.00: the line of the 27th is in the closing once, not twice
    october = reconcile_banking_by_dimension("ba-late", "2025-10")
    assert october["statement_closing_balance"] == D("1120.00")


def test_a_statement_running_past_the_month_with_its_own_line_after_its_end_leaves_it_out():
    # Given a statement of 20 October to 5 November (1,000.00, +30 on 25 Oct, +40 on 3 Nov and +5
    # booked on 8 November, after its stated end), closing 1,075.00
    account = BankAccountFactory(id="ba-past")
    lines = ((d(2025, 10, 25), "30.00"), (d(2025, 11, 3), "40.00"), (d(2025, 11, 8), "5.00"))
    _statement(account, "P-1", d(2025, 10, 20), d(2025, 11, 5), "1000.00", lines)

    # Then October closes at 1,030.00: neither November line is in it
    october = reconcile_banking_by_dimension("ba-past", "2025-10")
    assert october["statement_closing_balance"] == D("1030.00")


def _chain(account_id, *codes):
    months = [reconcile_banking_by_dimension(account_id, code) for code in codes]
    return [(m["statement_opening_balance"], m["statement_closing_balance"]) for m in months]


def test_a_line_booked_after_its_statements_end_is_in_the_next_statements_opening_once():
    # Given statements of the 25th to the 24th, the first with a line booked on 26 February, after
    # the end it states (its closing holds it, and so the next one's opening)
    account = BankAccountFactory(id="ba-v3")
    first = ((d(2026, 1, 28), "100.00"), (d(2026, 2, 10), "20.00"), (d(2026, 2, 26), "50.00"))
    _statement(account, "V3-1", d(2026, 1, 25), d(2026, 2, 24), "1000.00", first)
    _statement(
        account,
        "V3-2",
        d(2026, 2, 25),
        d(2026, 3, 24),
        "1170.00",
        ((d(2026, 2, 27), "7.00"), (d(2026, 3, 5), "3.00")),
    )
    _statement(account, "V3-3", d(2026, 3, 25), d(2026, 4, 24), "1180.00", ((d(2026, 3, 27), "1.00"),))

    # Then February holds the late line (booked in it) and March opens where February closed
    assert _chain("ba-v3", "2026-02", "2026-03") == [
        (D("1100.00"), D("1177.00")),
        (D("1177.00"), D("1181.00")),
    ]


def test_a_month_opens_without_a_line_the_statement_before_booked_in_it():
    # Given January's statement with a line booked on 2 February (closing 1,150.00 with it), and
    # February's, which opens at that closing and does not repeat the line
    account = BankAccountFactory(id="ba-v1")
    _statement(
        account,
        "V1-JAN",
        d(2026, 1, 1),
        d(2026, 1, 31),
        "1000.00",
        ((d(2026, 1, 10), "100.00"), (d(2026, 2, 2), "50.00")),
    )
    _statement(account, "V1-FEB", d(2026, 2, 1), d(2026, 2, 28), "1150.00", ((d(2026, 2, 10), "10.00"),))
    BankStatement.objects.filter(statement_number="V1-JAN").update(later_lines_total=D("50.00"))

    # Then the months chain: January closes before the line, February opens there and adds it
    assert _chain("ba-v1", "2026-01", "2026-02") == [
        (D("1000.00"), D("1100.00")),
        (D("1100.00"), D("1160.00")),
    ]


def test_a_month_ending_on_a_noon_report_closes_at_the_next_days_opening():
    # Given only interim reports: 31 January at noon (1,000.00, +100: 1,100.00) and 1 February,
    # which opens at 1,150.00 (the rest of the 31st came in after noon)
    account = BankAccountFactory(id="ba-noon2")
    _statement(
        account,
        "R-0131",
        d(2026, 1, 31),
        d(2026, 1, 31),
        "1000.00",
        ((d(2026, 1, 31), "100.00"),),
        fmt="camt052",
    )
    _statement(
        account, "R-0201", d(2026, 2, 1), d(2026, 2, 1), "1150.00", ((d(2026, 2, 1), "10.00"),), fmt="camt052"
    )

    # Then January closes at the day's end as the next report opens, and February chains on
    assert reconcile_banking_by_dimension("ba-noon2", "2026-01")["statement_closing_balance"] == D("1150.00")
    assert reconcile_banking_by_dimension("ba-noon2", "2026-02")["statement_opening_balance"] == D("1150.00")
    cash = reports.cash_position_get(bank_account_id="ba-noon2", period="2026-01")
    assert cash["totals"]["statement_closing_balance"] == D("1150.00")


def test_a_line_booked_months_after_its_statement_is_counted_in_its_own_month_only():
    # Given January's statement with a line booked on 5 March (+50, in its closing), then February
    # (+10) and March (+3) statements, each opening where the one before closed
    account = BankAccountFactory(id="ba-far")
    _statement(
        account,
        "F-JAN",
        d(2026, 1, 1),
        d(2026, 1, 31),
        "1000.00",
        ((d(2026, 1, 10), "100.00"), (d(2026, 3, 5), "50.00")),
    )
    _statement(account, "F-FEB", d(2026, 2, 1), d(2026, 2, 28), "1150.00", ((d(2026, 2, 10), "10.00"),))
    _statement(account, "F-MAR", d(2026, 3, 1), d(2026, 3, 31), "1160.00", ((d(2026, 3, 20), "3.00"),))
    BankStatement.objects.filter(statement_number="F-JAN").update(later_lines_total=D("50.00"))

    # Then the months chain, and the line counts in March
    assert _chain("ba-far", "2026-01", "2026-02", "2026-03") == [
        (D("1000.00"), D("1100.00")),
        (D("1100.00"), D("1110.00")),
        (D("1110.00"), D("1163.00")),
    ]


def test_a_line_booked_late_after_a_later_statement_in_the_month_is_counted_once():
    # Given the statement of 1 to 15 January with a line booked on 25 January (+50), and the one of
    # 16 to 20 January opening where it closed: January's closing holds the line once
    account = BankAccountFactory(id="ba-mid")
    _statement(
        account,
        "M-A",
        d(2026, 1, 1),
        d(2026, 1, 15),
        "1000.00",
        ((d(2026, 1, 5), "100.00"), (d(2026, 1, 25), "50.00")),
    )
    _statement(account, "M-B", d(2026, 1, 16), d(2026, 1, 20), "1150.00", ((d(2026, 1, 18), "10.00"),))

    assert reconcile_banking_by_dimension("ba-mid", "2026-01")["statement_closing_balance"] == D("1160.00")
