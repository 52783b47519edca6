import datetime
from decimal import Decimal

import factory

from accounting.choices import AccountType
from accounting.tests.factories import AccountingPeriodFactory, GLAccountFactory
from banking.choices import Direction, PostingDocument, StatementFormat, TransactionType
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    ReconciliationMatch,
    StatementCsvProfile,
    StatementLine,
)
from dimensions.tests.factories import BranchFactory


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"ba-{n:03d}")
    name = factory.Sequence(lambda n: f"Account {n}")
    bank_name = "First National Bank"
    account_number = factory.Sequence(lambda n: f"0012{n:06d}")
    currency = "USD"
    gl_account = factory.SubFactory(
        GLAccountFactory,
        id=factory.LazyAttribute(lambda o: f"gl-bank-{o.factory_parent.id}"),
        code=factory.LazyAttribute(lambda o: f"1100-{o.factory_parent.id}"),
        name=factory.LazyAttribute(lambda o: f"Bank {o.factory_parent.id}"),
        account_type=AccountType.ASSET,
    )


class BankTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankTransaction

    id = factory.Sequence(lambda n: f"bt-{n:05d}")
    bank_account = factory.SubFactory(BankAccountFactory)
    transaction_type = TransactionType.DEPOSIT
    direction = Direction.IN
    amount = Decimal("100.00")
    transaction_date = datetime.date(2025, 10, 15)


class BankTransferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankTransfer

    from_bank_account = factory.SubFactory(BankAccountFactory)
    to_bank_account = factory.SubFactory(BankAccountFactory)
    amount = Decimal("1000.00")
    initiated_date = datetime.date(2025, 10, 10)


class BankTransferAllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankTransferAllocation

    transfer = factory.SubFactory(BankTransferFactory)
    from_bank_account = factory.LazyAttribute(lambda a: a.transfer.from_bank_account)
    to_bank_account = factory.LazyAttribute(lambda a: a.transfer.to_bank_account)
    amount = Decimal("1000.00")


class CashSubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CashSubmission

    branch = factory.SubFactory(BranchFactory)
    bank_account = factory.SubFactory(BankAccountFactory)
    submission_date = datetime.date(2025, 10, 14)
    expected_amount = Decimal("2500.00")


class FloatAllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FloatAllocation

    branch = factory.SubFactory(BranchFactory)
    bank_account = factory.SubFactory(BankAccountFactory)
    allocation_date = datetime.date(2025, 10, 1)
    amount = Decimal("500.00")


class PostingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostingRule

    document_type = PostingDocument.DEPOSIT
    contra_account = factory.SubFactory(GLAccountFactory, account_type=AccountType.INCOME)


class StatementCsvProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatementCsvProfile

    name = factory.Sequence(lambda n: f"Bank CSV {n}")
    date_column = "Date"
    amount_column = "Amount"
    description_column = "Description"


class BankStatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankStatement

    bank_account = factory.SubFactory(BankAccountFactory)
    format = StatementFormat.CAMT053
    statement_number = factory.Sequence(lambda n: f"STMT-{n:04d}")
    file_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    from_date = datetime.date(2025, 10, 1)
    to_date = datetime.date(2025, 10, 31)


class StatementLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatementLine

    statement = factory.SubFactory(BankStatementFactory)
    bank_account = factory.LazyAttribute(lambda line: line.statement.bank_account)
    line_number = factory.Sequence(lambda n: n + 1)
    booking_date = datetime.date(2025, 10, 15)
    amount = Decimal("100.00")
    dedupe_key = factory.Sequence(lambda n: f"ref-{n:06d}")


class ReconciliationMatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReconciliationMatch

    statement_line = factory.SubFactory(StatementLineFactory)
    bank_account = factory.LazyAttribute(lambda m: m.statement_line.bank_account)
    bank_transaction = factory.SubFactory(
        BankTransactionFactory, bank_account=factory.SelfAttribute("..bank_account")
    )
    group_key = factory.Sequence(lambda n: f"grp-{n:05d}")
    amount = Decimal("100.00")
    score = Decimal("95.00")
    stage = "exact_reference"
    reason = "Same end-to-end id"


class BankReconciliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankReconciliation

    bank_account = factory.SubFactory(BankAccountFactory)
    period = factory.SubFactory(AccountingPeriodFactory)
    reconciliation_date = datetime.date(2025, 10, 31)
