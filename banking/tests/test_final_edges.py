"""Edges of the last transfer, matcher and import fixes, found by a review of them.

- A transfer between two currencies recorded before that was refused can still be
  failed or received, and its description changed in the admin (the check used
  to run on every save: a 400 on a field the request did not have, a 500 in the admin).
- A run that matches a transaction drops the suggestion a line in another
  currency kept for it.
- A UK account number written with its sort code is still found in an IBAN.
"""

import datetime
from decimal import Decimal

import pytest

from banking.choices import LineMatchStatus, MatchStatus, ReconciliationStatus, TransferStatus
from banking.matching import match_run
from banking.models import BankTransfer, ReconciliationMatch
from banking.statement_import import _is_this_account
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    BankTransferAllocationFactory,
    BankTransferFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup

D = Decimal
pytestmark = pytest.mark.django_db
BASE = "/api/v1/banking"


# --- Transfers in two currencies recorded before the check ------------------------------------


def _legacy_fx_transfer(ledger):
    """A USD -> EUR transfer in transit, recorded before BankTransfer.clean refused such pairs."""
    eur = BankAccountFactory(id="ba-eur", name="Euro account", currency="EUR")
    assert ledger["op"].currency.upper() != "EUR"
    transfer = BankTransferFactory(
        id="tr-fx-old",
        from_bank_account=ledger["op"],
        to_bank_account=eur,
        amount=D("1000.00"),
        status=TransferStatus.IN_TRANSIT,
    )
    BankTransferAllocationFactory(transfer=transfer, amount=D("1000.00"))
    BankTransactionFactory(
        id="bt-fx-out",
        bank_account=ledger["op"],
        transaction_type="transfer",
        direction="out",
        amount=D("1000.00"),
        transfer=transfer,
    )
    return transfer


def test_a_cross_currency_transfer_recorded_earlier_can_still_be_marked_failed(admin_api):
    _legacy_fx_transfer(ledger_setup())

    response = admin_api.post(
        f"{BASE}/transfers/tr-fx-old/fail", {"reason": "Booked 1:1 by mistake"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert BankTransfer.objects.get(pk="tr-fx-old").status == TransferStatus.FAILED


# --- Matcher: a kept foreign-currency suggestion on a transaction the run matches --------------


def test_match_run_leaves_no_suggestion_on_a_transaction_it_matched():
    from accounting.tests.factories import AccountingPeriodFactory

    AccountingPeriodFactory(id="2025-10")
    ba = BankAccountFactory(id="ba-op", currency="EUR")
    statement = BankStatementFactory(bank_account=ba, opening_balance=D("0.00"), closing_balance=D("0.00"))
    book = BankTransactionFactory(
        bank_account=ba,
        amount=D("250.00"),
        transaction_date=datetime.date(2025, 10, 15),
        reference="INV-778899",
    )
    # an earlier run suggested a USD line for the transaction
    usd = StatementLineFactory(
        statement=statement,
        booking_date=datetime.date(2025, 10, 15),
        amount=D("250.00"),
        currency="USD",
        dedupe_key="k-usd",
        match_status=LineMatchStatus.SUGGESTED,
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
    # the EUR line that is the transaction, carrying its reference
    StatementLineFactory(
        statement=statement,
        booking_date=datetime.date(2025, 10, 15),
        amount=D("250.00"),
        currency="EUR",
        bank_reference="INV-778899",
        narrative="INV-778899",
        dedupe_key="k-eur",
    )

    result = match_run(bank_account_id="ba-op", period="2025-10")
    usd.refresh_from_db()

    book.refresh_from_db()
    assert result.transactions_matched == 1
    assert book.reconciliation_status == ReconciliationStatus.MATCHED
    left = list(
        ReconciliationMatch.objects.filter(bank_transaction=book, status=MatchStatus.SUGGESTED).values_list(
            "statement_line_id", flat=True
        )
    )
    # the USD line stays "suggested", its one suggestion offering a matched transaction
    # (accepting it is a 409); before c9dd135 the run deleted it and the line was unmatched
    assert left == [], (usd.match_status, "a suggestion still offers the transaction the run just matched")


# --- Import: an account number that holds the UK sort code ------------------------------------


def test_a_uk_iban_names_an_account_number_written_with_its_sort_code():
    mine = BankAccountFactory.build(id="ba-uk", iban="", account_number="60-16-13 31926819")

    assert _is_this_account("GB29NWBK60161331926819", mine) is True


def test_the_description_of_a_cross_currency_transfer_recorded_earlier_can_be_changed_in_the_admin(
    superuser, settings
):
    from django.test import Client

    from cnperp.tests.admin_pages import change_url, form_data

    settings.SECURE_SSL_REDIRECT = False
    staff = Client(raise_request_exception=False)
    staff.force_login(superuser)
    transfer = _legacy_fx_transfer(ledger_setup())
    data = form_data(staff.get(change_url(transfer)))
    data["description"] = "Booked 1:1 by mistake; to be failed"

    response = staff.post(change_url(transfer), data)

    # Not a 500: the model's check named to_bank_account, a read-only field of the change form.
    assert response.status_code == 302, response.status_code
    transfer.refresh_from_db()
    assert transfer.description == "Booked 1:1 by mistake; to be failed"
