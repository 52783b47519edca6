"""A fixed, seeded book for the report tests, and the independent sums the reports must equal.

Two bank accounts (``ba-op`` and ``ba-sav``) over September to November 2025.
Every combination of cost centre, project and department, each possibly
unassigned, gets a GL posting per month (bank line and contra line); cost
centres ``cc-a`` and ``cc-b`` are children of ``cc-root`` and project
``prj-y`` is a child of ``prj-x``, so roll-ups have something to add. In October
one September line and one October line are reversed (mirror lines dated in
October). The test keeps its own list of every line, so its expectations are
sums over that list in Python, never the reports' own queries.
"""

import dataclasses
import datetime
import itertools
import random
from decimal import Decimal

from django.utils import timezone

from accounting.choices import AccountType, PostingPurpose, SourceType
from accounting.models import AccountingPeriod, JournalEntry, JournalPosting
from accounting.tests.factories import AccountingPeriodFactory, GLAccountFactory, UserFactory
from banking.models import BankAccount
from banking.tests.factories import BankAccountFactory
from dimensions.tests.factories import CostCenterFactory, DepartmentFactory, ProjectFactory

SEED = 20251031
COST_CENTERS = [None, "cc-root", "cc-a", "cc-b", "cc-solo"]
PROJECTS = [None, "prj-x", "prj-y"]
DEPARTMENTS = [None, "dep-1", "dep-2"]
PARENTS = {"cc-a": "cc-root", "cc-b": "cc-root", "prj-y": "prj-x"}
MONTHS = ["2025-09", "2025-10", "2025-11"]
DIMENSIONS = ("cost_center", "project", "department")
ZERO = Decimal("0.00")


@dataclasses.dataclass
class Line:
    account: str
    entry_date: datetime.date
    debit: Decimal
    credit: Decimal
    cost_center: str | None
    project: str | None
    department: str | None
    reversal: bool = False


@dataclasses.dataclass
class Book:
    lines: list
    gl: dict  # bank account id -> GL account id


def _dimensions():
    root = CostCenterFactory(id="cc-root", code="ROOT", name="Head office")
    CostCenterFactory(id="cc-a", code="ROOT-A", name="Sales", parent=root)
    CostCenterFactory(id="cc-b", code="ROOT-B", name="Finance", parent=root)
    CostCenterFactory(id="cc-solo", code="SOLO", name="Warehouse")
    ProjectFactory(id="prj-y", code="PY", name="Launch phase 2", parent=ProjectFactory(id="prj-x", code="PX"))
    DepartmentFactory(id="dep-1", code="D1")
    DepartmentFactory(id="dep-2", code="D2")


