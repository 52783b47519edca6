"""``manage.py load_demo``: the demo company, its idempotency, bulk rows and their postings."""

import datetime
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum

from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from banking.choices import Direction, PostingDocument, PostingStatus, TransactionType
from banking.demo import dimension_combinations
from banking.models import (
    BankAccount,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    StatementCsvProfile,
)
from banking.reconciliation import reconcile_banking_by_dimension
from dimensions.models import Branch, CostCenter, Department, Project

pytestmark = pytest.mark.django_db

COUNTED = [
    Branch,
    CostCenter,
    Project,
    Department,
    GLAccount,
    AccountingPeriod,
    BankAccount,
    PostingRule,
    StatementCsvProfile,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    JournalPosting,
    JournalEntry,
    DimensionAssignment,
]

# The deployment guide's GL balancing query, as written (MariaDB and SQLite both accept the alias).
GUIDE_BALANCING_QUERY = """
SELECT
    reference,
    SUM(debit) as total_debit,
    SUM(credit) as total_credit,
    ABS(SUM(debit) - SUM(credit)) as imbalance
FROM journal_entries
GROUP BY reference
HAVING imbalance > 0.01
"""


def load_demo(*args):
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_demo_builds_the_promised_company():
    # Given an empty database
    # When the demo is loaded
    load_demo()

    # Then the company has the guide's branch, account and cost centre among its master data
    assert Branch.objects.count() == 3
    assert Branch.objects.filter(pk="test-branch").exists()
    assert BankAccount.objects.count() == 4
    operating = BankAccount.objects.get(pk="ba-op")
    assert operating.iban.startswith("GB")
    assert operating.gl_account.account_type == "asset"
    # Each bank account has its own GL account.
    assert BankAccount.objects.values("gl_account").distinct().count() == 4
    head_office = CostCenter.objects.get(pk="cc-hq")
    assert head_office.parent is None
    assert head_office.children.count() >= 2
    assert Project.objects.filter(parent__isnull=False).exists()
    assert Department.objects.filter(parent__isnull=False).exists()
    # And every document type has a default posting rule, so everything can be posted
    defaults = set(
        PostingRule.objects.filter(bank_account=None, branch=None).values_list("document_type", flat=True)
    )
    assert defaults == set(PostingDocument.values)
    assert StatementCsvProfile.objects.count() == 1
    # And twelve periods, 2025-01 to 2025-12, the guide's 2025-10 among them
    assert list(AccountingPeriod.objects.values_list("pk", flat=True)) == [
        f"2025-{month:02d}" for month in range(1, 13)
    ]


def test_demo_year_has_hundreds_of_transactions_in_every_month():
    # Given an empty database
    # When the demo is loaded
    load_demo()

    # Then there are hundreds of transactions, in each of the twelve months
    transactions = BankTransaction.objects.all()
    assert 300 <= transactions.count() < 2000
    months = Counter(
        AccountingPeriod.code_for(day) for day in transactions.values_list("transaction_date", flat=True)
    )
    assert sorted(months) == [f"2025-{month:02d}" for month in range(1, 13)]
    assert min(months.values()) >= 30
    # And the first nine months are posted, the last quarter left in draft for finance staff
    posted_months = {
        AccountingPeriod.code_for(day)
        for day in transactions.filter(posting_status=PostingStatus.POSTED).values_list(
            "transaction_date", flat=True
        )
    }
    assert posted_months == {f"2025-{month:02d}" for month in range(1, 10)}
    assert not transactions.filter(
        transaction_date__lt="2025-10-01", posting_status=PostingStatus.DRAFT
    ).exists()
    assert (
        transactions.filter(transaction_date__gte="2025-10-01")
        .exclude(posting_status=PostingStatus.DRAFT)
        .count()
        == 0
    )
    assert JournalEntry.objects.filter(source_id__startswith="bt-demo-").exists()
    # And every kind a statement holds, with some lines left without any dimension
    assert {
        TransactionType.DEPOSIT,
        TransactionType.WITHDRAWAL,
        TransactionType.FEE,
        TransactionType.INTEREST,
        TransactionType.CHEQUE,
        TransactionType.DIRECT_DEBIT,
        TransactionType.CARD_PAYMENT,
        TransactionType.TRANSFER,
    } <= set(transactions.values_list("transaction_type", flat=True))
    assert transactions.filter(cost_center=None, project=None, department=None).exists()
    # And all four accounts are used
    assert transactions.values("bank_account").distinct().count() == 4


