"""October 2025 for account ``ba-op``: GL lines, a statement, book transactions, known answers.

Book: 1,000.00 before October (cost centre HQ), then +500.00 (HQ, project A),
-200.00 (North) and +300.00 (no dimension) in October, and 999.00 in November
(outside). Statement: opening 1,000.00, closing 1,587.50; its four lines are
the three movements and a bank fee of 12.50 nobody booked. A cheque of 150.00
(HQ, draft) has not reached the bank. Variance: 1,587.50 - 1,600.00 = -12.50.
"""

import datetime
from decimal import Decimal

from accounting.tests.factories import AccountingPeriodFactory, JournalEntryFactory
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)
from dimensions.tests.factories import CostCenterFactory, ProjectFactory


def d(month, day):
    return datetime.date(2025, month, day)


def october():
    """Create the month and return its objects by name."""
    AccountingPeriodFactory(id="2025-09")
    AccountingPeriodFactory(id="2025-10")
    AccountingPeriodFactory(id="2025-11")
    account = BankAccountFactory(id="ba-op", name="Operating")
    gl = account.gl_account
    hq = CostCenterFactory(id="cc-hq", name="Head office")
    north = CostCenterFactory(id="cc-north", name="North")
    project = ProjectFactory(id="prj-a", name="Project A")

    def gl_line(day, *, debit=0, credit=0, **dims):
        period = AccountingPeriodFactory(id=f"{day.year}-{day.month:02d}")
        return JournalEntryFactory(
            account=gl, debit=debit, credit=credit, posting__entry_date=day, posting__period=period, **dims
        )

    gl_line(d(9, 20), debit=Decimal("1000.00"), cost_center=hq)
    gl_line(d(10, 5), debit=Decimal("500.00"), cost_center=hq, project=project)
    gl_line(d(10, 12), credit=Decimal("200.00"), cost_center=north)
    gl_line(d(10, 20), debit=Decimal("300.00"))
    gl_line(d(11, 2), debit=Decimal("999.00"), cost_center=hq)

    t1 = BankTransactionFactory(
        id="bt-in-500",
        bank_account=account,
        amount=Decimal("500.00"),
        transaction_date=d(10, 5),
        end_to_end_id="E2E-1",
        cost_center=hq,
        project=project,
        posting_status="posted",
    )
    t2 = BankTransactionFactory(
        id="bt-out-200",
        bank_account=account,
        transaction_type="withdrawal",
        direction="out",
        amount=Decimal("200.00"),
        transaction_date=d(10, 12),
        reference="PAY-2",
        cost_center=north,
        posting_status="posted",
    )
    t3 = BankTransactionFactory(
        id="bt-in-300",
        bank_account=account,
        amount=Decimal("300.00"),
        transaction_date=d(10, 20),
        counterparty_name="Lotus Foods Ltd",
        posting_status="posted",
    )
    cheque = BankTransactionFactory(
        id="bt-chq-150",
        bank_account=account,
        transaction_type="cheque",
        direction="out",
        amount=Decimal("150.00"),
        transaction_date=d(10, 30),
        reference="CHQ-150",
        cost_center=hq,
    )
    statement = BankStatementFactory(
        bank_account=account, opening_balance=Decimal("1000.00"), closing_balance=Decimal("1587.50")
    )

    def line(key, day, amount, **fields):
        return StatementLineFactory(
            id=key, statement=statement, booking_date=day, amount=Decimal(amount), **fields
        )

    lines = {
        "in": line("sl-in-500", d(10, 6), "500.00", end_to_end_id="E2E-1"),
        "out": line("sl-out-200", d(10, 13), "-200.00", bank_reference="PAY-2"),
        "name": line("sl-in-300", d(10, 21), "300.00", counterparty_name="LOTUS FOODS LIMITED"),
        "fee": line("sl-fee", d(10, 31), "-12.50", narrative="ACCOUNT SERVICE FEE", bank_reference="FEE-10"),
    }
    return {
        "account": account,
        "statement": statement,
        "transactions": {"in": t1, "out": t2, "name": t3, "cheque": cheque},
        "lines": lines,
        "cost_centers": {"hq": hq, "north": north},
        "project": project,
    }