def build_book():
    """Create the book in the database and return what the test knows of it."""
    _dimensions()
    op = BankAccountFactory(id="ba-op", name="Operating")
    sav = BankAccountFactory(id="ba-sav", name="Savings")
    contra = GLAccountFactory(id="gl-contra", code="4000", account_type=AccountType.INCOME)
    user = UserFactory(username="poster")
    for month in MONTHS:
        AccountingPeriodFactory(id=month)
    rng = random.Random(SEED)
    posted_at = timezone.now()
    postings, entries, lines = [], [], []

    def post(number, *, account_gl, day, amount, money_in, dims, reverses=None):
        reference = f"T-{number:05d}"
        purpose = PostingPurpose.REVERSE if reverses else PostingPurpose.POST
        posting = JournalPosting(
            id=f"jp-t{number:05d}",
            reference=reference,
            source_type=SourceType.MANUAL,
            source_id=reverses or f"src-{number:05d}",
            purpose=purpose,
            entry_date=day,
            period_id=AccountingPeriod.code_for(day),
            posted_by=user,
            posted_at=posted_at,
        )
        postings.append(posting)
        bank_debit = amount if money_in else ZERO
        bank_credit = ZERO if money_in else amount
        for line_number, (account, debit, credit) in enumerate(
            ((account_gl, bank_debit, bank_credit), (contra.pk, bank_credit, bank_debit)), start=1
        ):
            entries.append(
                JournalEntry(
                    id=f"je-t{number:05d}-{line_number}",
                    posting_id=posting.id,
                    line_number=line_number,
                    reference=reference,
                    entry_date=day,
                    period_id=posting.period_id,
                    account_id=account,
                    debit=debit,
                    credit=credit,
                    source_type=SourceType.MANUAL,
                    source_id=posting.source_id,
                    posted_by=user,
                    posted_at=posted_at,
                    cost_center_id=dims[0],
                    project_id=dims[1],
                    department_id=dims[2],
                )
            )
            lines.append(Line(account, day, debit, credit, *dims, reversal=reverses is not None))

    number = 0
    originals = []
    for index, dims in enumerate(itertools.product(COST_CENTERS, PROJECTS, DEPARTMENTS)):
        for month in MONTHS:
            start, end = AccountingPeriod.bounds(month)
            for account in (op, sav) if index % 3 == 0 else (op,):
                number += 1
                day = start + datetime.timedelta(days=rng.randrange((end - start).days + 1))
                amount = Decimal(rng.randint(100, 900_000)).scaleb(-2)
                money_in = rng.random() < 0.6
                post(
                    number,
                    account_gl=account.gl_account_id,
                    day=day,
                    amount=amount,
                    money_in=money_in,
                    dims=dims,
                )
                originals.append((number, account.gl_account_id, day, amount, money_in, dims))
    # Reverse one September and one October line of ba-op, both dated in October.
    september = next(o for o in originals if o[1] == op.gl_account_id and o[2].month == 9)
    october = next(o for o in originals if o[1] == op.gl_account_id and o[2].month == 10)
    for original in (september, october):
        number += 1
        _n, gl, day, amount, money_in, dims = original
        post(
            number,
            account_gl=gl,
            day=datetime.date(2025, 10, 28),
            amount=amount,
            money_in=not money_in,
            dims=dims,
            reverses=f"src-{original[0]:05d}",
        )
    JournalPosting.objects.bulk_create(postings)
    JournalEntry.objects.bulk_create(entries)
    return Book(lines=lines, gl={"ba-op": op.gl_account_id, "ba-sav": sav.gl_account_id})


# --- Independent expectations ----------------------------------------------------------------


def bank_lines(book, account_ids):
    gls = {book.gl[a] for a in account_ids}
    return [line for line in book.lines if line.account in gls]


def in_month(lines, period):
    start, end = AccountingPeriod.bounds(period)
    return [line for line in lines if start <= line.entry_date <= end]


def flows(lines):
    inflow = sum((line.debit for line in lines), ZERO)
    outflow = sum((line.credit for line in lines), ZERO)
    return {"inflow": inflow, "outflow": outflow, "net": inflow - outflow, "count": len(lines)}


def is_within(value, ancestor):
    """Whether ``value`` is ``ancestor`` or one of its descendants."""
    while value is not None:
        if value == ancestor:
            return True
        value = PARENTS.get(value)
    return False


def expected_dimension(lines, dimension):
    """Return ``{key: (own flows, rolled-up flows)}`` for every value with lines, unassigned included."""
    result = {}
    values = {getattr(line, dimension) for line in lines}
    ancestors = set()
    for value in values - {None}:
        node = value
        while node is not None:
            ancestors.add(node)
            node = PARENTS.get(node)
    for key in ancestors:
        own = flows([line for line in lines if getattr(line, dimension) == key])
        total = flows([line for line in lines if is_within(getattr(line, dimension), key)])
        result[key] = (own, total)
    if None in values:
        unassigned = flows([line for line in lines if getattr(line, dimension) is None])
        result["unassigned"] = (unassigned, unassigned)
    return result


def money(text):
    """Read an amount of the API (``"5000.00"``) exactly."""
    return Decimal(text)


def account(pk):
    """Return the bank account ``pk`` of the book (factories would otherwise make a new one)."""
    return BankAccount.objects.get(pk=pk)