def test_demo_transfers_have_legs_and_allocations_that_add_up():
    # Given an empty database
    # When the demo is loaded
    load_demo()

    # Then each transfer's allocations add up to its amount and name each combination once
    transfers = BankTransfer.objects.annotate(
        allocated=Sum("allocations__amount"), lines=Count("allocations")
    )
    assert transfers.count() >= 12
    for transfer in transfers:
        assert transfer.allocated == transfer.amount, transfer.pk
        combinations = list(transfer.allocations.values_list("cost_center", "project", "department"))
        assert len(set(combinations)) == len(combinations)
    assert transfers.filter(lines__gte=2).exists()
    # And a received transfer has a sending and a receiving leg; one at the year end is still in transit
    for transfer in transfers.filter(status="received"):
        legs = dict(transfer.legs.values_list("direction", "amount"))
        assert legs[Direction.OUT] == transfer.amount
        assert legs[Direction.IN] == transfer.received_amount
    in_transit = BankTransfer.objects.get(status="in_transit")
    assert list(in_transit.legs.values_list("direction", flat=True)) == [Direction.OUT]
    # And one transfer arrived short by the receiving bank's charge
    short = [t for t in BankTransfer.objects.filter(status="received") if t.received_amount != t.amount]
    assert [t.amount - t.received_amount for t in short] == [Decimal("15.00")]


def test_demo_has_branch_cash_with_variances_and_floats_with_returns():
    # Given an empty database
    # When the demo is loaded
    load_demo()

    # Then branches bank their cash through deposits on the operating account, some counts off
    submissions = CashSubmission.objects.all()
    assert submissions.count() >= 36
    assert set(submissions.values_list("branch", flat=True)) == {"test-branch", "br-harbour", "br-airport"}
    deposited = submissions.exclude(deposit_transaction=None)
    for submission in deposited.select_related("deposit_transaction"):
        assert submission.deposit_transaction.amount == submission.deposited_amount
        assert submission.deposit_transaction.bank_account_id == "ba-op"
    variances = [s.variance for s in deposited if s.variance]
    assert any(v < 0 for v in variances)
    assert any(v > 0 for v in variances)
    assert submissions.filter(deposit_transaction=None, status="submitted").exists()
    # And floats are handed out each quarter and returned, in full or in part, except the last
    floats = FloatAllocation.objects.all()
    assert floats.count() == 12
    assert set(floats.values_list("status", flat=True)) == {"allocated", "returned", "partially_returned"}


def test_the_summary_counts_what_the_first_run_added_the_ledger_included():
    # On an empty database everything stored was added by the run: the ledger rows too, which the
    # posting service writes (the summary said 0 postings, GL lines and assignments added).
    from banking.management.commands.load_demo import SUMMARY_MODELS

    output = load_demo()

    for model in SUMMARY_MODELS:
        label = str(model._meta.verbose_name_plural)
        row = next(line for line in output.splitlines() if line.strip().startswith(label))
        added, stored = (int(part.replace(",", "")) for part in row[len(label) + 2 :].split())
        assert added == stored == model.objects.count(), row
    assert JournalEntry.objects.exists()


def test_the_demo_imports_the_operating_accounts_statement_of_its_last_posted_month():
    # Given the demo: its 2025 posted but the last quarter, so September is the last posted month
    load_demo()

    # Then the bank's CSV statement of September is imported for ba-op: a line per posted
    # transaction of the month and the bank's fee of 12.50 that nobody booked, adding up
    (statement,) = BankStatement.objects.filter(bank_account_id="ba-op")
    posted = BankTransaction.objects.filter(
        bank_account_id="ba-op",
        posting_status="posted",
        transaction_date__gte=datetime.date(2025, 9, 1),
        transaction_date__lte=datetime.date(2025, 9, 30),
    )
    assert (statement.from_date, statement.to_date) == (datetime.date(2025, 9, 1), datetime.date(2025, 9, 30))
    assert statement.line_count == posted.count() + 1 and statement.is_consistent

    # And the month reconciles down to that fee: the matcher pairs every other line
    call_command("reconcile", "--account", "ba-op", "--period", "2025-09", "--match", stdout=StringIO())
    result = reconcile_banking_by_dimension("ba-op", "2025-09")
    assert result["unmatched_book_items"]["count"] == 0
    assert result["unmatched_statement_lines"]["count"] == 1
    assert result["variance"] == Decimal("-12.50")


