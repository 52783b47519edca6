"""A small posted ledger with fixed data, for the operations tests (backups, rollback, load)."""

import datetime
from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup


def posted_ledger():
    """Create the posting chart, five draft transactions in October 2025, and post them."""
    ledger = ledger_setup()
    for number in range(1, 6):
        BankTransactionFactory(
            id=f"bt-ops-{number}",
            bank_account=ledger["op"],
            amount=Decimal(f"{number}25.50"),
            transaction_date=datetime.date(2025, 10, number),
            cost_center=ledger["cc"],
        )
    call_command("post_transactions", "--all-drafts", verbosity=0, stdout=StringIO())
    return ledger
