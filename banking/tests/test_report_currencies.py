"""Reports over several accounts never add two currencies.

With accounts kept in USD and EUR, the all-accounts cash position summed 1,000.00
USD and 500.00 EUR into 1,500.00 of nothing; so did the dimensional analysis, the
variance report and the admin's cash dashboard. A report over all accounts now
names its currency (``currency=EUR``), and is refused, naming the parameter,
when the accounts differ and none is named.
"""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from accounting.models import AccountingPeriod
from accounting.tests.factories import AccountingPeriodFactory, JournalEntryFactory, JournalPostingFactory
from banking import reports
from banking.tests.factories import BankAccountFactory, BankStatementFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/"
DAY = datetime.date(2025, 10, 6)


def _deposit(account, amount):
    period = AccountingPeriodFactory(id=AccountingPeriod.code_for(DAY))
    posting = JournalPostingFactory(entry_date=DAY, period=period)
    JournalEntryFactory(posting=posting, account=account.gl_account, entry_date=DAY, debit=Decimal(amount))


@pytest.fixture
def two_currencies():
    dollars = BankAccountFactory(id="ba-usd", name="Dollar account", currency="USD")
    euros = BankAccountFactory(id="ba-eur", name="Euro account", currency="EUR")
    _deposit(dollars, "1000.00")
    _deposit(euros, "500.00")
    BankStatementFactory(bank_account=euros, closing_balance=Decimal("520.00"))
    return dollars, euros


@pytest.mark.parametrize("report", ["cash-position", "dimensional-analysis", "variance-report"])
def test_all_accounts_in_two_currencies_must_name_one(admin_api, two_currencies, report):
    response = admin_api.get(URL + report, {"period": "2025-10"})

    assert response.status_code == 400
    body = response.json()
    assert "currency" in body
    assert "EUR, USD" in body["currency"][0]


def test_the_cash_position_of_one_currency_adds_only_its_accounts(admin_api, two_currencies):
    response = admin_api.get(URL + "cash-position", {"period": "2025-10", "currency": "eur"})

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR"
    assert [row["bank_account_id"] for row in body["accounts"]] == ["ba-eur"]
    assert body["totals"]["inflow"] == "500.00"
    assert body["totals"]["statement_closing_balance"] == "520.00"


def test_the_dimensional_analysis_and_variance_report_of_one_currency(admin_api, two_currencies):
    analysis = admin_api.get(URL + "dimensional-analysis", {"period": "2025-10", "currency": "USD"}).json()
    variance = admin_api.get(URL + "variance-report", {"period": "2025-10", "currency": "EUR"}).json()

    assert analysis["totals"]["inflow"] == "1000.00"
    assert [row["bank_account_id"] for row in variance["accounts"]] == ["ba-eur"]
    assert variance["accounts"][0]["variance"] == "20.00"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"currency": "GBP"}, "No bank account is kept in GBP"),
        ({"currency": "E1R"}, "three-letter"),
        ({"currency": "EURO"}, "no more than 3"),
        ({"bank_account_id": "ba-eur", "currency": "USD"}, "kept in EUR, not USD"),
    ],
)
def test_a_currency_that_does_not_fit_is_a_400_naming_it(admin_api, two_currencies, query, message):
    response = admin_api.get(URL + "cash-position", {"period": "2025-10", **query})

    assert response.status_code == 400
    assert message in response.json()["currency"][0]


def test_one_account_needs_no_currency_and_transfer_tracking_takes_none(admin_api, two_currencies):
    assert (
        admin_api.get(URL + "cash-position", {"period": "2025-10", "bank_account_id": "ba-usd"}).status_code
        == 200
    )
    response = admin_api.get(URL + "transfer-tracking", {"bank_account_id": "ba-usd", "currency": "USD"})
    assert response.status_code == 400
    assert "currency" in response.json()


def test_variance_alerts_still_look_at_every_account(two_currencies):
    alerts = reports.variance_alerts_get(period="2025-10")

    # Below the alert threshold: no alert, and no refusal for the mix of currencies either.
    assert alerts == []


def test_the_cash_dashboard_shows_one_currency_at_a_time(superuser, two_currencies):
    client = Client()
    client.force_login(superuser)
    url = "/admin/banking/bankaccount/cash-dashboard/"

    first = client.get(url, {"period": "2025-10"})
    euros = client.get(url, {"period": "2025-10", "currency": "EUR"})

    assert first.status_code == euros.status_code == 200
    # By default the first currency, with a choice of the others
    assert first.context["currency"] == "EUR"
    assert first.context["currencies"] == ["EUR", "USD"]
    assert 'name="currency"' in first.content.decode()
    dollars = client.get(url, {"period": "2025-10", "currency": "usd"})
    assert dollars.context["dashboard"]["totals"]["inflow"] == "1000.00"
    assert [row["bank_account_id"] for row in dollars.context["dashboard"]["accounts"]] == ["ba-usd"]
    assert euros.context["dashboard"]["totals"]["inflow"] == "500.00"
    assert "currency=EUR" in euros.context["next_url"]


def test_the_cash_dashboard_opens_on_the_currency_and_month_whose_books_moved_last(superuser, two_currencies):
    # Given a later deposit on the dollar account only (November), and an October for euros
    dollars, _euros = two_currencies
    november = datetime.date(2025, 11, 3)
    posting = JournalPostingFactory(entry_date=november, period=AccountingPeriodFactory(id="2025-11"))
    JournalEntryFactory(
        posting=posting, account=dollars.gl_account, entry_date=november, debit=Decimal("7.00")
    )
    client = Client()
    client.force_login(superuser)
    url = "/admin/banking/bankaccount/cash-dashboard/"

    # When it opens with nothing chosen, it shows dollars in November, not an empty euro November
    opened = client.get(url)
    assert (opened.context["currency"], opened.context["period"]) == ("USD", "2025-11")
    assert opened.context["dashboard"]["totals"]["inflow"] == "7.00"

    # and euros chosen without a month open on the euros' latest month
    euros = client.get(url, {"currency": "EUR"})
    assert (euros.context["currency"], euros.context["period"]) == ("EUR", "2025-10")
    assert euros.context["dashboard"]["totals"]["inflow"] == "500.00"