def test_second_run_adds_nothing():
    # Given the demo, loaded once
    load_demo()
    before = counts()

    # When it is loaded again
    output = load_demo()

    # Then every count is the same
    assert counts() == before
    assert "bank transactions" in output


def test_size_adds_exactly_that_many_transactions_once():
    # Given the demo, loaded once
    load_demo()
    before = BankTransaction.objects.count()
    gl_lines_before = JournalEntry.objects.count()

    # When 2,000 bulk transactions are asked for, twice
    output = load_demo("--size", "2000")
    after_first = BankTransaction.objects.count()
    load_demo("--size", "2000")

    # Then exactly 2,000 were added, the second run added none, and nothing was posted
    assert after_first == before + 2000
    assert BankTransaction.objects.count() == after_first
    assert JournalEntry.objects.count() == gl_lines_before
    # And a run without a terminal prints the summary but no progress line
    assert "\r" not in output
    assert "2,000" in output


def test_size_rows_cover_every_dimension_combination_and_the_months_asked():
    # Given an empty database
    # When 2,000 bulk transactions over 24 months and two accounts are made
    load_demo("--size", "2000", "--months", "24", "--accounts", "2")

    # Then every combination of cost centre, project and department appears, unassigned ones included
    bulk = BankTransaction.objects.filter(pk__startswith="bt-bulk-")
    seen = set(bulk.values_list("cost_center", "project", "department"))
    assert seen == set(dimension_combinations())
    # And the rows spread over 2024-01 to 2025-12 on ba-op and ba-payroll
    assert bulk.order_by("transaction_date").first().transaction_date >= datetime.date(2024, 1, 1)
    assert bulk.order_by("transaction_date").last().transaction_date <= datetime.date(2025, 12, 31)
    assert set(bulk.values_list("bank_account", flat=True)) == {"ba-op", "ba-payroll"}
    assert AccountingPeriod.objects.count() == 24


def test_with_postings_every_posting_balances_with_three_assignments_per_line():
    # Given an empty database
    # When 600 bulk transactions are made with their postings
    load_demo("--size", "600", "--with-postings")

    # Then the guide's balancing query finds no unbalanced reference
    with connection.cursor() as cursor:
        cursor.execute(GUIDE_BALANCING_QUERY)
        assert list(cursor.fetchall()) == []
    # And each transaction has one posting, referenced BT-<id>, and is marked posted
    transactions = BankTransaction.objects.all()
    assert JournalPosting.objects.count() == 600
    for txn in transactions:
        assert txn.posting_status == PostingStatus.POSTED
        assert txn.gl_reference == f"BT-{txn.pk}"
        assert txn.posted_at is not None
        assert txn.posted_by.username == "demo-accountant"
    # And every GL line has exactly three dimension assignments
    lines = JournalEntry.objects.annotate(assignments=Count("dimension_assignments"))
    assert set(lines.values_list("assignments", flat=True)) == {3}
    assert DimensionAssignment.objects.count() == 3 * JournalEntry.objects.count()


def test_with_postings_follows_the_posting_rules_and_carries_dimensions():
    # Given an empty database
    # When bulk transactions are made with their postings
    load_demo("--size", "600", "--with-postings")

    # Then a deposit debits the bank's GL account and credits the deposit rule's contra
    deposit = BankTransaction.objects.filter(transaction_type="deposit", bank_account="ba-op").first()
    lines = list(JournalEntry.objects.filter(reference=f"BT-{deposit.pk}").order_by("line_number"))
    assert [(line.account_id, line.debit, line.credit) for line in lines] == [
        ("gl-1010", deposit.amount, Decimal("0.00")),
        ("gl-1200", Decimal("0.00"), deposit.amount),
    ]
    # And a fee (money out) debits the contra and credits the bank
    fee = BankTransaction.objects.filter(transaction_type="fee", bank_account="ba-op").first()
    lines = list(JournalEntry.objects.filter(reference=f"BT-{fee.pk}").order_by("line_number"))
    assert [(line.account_id, line.debit, line.credit) for line in lines] == [
        ("gl-6100", fee.amount, Decimal("0.00")),
        ("gl-1010", Decimal("0.00"), fee.amount),
    ]
    # And every line of a transaction outside a transfer carries its dimensions, as columns and assignments
    for txn in BankTransaction.objects.exclude(transaction_type="transfer"):
        for line in JournalEntry.objects.filter(reference=f"BT-{txn.pk}"):
            assert (line.cost_center_id, line.project_id, line.department_id) == (
                txn.cost_center_id,
                txn.project_id,
                txn.department_id,
            )
    assignment = DimensionAssignment.objects.filter(dimension_type="cost_center").first()
    assert assignment.cost_center_id == assignment.journal_entry.cost_center_id
    # And a transfer leg is split per allocation through the in-transit account
    leg = BankTransaction.objects.filter(transaction_type="transfer", direction="out").first()
    allocations = list(leg.transfer.allocations.order_by("line_number"))
    lines = JournalEntry.objects.filter(reference=f"BT-{leg.pk}")
    assert lines.count() == 2 * len(allocations)
    assert set(lines.filter(debit__gt=0).values_list("account_id", flat=True)) == {"gl-1100"}


def test_with_postings_posts_drafts_an_earlier_run_left():
    # Given 300 bulk transactions made without postings
    load_demo("--size", "300")

    # When the same rows are asked for with their postings
    load_demo("--size", "300", "--with-postings")

    # Then no transaction was added and each now has its own balanced posting
    assert BankTransaction.objects.count() == 300
    assert JournalPosting.objects.count() == 300
    assert not BankTransaction.objects.exclude(posting_status=PostingStatus.POSTED).exists()
    for txn in BankTransaction.objects.all()[:20]:
        assert txn.gl_reference == f"BT-{txn.pk}"


def test_guide_smoke_object_can_be_created_as_written_after_load_demo():
    # Given the demo
    load_demo()

    # When the guide's smoke-test transaction is created as the guide writes it (no direction)
    txn = BankTransaction(
        id="smoke-test-1",
        transaction_type="deposit",
        amount=Decimal("5000.00"),
        transaction_date=datetime.date.today(),
        bank_account_id="ba-op",
        branch_id="test-branch",
        cost_center_id="cc-hq",
        posting_status="draft",
    )
    txn.save()

    # Then it is stored as a draft deposit into the operating account, its direction taken from its type
    stored = BankTransaction.objects.get(pk="smoke-test-1")
    assert stored.direction == Direction.IN
    assert stored.amount == Decimal("5000.00")
    assert (stored.bank_account_id, stored.branch_id, stored.cost_center_id) == (
        "ba-op",
        "test-branch",
        "cc-hq",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--with-postings"], "--with-postings"),
        (["--end-month", "2025-13"], "--end-month"),
        # Twelve months back from June 1900 start in 1899, before the books: it was a traceback.
        (["--end-month", "1900-06"], "before the books' first year"),
        (["--size", "-1"], "--size"),
        (["--size", "10", "--accounts", "5"], "--accounts"),
        # They shape the --size rows only: the demo year would have ignored them.
        (["--accounts", "2"], "--accounts 2 spreads the --size rows"),
        (["--batch-size", "100"], "--batch-size 100 sizes the batches of the --size rows"),
    ],
)
def test_bad_options_are_refused_and_change_nothing(args, message):
    # Given an empty database
    # When load_demo is given a bad option
    with pytest.raises(CommandError, match=message):
        load_demo(*args)

    # Then nothing was written
    assert not Branch.objects.exists()


def test_the_demo_posts_its_branch_cash_with_its_deposits_so_cash_in_transit_nets_to_zero():
    # Its deposits named by submissions were posted through cash in transit while the submissions
    # stayed drafts: cash in transit stood at -413,985.46 at the end of September.
    load_demo()
    transit = PostingRule.objects.get(document_type=PostingDocument.CASH_IN_TRANSIT, bank_account=None)
    history = CashSubmission.objects.filter(submission_date__lte=datetime.date(2025, 9, 30))
    last_quarter = CashSubmission.objects.filter(submission_date__gte=datetime.date(2025, 10, 1))

    lines = JournalEntry.objects.filter(account_id=transit.contra_account_id)
    by_month = lines.values("period_id").annotate(net=Sum("debit") - Sum("credit")).order_by("period_id")

    assert history.exists() and not history.exclude(posting_status=PostingStatus.POSTED).exists()
    assert not last_quarter.exclude(posting_status=PostingStatus.DRAFT).exists()
    assert [row["net"] for row in by_month] == [Decimal("0.00")] * len(by_month)
    assert len(by_month) == 9  # January to September, the posted months
