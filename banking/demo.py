"""The demo company behind ``manage.py load_demo``, and bulk data for the benchmarks.

Cedar & North Trading runs three branches (one of them ``test-branch``, the
deployment guide's), four bank accounts (``ba-op`` the operating account,
``ba-payroll``, ``ba-savings`` and ``ba-collections`` for card settlements),
cost centres, projects and departments with parents and children, a chart of
accounts with a bank GL account per bank account, and a posting rule for every
document type (``banking.choices.PostingDocument``), so every demo document can
be posted. The year's documents are what finance staff see in a small business:
customer receipts, supplier payments, cheques, direct debits, card payments,
rent by standing order, bank fees and interest, payroll funded by transfer,
a monthly sweep of card takings to the operating account, branch cash banked
(a few counts short or over) and branch floats handed out and returned.

Months. The demo covers the months ending with ``DEFAULT_END_MONTH`` (2025-12),
not months relative to today: the same data on every day means a second run
adds nothing (ids are the idempotency key), tests see the same numbers every
year, and the guide's smoke test period 2025-10 always has data.

Idempotency. Every object has a deterministic id (``bt-demo-00001``,
``bt-bulk-2025-00000001``) generated from a seeded ``random.Random``; master data
is created only where its id (or, for posting rules, its scope) is missing, and
documents are inserted only where their id is missing.

Bulk (``--size N``). ``bulk_transactions_create`` writes N transactions with
multi-row INSERTs (``rows_insert``) in batches, one database transaction per
batch, covering every combination of cost centre, project and department (each
possibly unassigned) over the chosen months and accounts; the seed and the
months together name the data set. With ``with_postings`` each batch also gets
its GL postings from ``bulk_post_for_benchmark``, a small writer for benchmark
data only; production posting goes through ``banking.posting``. On the 2-core
reference machine with MariaDB: about 11,000 transactions/s without postings,
1,900/s with them (each transaction is then about ten rows).
"""

import calendar
import csv
import dataclasses
import datetime
import io
import itertools
import random
from collections import Counter
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounting import ledger_chain
from accounting.choices import AccountType, PeriodStatus, PostingPurpose, SourceType
from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from banking.choices import (
    TYPE_DIRECTION,
    AmountMode,
    CashSubmissionStatus,
    Direction,
    FloatStatus,
    PostingDocument,
    PostingStatus,
    TransactionType,
    TransferStatus,
)
from banking.models import (
    BankAccount,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    PostingRule,
    StatementCsvProfile,
)
from banking.services import transfer_allocations_check
from dimensions.models import Branch, CostCenter, Department, DimensionType, Project

DEFAULT_END_MONTH = "2025-12"
DEFAULT_MONTHS = 12
DEFAULT_SEED = 2025
DEFAULT_BATCH_SIZE = 5000
# Lookups by id stay far below SQLite's limit on query parameters.
ID_CHUNK = 500

CLERK = "demo-clerk"
ACCOUNTANT = "demo-accountant"


def money(cents):
    """Return ``cents`` as an exact two-place ``Decimal`` (never through a float)."""
    return Decimal(cents).scaleb(-2)


# --- Master data --------------------------------------------------------------

BRANCHES = [
    # id, code, name, address, default cost centre
    ("test-branch", "MAIN", "Main Street (test branch)", "12 Main Street", "cc-ops-main"),
    ("br-harbour", "HARB", "Harbour Road", "3 Harbour Road", "cc-ops-harb"),
    ("br-airport", "AIRP", "Airport kiosk", "Terminal 2, landside", "cc-ops-airp"),
]

# id, code, name, parent id (parents come before their children)
COST_CENTERS = [
    ("cc-hq", "HQ", "Head office", None),
    ("cc-hq-fin", "HQ-FIN", "Finance office", "cc-hq"),
    ("cc-hq-it", "HQ-IT", "IT and systems", "cc-hq"),
    ("cc-ops", "OPS", "Branch operations", None),
    ("cc-ops-main", "OPS-MAIN", "Main Street operations", "cc-ops"),
    ("cc-ops-harb", "OPS-HARB", "Harbour Road operations", "cc-ops"),
    ("cc-ops-airp", "OPS-AIRP", "Airport operations", "cc-ops"),
    ("cc-sales", "SALES", "Sales", None),
    ("cc-sales-retail", "SALES-RET", "Retail sales", "cc-sales"),
    ("cc-sales-whsl", "SALES-WHS", "Wholesale", "cc-sales"),
]

# id, code, name, parent id, start, end
PROJECTS = [
    ("prj-erp", "ERP", "ERP roll-out", None, (2025, 1, 6), (2026, 6, 30)),
    ("prj-erp-data", "ERP-DATA", "ERP data migration", "prj-erp", (2025, 1, 6), (2025, 9, 30)),
    ("prj-erp-train", "ERP-TRAIN", "ERP staff training", "prj-erp", (2025, 6, 1), (2026, 3, 31)),
    ("prj-airport", "APT", "Airport kiosk opening", None, (2024, 11, 1), (2025, 6, 30)),
    ("prj-refit", "REFIT", "Harbour Road refit", None, (2025, 3, 1), (2025, 11, 30)),
    ("prj-loyalty", "LOYAL", "Loyalty programme", None, (2025, 4, 1), None),
]

DEPARTMENTS = [
    ("dep-fin", "FIN", "Finance", None),
    ("dep-fin-ap", "FIN-AP", "Accounts payable", "dep-fin"),
    ("dep-fin-ar", "FIN-AR", "Accounts receivable", "dep-fin"),
    ("dep-ops", "OPS", "Operations", None),
    ("dep-sales", "SALES", "Sales", None),
    ("dep-hr", "HR", "People and payroll", None),
    ("dep-it", "IT", "IT", None),
]

# id, code, name, type, parent id
GL_ACCOUNTS = [
    ("gl-1000", "1000", "Cash and bank", AccountType.ASSET, None),
    ("gl-1010", "1010", "Bank: operating account", AccountType.ASSET, "gl-1000"),
    ("gl-1020", "1020", "Bank: payroll account", AccountType.ASSET, "gl-1000"),
    ("gl-1030", "1030", "Bank: savings account", AccountType.ASSET, "gl-1000"),
    ("gl-1040", "1040", "Bank: card collections account", AccountType.ASSET, "gl-1000"),
    ("gl-1100", "1100", "Transfers in transit (clearing)", AccountType.ASSET, None),
    ("gl-1150", "1150", "Branch cash", AccountType.ASSET, None),
    ("gl-1151", "1151", "Branch cash: Main Street", AccountType.ASSET, "gl-1150"),
    ("gl-1152", "1152", "Branch cash: Harbour Road", AccountType.ASSET, "gl-1150"),
    ("gl-1153", "1153", "Branch cash: Airport kiosk", AccountType.ASSET, "gl-1150"),
    ("gl-1160", "1160", "Cash in transit", AccountType.ASSET, None),
    ("gl-1170", "1170", "Branch floats", AccountType.ASSET, None),
    ("gl-1171", "1171", "Branch float: Main Street", AccountType.ASSET, "gl-1170"),
    ("gl-1172", "1172", "Branch float: Harbour Road", AccountType.ASSET, "gl-1170"),
    ("gl-1173", "1173", "Branch float: Airport kiosk", AccountType.ASSET, "gl-1170"),
    ("gl-1200", "1200", "Trade receivables", AccountType.ASSET, None),
    ("gl-1900", "1900", "Bank suspense", AccountType.ASSET, None),
    ("gl-2000", "2000", "Trade payables", AccountType.LIABILITY, None),
    ("gl-2100", "2100", "Salaries and wages payable", AccountType.LIABILITY, None),
    ("gl-3000", "3000", "Retained earnings", AccountType.EQUITY, None),
    ("gl-4000", "4000", "Sales revenue", AccountType.INCOME, None),
    ("gl-4200", "4200", "Interest income", AccountType.INCOME, None),
    ("gl-6100", "6100", "Bank charges", AccountType.EXPENSE, None),
    ("gl-6110", "6110", "Card merchant fees", AccountType.EXPENSE, "gl-6100"),
    ("gl-6200", "6200", "Utilities", AccountType.EXPENSE, None),
    ("gl-6300", "6300", "Office and travel", AccountType.EXPENSE, None),
    ("gl-6400", "6400", "Rent", AccountType.EXPENSE, None),
    ("gl-6900", "6900", "Cash over and short", AccountType.EXPENSE, None),
]

# id, name, bank, BIC, national bank code + account number (the IBAN's BBAN), GL account, branch
BANK_ACCOUNTS = [
    ("ba-op", "Operating account", "First National Bank", "FNBKGB2L", "FNBK40051512345678", "gl-1010", None),
    (
        "ba-payroll",
        "Payroll account",
        "First National Bank",
        "FNBKGB2L",
        "FNBK40051587654321",
        "gl-1020",
        None,
    ),
    (
        "ba-savings",
        "Savings account",
        "Harbour Savings Bank",
        "HSBAGB21",
        "HSBA20304455667788",
        "gl-1030",
        None,
    ),
    (
        "ba-collections",
        "Card collections account",
        "Metro Commercial Bank",
        "METRGB22",
        "METR60708011223344",
        "gl-1040",
        "test-branch",
    ),
]

# Default rule (no bank account, no branch) per document type: every type can be posted.
DEFAULT_RULES = {
    PostingDocument.DEPOSIT: "gl-1200",
    PostingDocument.WITHDRAWAL: "gl-2000",
    PostingDocument.TRANSFER: "gl-1100",
    PostingDocument.FEE: "gl-6100",
    PostingDocument.INTEREST: "gl-4200",
    PostingDocument.CHEQUE: "gl-2000",
    PostingDocument.DIRECT_DEBIT: "gl-6200",
    PostingDocument.CARD_PAYMENT: "gl-6300",
    PostingDocument.STANDING_ORDER: "gl-6400",
    PostingDocument.ADJUSTMENT: "gl-1900",
    PostingDocument.CASH_SUBMISSION: "gl-1150",
    PostingDocument.CASH_IN_TRANSIT: "gl-1160",
    PostingDocument.CASH_SHORTAGE: "gl-6900",
    PostingDocument.FLOAT_ALLOCATION: "gl-1170",
}

# Overrides: (document type, bank account, branch) -> contra account.
SCOPED_RULES = {
    (PostingDocument.DEPOSIT, "ba-collections", None): "gl-4000",
    (PostingDocument.FEE, "ba-collections", None): "gl-6110",
    (PostingDocument.WITHDRAWAL, "ba-payroll", None): "gl-2100",
    (PostingDocument.CASH_SUBMISSION, None, "test-branch"): "gl-1151",
    (PostingDocument.CASH_SUBMISSION, None, "br-harbour"): "gl-1152",
    (PostingDocument.CASH_SUBMISSION, None, "br-airport"): "gl-1153",
    (PostingDocument.FLOAT_ALLOCATION, None, "test-branch"): "gl-1171",
    (PostingDocument.FLOAT_ALLOCATION, None, "br-harbour"): "gl-1172",
    (PostingDocument.FLOAT_ALLOCATION, None, "br-airport"): "gl-1173",
}

CSV_PROFILE = {
    "name": "First National Bank CSV export",
    "delimiter": ";",
    "decimal_mark": ",",
    "thousands_separator": ".",
    "date_format": "%d.%m.%Y",
    "amount_mode": AmountMode.SIGNED,
    "date_column": "Booking date",
    "value_date_column": "Value date",
    "amount_column": "Amount",
    "description_column": "Details",
    "reference_column": "Reference",
    "counterparty_column": "Counterparty",
    "counterparty_iban_column": "Counterparty IBAN",
    "balance_column": "Balance",
}

CUSTOMERS = [
    "Alder & Sons Ltd",
    "Brightwater Hotels",
    "Castle Catering",
    "Dunmore Builders",
    "Elm Street Cafe",
    "Fairway Golf Club",
    "Greenfield Schools Trust",
    "Hillside Care Homes",
    "Ivy Lane Florists",
    "Juniper Events",
]
SUPPLIERS = [
    "Northern Paper Supplies",
    "Orchard Wholesale Foods",
    "Pinnacle Logistics",
    "Quayside Packaging",
    "Redwood Office Furniture",
    "Summit IT Services",
]
UTILITIES = [
    ("Citywide Power", 38000, 62000),
    ("Aqua Water Co", 9000, 14000),
    ("Linkup Telecom", 21000, 23000),
]
CARD_MERCHANTS = ["Railway tickets", "Stationery World", "Cloud hosting", "Taxi", "Hotel stay", "Courier"]
CUSTODIANS = {"test-branch": "M. Okafor", "br-harbour": "L. Jensen", "br-airport": "R. Silva"}


def iban(country, bban):
    """Return the IBAN for ``bban`` in ``country`` with its ISO 13616 check digits."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _get_or_create(model, pk, **fields):
    obj = model.objects.filter(pk=pk).first()
    if obj is not None:
        return obj, False
    return model.objects.create(pk=pk, **fields), True


def demo_users():
    """Return the demo clerk (records documents) and accountant (posts them), creating them once."""
    users = []
    for username, first, last in ((CLERK, "Dana", "Clerk"), (ACCOUNTANT, "Avery", "Accountant")):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = get_user_model()(username=username, first_name=first, last_name=last)
            # Demo users sign in only after an administrator gives them a password.
            user.set_unusable_password()
            user.save()
        users.append(user)
    return users


def month_codes(end_month, months):
    """Return the ``months`` period codes ending with ``end_month``, oldest first."""
    AccountingPeriod.bounds(end_month)
    year, month = int(end_month[:4]), int(end_month[5:])
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


def periods_ensure(codes):
    """Create the open accounting periods ``codes`` that are missing; return how many were added."""
    existing = set(AccountingPeriod.objects.filter(pk__in=codes).values_list("pk", flat=True))
    missing = []
    for code in codes:
        if code not in existing:
            start, end = AccountingPeriod.bounds(code)
            missing.append(
                AccountingPeriod(id=code, start_date=start, end_date=end, status=PeriodStatus.OPEN)
            )
    AccountingPeriod.objects.bulk_create(missing)
    return len(missing)


def _date(value):
    return datetime.date(*value) if value else None


@transaction.atomic
def master_data_ensure(*, user, codes):
    """Create what is missing of the demo's master data and periods ``codes``; return counts added."""
    added = Counter()
    for model, rows in ((CostCenter, COST_CENTERS), (Department, DEPARTMENTS)):
        for pk, code, name, parent in rows:
            _, created = _get_or_create(model, pk, code=code, name=name, parent_id=parent, created_by=user)
            added[model.__name__] += created
    for pk, code, name, parent, start, end in PROJECTS:
        _, created = _get_or_create(
            Project,
            pk,
            code=code,
            name=name,
            parent_id=parent,
            start_date=_date(start),
            end_date=_date(end),
            created_by=user,
        )
        added["Project"] += created
    for pk, code, name, address, cost_center in BRANCHES:
        _, created = _get_or_create(
            Branch,
            pk,
            code=code,
            name=name,
            address=address,
            default_cost_center_id=cost_center,
            created_by=user,
        )
        added["Branch"] += created
    for pk, code, name, account_type, parent in GL_ACCOUNTS:
        _, created = _get_or_create(
            GLAccount, pk, code=code, name=name, account_type=account_type, parent_id=parent, created_by=user
        )
        added["GLAccount"] += created
    for pk, name, bank, bic, bban, gl_account, branch in BANK_ACCOUNTS:
        _, created = _get_or_create(
            BankAccount,
            pk,
            name=name,
            bank_name=bank,
            bic=bic,
            account_number=bban[4:],
            iban=iban("GB", bban),
            currency="USD",
            gl_account_id=gl_account,
            branch_id=branch,
            created_by=user,
        )
        added["BankAccount"] += created
    rules = {(doc, None, None): contra for doc, contra in DEFAULT_RULES.items()} | SCOPED_RULES
    for (document_type, bank_account, branch), contra in rules.items():
        # The scope is the rule's identity: NULLs never collide in the unique index.
        exists = PostingRule.objects.filter(
            document_type=document_type, bank_account_id=bank_account, branch_id=branch
        ).exists()
        if not exists:
            scope = bank_account or branch or "default"
            PostingRule.objects.create(
                id=f"pr-{document_type}-{scope}".replace("_", "-"),
                document_type=document_type,
                bank_account_id=bank_account,
                branch_id=branch,
                contra_account_id=contra,
                description=f"{PostingDocument(document_type).label} ({scope})",
                created_by=user,
            )
            added["PostingRule"] += 1
    if not StatementCsvProfile.objects.filter(name=CSV_PROFILE["name"]).exists():
        StatementCsvProfile.objects.create(id="csv-fnb", created_by=user, **CSV_PROFILE)
        added["StatementCsvProfile"] += 1
    added["AccountingPeriod"] += periods_ensure(codes)
    return added


# --- Writing documents once ----------------------------------------------------------


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_ids(model, ids):
    """Return the subset of ``ids`` already stored for ``model``."""
    found = set()
    for chunk in _chunks(list(ids), ID_CHUNK):
        found.update(model.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def insert_missing(model, objects, *, batch_size=DEFAULT_BATCH_SIZE):
    """Insert the ``objects`` whose id is not stored yet; return how many were inserted."""
    stored = existing_ids(model, [o.pk for o in objects])
    missing = [o for o in objects if o.pk not in stored]
    model.objects.bulk_create(missing, batch_size=batch_size)
    return len(missing)


# --- The demo year ------------------------------------------------------------------


def _business_day(day):
    """Move a weekend date to the nearest weekday inside the same month (banks book on weekdays)."""
    if day.weekday() < 5:
        return day
    forward = day + datetime.timedelta(days=7 - day.weekday())
    if forward.month == day.month:
        return forward
    return day - datetime.timedelta(days=day.weekday() - 4)


def _day(code, day):
    year, month = int(code[:4]), int(code[5:])
    last = calendar.monthrange(year, month)[1]
    return _business_day(datetime.date(year, month, min(day, last)))


@dataclasses.dataclass
class DemoYear:
    """The documents of the demo year, built in memory before they are written."""

    transfers: list = dataclasses.field(default_factory=list)
    transactions: list = dataclasses.field(default_factory=list)
    allocations: list = dataclasses.field(default_factory=list)
    submissions: list = dataclasses.field(default_factory=list)
    floats: list = dataclasses.field(default_factory=list)


class DemoYearBuilder:
    """Build the demo's documents for periods ``codes`` from one seeded random stream."""

    def __init__(self, *, codes, seed, clerk):
        self.codes = codes
        self.rng = random.Random(seed)
        self.clerk = clerk
        self.year = DemoYear()
        self.cheque_number = 100200

    def _cents(self, low, high, step=1):
        return money(self.rng.randrange(low, high + 1, step))

    def _txn(self, *, account, kind, amount, day, direction=None, **fields):
        fields.setdefault("value_date", day)
        txn = BankTransaction(
            id=f"bt-demo-{len(self.year.transactions) + 1:05d}",
            bank_account_id=account,
            transaction_type=kind,
            direction=direction or TYPE_DIRECTION[kind],
            amount=amount,
            transaction_date=day,
            posting_status=PostingStatus.DRAFT,
            created_by=self.clerk,
            updated_by=self.clerk,
            **fields,
        )
        self.year.transactions.append(txn)
        return txn

    def build(self):
        for number, code in enumerate(self.codes):
            self._operating(code)
            self._collections(code, last=number == len(self.codes) - 1)
            self._payroll(code)
            self._savings(code, quarter_end=number % 3 == 2, short=number == 5)
            self._branch_cash(code, last=number == len(self.codes) - 1)
            if number % 3 == 0:
                self._floats(code, returned=number + 3 < len(self.codes))
        return self.year

    def _operating(self, code):
        rng = self.rng
        for k in range(rng.randint(10, 14)):
            # Some receipts arrive without any dimension: they land in "unassigned".
            tagged = rng.random() > 0.15
            self._txn(
                account="ba-op",
                kind=TransactionType.DEPOSIT,
                amount=self._cents(80000, 2500000),
                day=_day(code, rng.randint(1, 28)),
                reference=f"INV-{code.replace('-', '')}-{k + 1:03d}",
                counterparty_name=rng.choice(CUSTOMERS),
                description="Customer receipt",
                branch_id=rng.choice([None, "test-branch", "br-harbour"]),
                cost_center_id=rng.choice(["cc-sales-retail", "cc-sales-whsl"]) if tagged else None,
                project_id=rng.choice([None, None, "prj-loyalty"]) if tagged else None,
                department_id=rng.choice(["dep-sales", "dep-fin-ar"]) if tagged else None,
            )
        for k in range(rng.randint(3, 5)):
            self._txn(
                account="ba-op",
                kind=TransactionType.WITHDRAWAL,
                amount=self._cents(100000, 1800000),
                day=_day(code, rng.randint(1, 28)),
                reference=f"PAY-{code.replace('-', '')}-{k + 1:02d}",
                counterparty_name=rng.choice(SUPPLIERS),
                description="Supplier payment",
                cost_center_id=rng.choice(["cc-ops", "cc-hq", "cc-ops-main"]),
                project_id=rng.choice([None, "prj-refit", "prj-erp-data", "prj-airport"]),
                department_id="dep-fin-ap",
            )
        for _ in range(rng.randint(2, 4)):
            self.cheque_number += 1
            day = _day(code, rng.randint(1, 25))
            self._txn(
                account="ba-op",
                kind=TransactionType.CHEQUE,
                amount=self._cents(15000, 450000),
                day=day,
                value_date=day + datetime.timedelta(days=2),
                reference=f"CHQ {self.cheque_number}",
                counterparty_name=rng.choice(SUPPLIERS),
                description=f"Cheque {self.cheque_number}",
                cost_center_id=rng.choice(["cc-ops-harb", "cc-ops-airp", "cc-hq-fin"]),
                project_id=rng.choice([None, "prj-refit"]),
                department_id=rng.choice(["dep-ops", "dep-fin-ap"]),
            )
        for name, low, high in UTILITIES:
            self._txn(
                account="ba-op",
                kind=TransactionType.DIRECT_DEBIT,
                amount=self._cents(low, high),
                day=_day(code, 15),
                reference=f"DD {name.split()[0].upper()} {code}",
                counterparty_name=name,
                description=f"{name} direct debit",
                cost_center_id="cc-ops",
                department_id="dep-ops",
            )
        for _ in range(rng.randint(4, 7)):
            self._txn(
                account="ba-op",
                kind=TransactionType.CARD_PAYMENT,
                amount=self._cents(1200, 65000),
                day=_day(code, rng.randint(1, 28)),
                counterparty_name=rng.choice(CARD_MERCHANTS),
                description="Company card",
                cost_center_id=rng.choice(["cc-hq-it", "cc-hq", "cc-sales"]),
                project_id=rng.choice([None, "prj-erp", "prj-erp-train", "prj-loyalty"]),
                department_id=rng.choice([None, "dep-it", "dep-sales"]),
            )
        for branch, _, name, _, cost_center in BRANCHES:
            self._txn(
                account="ba-op",
                kind=TransactionType.STANDING_ORDER,
                amount=money({"test-branch": 450000, "br-harbour": 380000, "br-airport": 520000}[branch]),
                day=_day(code, 1),
                reference=f"RENT {branch.upper()} {code}",
                counterparty_name="Landmark Properties",
                description=f"Rent, {name}",
                branch_id=branch,
                cost_center_id=cost_center,
                department_id="dep-ops",
            )
        # The monthly account fee is nobody's cost centre: it stays unassigned.
        self._txn(
            account="ba-op",
            kind=TransactionType.FEE,
            amount=self._cents(2500, 4800),
            day=_day(code, 31),
            reference=f"FEE {code}",
            description="Account maintenance fee",
        )
        if code.endswith("-06"):
            self._txn(
                account="ba-op",
                kind=TransactionType.ADJUSTMENT,
                direction=Direction.IN,
                amount=money(4000),
                day=_day(code, 20),
                reference=f"ADJ {code}",
                description="Bank corrects a duplicated fee",
                cost_center_id="cc-hq-fin",
            )

    def _collections(self, code, *, last):
        rng = self.rng
        settled = Decimal("0.00")
        for k in range(rng.randint(8, 12)):
            amount = self._cents(50000, 600000)
            settled += amount
            self._txn(
                account="ba-collections",
                kind=TransactionType.DEPOSIT,
                amount=amount,
                day=_day(code, rng.randint(1, 27)),
                reference=f"SETTLE-{code.replace('-', '')}-{k + 1:02d}",
                counterparty_name="Metro Card Acquiring",
                description="Card settlement",
                branch_id=rng.choice(["test-branch", "br-harbour", "br-airport"]),
                cost_center_id="cc-sales-retail",
                project_id=rng.choice([None, None, "prj-loyalty"]),
                department_id="dep-sales",
            )
        # Merchant fees run at 1.5% of the month's settlements, to the cent.
        fee = (settled * Decimal("0.015")).quantize(Decimal("0.01"))
        self._txn(
            account="ba-collections",
            kind=TransactionType.FEE,
            amount=fee,
            day=_day(code, 28),
            reference=f"MSC {code}",
            description="Merchant service charge",
            cost_center_id="cc-sales-retail",
            department_id="dep-sales",
        )
        sweep = money(int(settled * Decimal("0.9")) // 100 * 10000)
        retail = money(int(sweep * Decimal("0.7")) // 100 * 10000)
        self._transfer(
            code=code,
            source="ba-collections",
            target="ba-op",
            amount=sweep,
            day=_day(code, 31),
            description="Monthly sweep of card takings",
            splits=[
                (retail, "cc-sales-retail", None, "dep-sales"),
                (sweep - retail, "cc-sales-whsl", "prj-loyalty", "dep-sales"),
            ],
            # The last sweep of the year is still on its way at the year end.
            in_transit=last,
        )

    def _payroll(self, code):
        rng = self.rng
        departments = [
            ("dep-ops", "cc-ops"),
            ("dep-sales", "cc-sales"),
            ("dep-fin", "cc-hq-fin"),
            ("dep-hr", "cc-hq"),
        ]
        shares = [(self._cents(1800000, 2600000, 100), cc, None, dep) for dep, cc in departments]
        total = sum((s[0] for s in shares), Decimal("0.00"))
        self._transfer(
            code=code,
            source="ba-op",
            target="ba-payroll",
            amount=total,
            day=_day(code, 24),
            description="Payroll funding",
            splits=shares,
        )
        payday = _day(code, 26)
        for amount, cost_center, _, department in shares:
            self._txn(
                account="ba-payroll",
                kind=TransactionType.WITHDRAWAL,
                amount=amount,
                day=payday,
                reference=f"SAL {code} {department.upper()}",
                counterparty_name="Salaries (BACS run)",
                description=f"Net salaries {department}",
                cost_center_id=cost_center,
                department_id=department,
            )
        self._txn(
            account="ba-payroll",
            kind=TransactionType.FEE,
            amount=money(rng.choice([1500, 1750])),
            day=_day(code, 28),
            reference=f"BACS FEE {code}",
            description="Payroll run charge",
            department_id="dep-hr",
        )

    def _savings(self, code, *, quarter_end, short):
        self._txn(
            account="ba-savings",
            kind=TransactionType.INTEREST,
            amount=self._cents(9000, 26000),
            day=_day(code, 31),
            reference=f"INT {code}",
            counterparty_name="Harbour Savings Bank",
            description="Credit interest",
            cost_center_id="cc-hq-fin",
            department_id="dep-fin",
        )
        if quarter_end:
            amount = self._cents(2000000, 5000000, 100000)
            self._transfer(
                code=code,
                source="ba-op",
                target="ba-savings",
                amount=amount,
                day=_day(code, 29),
                description="Quarterly transfer to reserves",
                # Reserves belong to head office; project and department stay unassigned.
                splits=[(amount, "cc-hq", None, None)],
                # One quarter the receiving bank keeps an incoming-payment charge.
                charge=money(1500) if short else None,
            )

    def _transfer(
        self, *, code, source, target, amount, day, description, splits, in_transit=False, charge=None
    ):
        number = len(self.year.transfers) + 1
        received_day = None if in_transit else day + datetime.timedelta(days=1 if source != "ba-op" else 2)
        received = None if in_transit else amount - (charge or 0)
        first = splits[0]
        transfer = BankTransfer(
            id=f"tr-demo-{number:04d}",
            from_bank_account_id=source,
            to_bank_account_id=target,
            amount=amount,
            received_amount=received,
            initiated_date=day,
            received_date=received_day,
            status=TransferStatus.IN_TRANSIT if in_transit else TransferStatus.RECEIVED,
            reference=f"TRF-{code.replace('-', '')}-{number:03d}",
            description=description,
            cost_center_id=first[1],
            project_id=first[2],
            department_id=first[3],
            created_by=self.clerk,
            updated_by=self.clerk,
        )
        allocations = []
        for line, (share, cost_center, project, department) in enumerate(splits, start=1):
            allocations.append(
                BankTransferAllocation(
                    id=f"bta-demo-{number:04d}-{line}",
                    transfer_id=transfer.id,
                    line_number=line,
                    from_bank_account_id=source,
                    to_bank_account_id=target,
                    amount=share,
                    received_amount=None if in_transit else share,
                    cost_center_id=cost_center,
                    project_id=project,
                    department_id=department,
                    description=description,
                    reference=transfer.reference,
                    created_by=self.clerk,
                    updated_by=self.clerk,
                )
            )
        if charge:
            # The receiving bank's charge comes off the last allocation's arrival.
            allocations[-1].received_amount -= charge
        transfer_allocations_check(amount, allocations)
        self.year.transfers.append(transfer)
        self.year.allocations.extend(allocations)
        legs = [(source, Direction.OUT, amount, day, f"Transfer to {target}")]
        if not in_transit:
            legs.append((target, Direction.IN, received, received_day, f"Transfer from {source}"))
        for account, direction, leg_amount, leg_day, text in legs:
            self._txn(
                account=account,
                kind=TransactionType.TRANSFER,
                direction=direction,
                amount=leg_amount,
                day=leg_day,
                reference=transfer.reference,
                description=f"{description}: {text}",
                cost_center_id=transfer.cost_center_id,
                project_id=transfer.project_id,
                department_id=transfer.department_id,
                transfer_id=transfer.id,
            )

    def _branch_cash(self, code, *, last):
        rng = self.rng
        for branch, _, name, _, cost_center in BRANCHES:
            for slot, day_of_month in enumerate((8, 18, 28)):
                number = len(self.year.submissions) + 1
                expected = self._cents(150000, 900000, 5)
                day = _day(code, day_of_month)
                pending = last and slot == 2 and branch != "br-airport"
                deposited = None if pending else expected
                if not pending and rng.random() < 0.12:
                    # A count a little short or over, as tills are.
                    deposited = expected + rng.choice([-1, 1]) * self._cents(100, 8000)
                if code.endswith("-08") and branch == "br-harbour" and slot == 1:
                    # The one large shortage of the year, above the variance alert threshold.
                    expected, deposited = money(1240000), money(715000)
                submission = CashSubmission(
                    id=f"cs-demo-{number:04d}",
                    branch_id=branch,
                    bank_account_id="ba-op",
                    submission_date=day,
                    expected_amount=expected,
                    deposited_amount=deposited,
                    status=CashSubmissionStatus.SUBMITTED if pending else CashSubmissionStatus.DEPOSITED,
                    reference=f"CASH-{branch.upper()}-{code.replace('-', '')}-{slot + 1}",
                    submitted_by_name=CUSTODIANS[branch],
                    cost_center_id=cost_center,
                    department_id="dep-ops",
                    project_id="prj-airport" if branch == "br-airport" and code < "2025-07" else None,
                    created_by=self.clerk,
                    updated_by=self.clerk,
                )
                if not pending:
                    deposit_day = min(day + datetime.timedelta(days=1), _day(code, 31))
                    deposit = self._txn(
                        account="ba-op",
                        kind=TransactionType.DEPOSIT,
                        amount=deposited,
                        day=_business_day(deposit_day),
                        reference=submission.reference,
                        counterparty_name=name,
                        description=f"Branch cash banked, {name}",
                        branch_id=branch,
                        cost_center_id=cost_center,
                        project_id=submission.project_id,
                        department_id="dep-ops",
                    )
                    submission.deposit_date = deposit.transaction_date
                    submission.deposit_transaction_id = deposit.id
                self.year.submissions.append(submission)

    def _floats(self, code, *, returned):
        rng = self.rng
        for branch, _, name, _, cost_center in BRANCHES:
            amount = self._cents(50000, 200000, 10000)
            allocation = FloatAllocation(
                id=f"fa-demo-{len(self.year.floats) + 1:03d}",
                branch_id=branch,
                bank_account_id="ba-op",
                allocation_date=_day(code, 2),
                amount=amount,
                purpose=f"Till float, {name}",
                custodian=CUSTODIANS[branch],
                cost_center_id=cost_center,
                department_id="dep-ops",
                created_by=self.clerk,
                updated_by=self.clerk,
            )
            if returned:
                # At the quarter's end the branch hands back what it did not spend. Recorded on the
                # draft only: once the float is posted, posting its return without figures posts
                # this total as the float's first return (FR-fa-demo-...), and later instalments
                # raise the total from there.
                spent = money(rng.choice([0, 0, 2500, 7500, 12000]))
                allocation.returned_amount = amount - spent
                allocation.return_date = allocation.allocation_date + datetime.timedelta(days=85)
                allocation.status = FloatStatus.RETURNED if not spent else FloatStatus.PARTIALLY_RETURNED
            self.year.floats.append(allocation)


@transaction.atomic
def demo_year_create(*, codes, seed, clerk):
    """Write the demo year's documents that are not stored yet; return counts added per model."""
    year = DemoYearBuilder(codes=codes, seed=seed, clerk=clerk).build()
    added = Counter()
    # Parents before children: transfers, their legs and allocations, then the cash documents.
    for model, objects in (
        (BankTransfer, year.transfers),
        (BankTransaction, year.transactions),
        (BankTransferAllocation, year.allocations),
        (CashSubmission, year.submissions),
        (FloatAllocation, year.floats),
    ):
        added[model.__name__] += insert_missing(model, objects)
    return added


def demo_load(*, end_month=DEFAULT_END_MONTH, months=DEFAULT_MONTHS, seed=DEFAULT_SEED):
    """Load the demo company and its year of documents; return counts added per model.

    The bank transactions and branch cash submissions of every month but the
    last three are posted by the demo accountant through the real posting
    services, so the ledger and the reports have a history; the last quarter
    stays in draft for finance staff to post themselves (``manage.py
    post_transactions --all-drafts`` for the transactions), and every float
    stays a draft (see ``demo_history_post``).
    """
    clerk, accountant = demo_users()
    codes = month_codes(end_month, months)
    added = master_data_ensure(user=clerk, codes=codes)
    added.update(demo_year_create(codes=codes, seed=seed, clerk=clerk))
    posted = codes[:-3]
    added["postings"] = demo_history_post(codes=posted, user=accountant)
    if posted:
        # The bank's side of the last posted month, for the reconciliation workbench to start from.
        added.update(demo_statement_import(code=posted[-1], user=clerk))
    return added


# The bank statement the demo imports: the operating account's last posted month, as the demo
# bank's CSV export (profile csv-fnb), with the month's monthly fee, which nobody has booked.
DEMO_STATEMENT_ACCOUNT = "ba-op"
DEMO_BANK_FEE = Decimal("12.50")
DEMO_STATEMENT_HEADER = (
    "Booking date",
    "Value date",
    "Amount",
    "Details",
    "Reference",
    "Counterparty",
    "Counterparty IBAN",
    "Balance",
)


def _csv_amount(amount):
    return format(amount, "f").replace(".", ",")


def demo_statement_text(*, code):
    """Return the demo bank's CSV statement of ``ba-op`` for ``code``: its posted transactions,
    every seventh booked by the bank a day later, and the bank's fee; ``None`` without them."""
    account = BankAccount.objects.filter(pk=DEMO_STATEMENT_ACCOUNT).first()
    if account is None:
        return None
    start, end = AccountingPeriod.bounds(code)
    books = BankTransaction.objects.filter(
        bank_account=account,
        posting_status=PostingStatus.POSTED,
        transaction_date__gte=start,
        transaction_date__lte=end,
    ).order_by("transaction_date", "id")
    rows = []
    for number, txn in enumerate(books):
        day = min(txn.transaction_date + datetime.timedelta(days=1 if number % 7 == 6 else 0), end)
        signed = txn.amount if txn.direction == Direction.IN else -txn.amount
        details = txn.description or txn.get_transaction_type_display()
        rows.append((day, txn.transaction_date, signed, details, txn.reference, txn.counterparty_name))
    if not rows:
        return None
    rows.append((end, end, -DEMO_BANK_FEE, "Account maintenance fee", f"FEE-{code}", "First National Bank"))
    rows.sort(key=lambda row: row[0])
    opening = JournalEntry.objects.filter(account=account.gl_account, entry_date__lt=start).aggregate(
        net=Sum(F("debit") - F("credit"))
    )["net"] or Decimal("0.00")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(DEMO_STATEMENT_HEADER)
    balance = opening
    for day, value_day, amount, details, reference, counterparty in rows:
        balance += amount
        writer.writerow(
            (
                f"{day:%d.%m.%Y}",
                f"{value_day:%d.%m.%Y}",
                _csv_amount(amount),
                details,
                reference,
                counterparty,
                "",
                _csv_amount(balance),
            )
        )
    return out.getvalue()


def demo_statement_import(*, code, user):
    """Import the demo bank's statement of ``ba-op`` for ``code`` (see :func:`demo_statement_text`),
    through the import service, as finance staff would: a second run adds nothing."""
    from banking.statement_import import statement_import

    profile = StatementCsvProfile.objects.filter(pk="csv-fnb").first()
    text = demo_statement_text(code=code)
    if profile is None or text is None:
        return {}
    result = statement_import(
        bank_account=BankAccount.objects.get(pk=DEMO_STATEMENT_ACCOUNT),
        content=text.encode("utf-8"),
        file_name=f"fnb-{DEMO_STATEMENT_ACCOUNT}-{code}.csv",
        format="csv",
        profile=profile,
        user=user,
    )
    return {"StatementLine": result.new_lines}


def demo_history_post(*, codes, user):
    """Post the demo's drafts dated in ``codes``; return how many documents were posted.

    Bank transactions, then the branches' cash submissions of the same months, each through its
    posting service: a deposit named by a submission clears cash in transit, which the
    submission's own posting fills, so the two are posted together or cash in transit would
    stand in credit for the whole history. Floats stay drafts: the matcher pairs statement lines
    with bank transactions, and a float's cash leaves the bank without one, so a posted float
    would stand unmatched in every reconciliation of the demo.
    """
    from banking.posting import bank_transactions_post_batch, cash_submission_post

    if not codes:
        return 0
    first, last = AccountingPeriod.bounds(codes[0])[0], AccountingPeriod.bounds(codes[-1])[1]
    drafts = BankTransaction.objects.filter(
        id__startswith="bt-demo-",
        posting_status=PostingStatus.DRAFT,
        transaction_date__gte=first,
        transaction_date__lte=last,
    ).values_list("id", flat=True)
    posted = len(bank_transactions_post_batch(transaction_ids=list(drafts), user=user).posted)
    submissions = CashSubmission.objects.filter(
        id__startswith="cs-demo-",
        posting_status=PostingStatus.DRAFT,
        submission_date__gte=first,
        submission_date__lte=last,
    ).order_by("pk")
    for submission_id in submissions.values_list("pk", flat=True):
        cash_submission_post(submission_id=submission_id, user=user)
        posted += 1
    return posted


# --- Bulk transactions for the benchmarks ---------------------------------------------

BULK_TYPES = [
    # type, weight, lowest and highest amount in cents
    (TransactionType.DEPOSIT, 34, 5000, 2500000),
    (TransactionType.WITHDRAWAL, 14, 10000, 1800000),
    (TransactionType.CARD_PAYMENT, 16, 500, 65000),
    (TransactionType.CHEQUE, 8, 5000, 450000),
    (TransactionType.DIRECT_DEBIT, 8, 2000, 120000),
    (TransactionType.STANDING_ORDER, 4, 100000, 600000),
    (TransactionType.FEE, 6, 100, 5000),
    (TransactionType.INTEREST, 4, 100, 30000),
]
# Two of every hundred rows start a transfer (its two legs take two rows).
BULK_TRANSFER_SHARE = 0.02


def dimension_combinations():
    """Return every (cost centre, project, department) combination, each possibly unassigned (None)."""
    cost_centers = [None, *(row[0] for row in COST_CENTERS)]
    projects = [None, *(row[0] for row in PROJECTS)]
    departments = [None, *(row[0] for row in DEPARTMENTS)]
    return list(itertools.product(cost_centers, projects, departments))


class BulkStream:
    """Generate bulk transactions (and transfers) one after another from one seeded stream.

    The stream does not depend on the batch size, so the same ``seed`` always
    gives the same row for the same number, and a rerun finds its rows by id.
    """

    def __init__(self, *, seed, codes, accounts, clerk_id):
        self.rng = random.Random(seed)
        self.seed = seed
        self.accounts = accounts
        self.clerk_id = clerk_id
        self.first_day, _ = AccountingPeriod.bounds(codes[0])
        _, last_day = AccountingPeriod.bounds(codes[-1])
        self.days = (last_day - self.first_day).days + 1
        self.combinations = dimension_combinations()
        # Walking a shuffled list covers every combination once per len(combinations) rows.
        self.rng.shuffle(self.combinations)
        self.types = [t for t, *_ in BULK_TYPES]
        self.weights = [w for _, w, *_ in BULK_TYPES]
        self.ranges = {t: (low, high) for t, _, low, high in BULK_TYPES}
        self.branches = [None, *(row[0] for row in BRANCHES)]
        self.number = 0

    def transaction_id(self, number):
        return f"bt-bulk-{self.seed}-{number:08d}"

    def _combination(self):
        return self.combinations[self.number % len(self.combinations)]

    def _row(self, *, account, kind, direction, amount, day, combination, **fields):
        self.number += 1
        cost_center, project, department = combination
        return BankTransaction(
            id=self.transaction_id(self.number),
            bank_account_id=account,
            transaction_type=kind,
            direction=direction,
            amount=amount,
            transaction_date=day,
            value_date=day,
            cost_center_id=cost_center,
            project_id=project,
            department_id=department,
            posting_status=PostingStatus.DRAFT,
            created_by_id=self.clerk_id,
            updated_by_id=self.clerk_id,
            **fields,
        )

    def next_unit(self, room):
        """Return the next ``(transactions, transfer, allocations)``; a transfer needs two rows of room."""
        rng = self.rng
        day = self.first_day + datetime.timedelta(days=rng.randrange(self.days))
        branch = rng.choice(self.branches)
        if room >= 2 and len(self.accounts) >= 2 and rng.random() < BULK_TRANSFER_SHARE:
            return self._transfer(day, branch)
        kind = rng.choices(self.types, self.weights)[0]
        low, high = self.ranges[kind]
        combination = self._combination()
        row = self._row(
            account=rng.choice(self.accounts),
            kind=kind,
            direction=TYPE_DIRECTION[kind],
            amount=money(rng.randint(low, high)),
            day=day,
            combination=combination,
            branch_id=branch,
            reference=f"B{self.seed}-{self.number + 1:08d}",
            description=f"{TransactionType(kind).label} (bulk)",
        )
        return [row], None, []

    def _transfer(self, day, branch):
        rng = self.rng
        source, target = rng.sample(self.accounts, 2)
        first = self._combination()
        second = self.combinations[(self.number + 1) % len(self.combinations)]
        cents = rng.randint(100000, 5000000)
        split = rng.randint(1, cents - 1)
        number = self.number + 1
        transfer = BankTransfer(
            id=f"tr-bulk-{self.seed}-{number:08d}",
            from_bank_account_id=source,
            to_bank_account_id=target,
            amount=money(cents),
            received_amount=money(cents),
            initiated_date=day,
            received_date=day,
            status=TransferStatus.RECEIVED,
            reference=f"T{self.seed}-{number:08d}",
            description="Transfer (bulk)",
            branch_id=branch,
            cost_center_id=first[0],
            project_id=first[1],
            department_id=first[2],
            created_by_id=self.clerk_id,
            updated_by_id=self.clerk_id,
        )
        allocations = []
        shares = [(cents, first)] if first == second else [(split, first), (cents - split, second)]
        for line, (share, (cost_center, project, department)) in enumerate(shares, start=1):
            allocations.append(
                BankTransferAllocation(
                    id=f"bta-bulk-{self.seed}-{number:08d}-{line}",
                    transfer_id=transfer.id,
                    line_number=line,
                    from_bank_account_id=source,
                    to_bank_account_id=target,
                    amount=money(share),
                    received_amount=money(share),
                    cost_center_id=cost_center,
                    project_id=project,
                    department_id=department,
                    branch_id=branch,
                    reference=transfer.reference,
                    created_by_id=self.clerk_id,
                    updated_by_id=self.clerk_id,
                )
            )
        legs = []
        for account, direction in ((source, Direction.OUT), (target, Direction.IN)):
            legs.append(
                self._row(
                    account=account,
                    kind=TransactionType.TRANSFER,
                    direction=direction,
                    amount=transfer.amount,
                    day=day,
                    combination=first,
                    branch_id=branch,
                    reference=transfer.reference,
                    description=f"Transfer {source} to {target} (bulk)",
                    transfer_id=transfer.id,
                )
            )
        return legs, transfer, allocations


@dataclasses.dataclass
class PostingContext:
    """What the benchmark posting writer needs: contra rules, bank GL accounts, who and when."""

    rules: dict
    bank_gl: dict
    user_id: int
    posted_at: datetime.datetime

    @classmethod
    def load(cls, *, user):
        rules = {
            (doc, account, branch): contra
            for doc, account, branch, contra in PostingRule.objects.filter(is_active=True).values_list(
                "document_type", "bank_account_id", "branch_id", "contra_account_id"
            )
        }
        bank_gl = dict(BankAccount.objects.values_list("id", "gl_account_id"))
        return cls(rules=rules, bank_gl=bank_gl, user_id=user.pk, posted_at=timezone.now())

    def contra(self, document_type, bank_account_id, branch_id):
        """Return the contra account, most specific rule first (the posting service's order)."""
        for key in (
            (document_type, bank_account_id, branch_id),
            (document_type, bank_account_id, None),
            (document_type, None, branch_id),
            (document_type, None, None),
        ):
            if key in self.rules:
                return self.rules[key]
        raise LookupError(f"No posting rule for {document_type} on {bank_account_id}.")


DIMENSION_TYPES = (DimensionType.COST_CENTER, DimensionType.PROJECT, DimensionType.DEPARTMENT)
DIMENSION_KEYS = {DimensionType.COST_CENTER: "c", DimensionType.PROJECT: "p", DimensionType.DEPARTMENT: "d"}


def bulk_post_for_benchmark(transactions, allocations, context):
    """Return the unsaved postings, GL lines and dimension assignments of ``transactions``.

    For benchmark data only: production posting goes through the posting
    service (``banking.posting``), which locks, checks periods and accounts, and
    is the one door for finance staff. This writer follows the same accounting,
    without the checks, so a million rows can be written in minutes:

    - one posting per transaction, reference ``BT-<transaction id>``, dated on
      the transaction date in its period;
    - money in debits the bank's GL account and credits the contra account of
      the posting rule for the transaction's type; money out the reverse;
    - a transfer leg uses the in-transit account as contra and is split into one
      pair of lines per allocation of its transfer (``allocations``: transfer id
      to its allocations), each pair carrying that allocation's dimensions;
    - every line carries the cost centre, project and department columns and
      three ``DimensionAssignment`` rows (an empty value means unassigned);
    - each transaction is marked posted (status, reference, who and when).

    Every posting balances: each amount is written once as a debit and once as
    a credit.
    """
    postings, entries, assignments = [], [], []
    for txn in transactions:
        reference = f"BT-{txn.pk}"
        period_id = AccountingPeriod.code_for(txn.transaction_date)
        description = txn.description or f"{TransactionType(txn.transaction_type).label} {txn.pk}"
        posting = JournalPosting(
            id=f"jp-{txn.pk}",
            reference=reference,
            source_type=SourceType.BANK_TRANSACTION,
            source_id=txn.pk,
            purpose=PostingPurpose.POST,
            entry_date=txn.transaction_date,
            period_id=period_id,
            description=description[:255],
            posted_by_id=context.user_id,
            posted_at=context.posted_at,
        )
        postings.append(posting)
        bank = context.bank_gl[txn.bank_account_id]
        contra = context.contra(txn.transaction_type, txn.bank_account_id, txn.branch_id)
        splits = [(txn.amount, txn.cost_center_id, txn.project_id, txn.department_id)]
        shares = allocations.get(txn.transfer_id, [])
        if shares and sum(a.amount for a in shares) == txn.amount:
            splits = [(a.amount, a.cost_center_id, a.project_id, a.department_id) for a in shares]
        debit_account, credit_account = (bank, contra) if txn.direction == Direction.IN else (contra, bank)
        line_number = 0
        for amount, cost_center, project, department in splits:
            for account, debit, credit in ((debit_account, amount, 0), (credit_account, 0, amount)):
                line_number += 1
                entry = JournalEntry(
                    id=f"je-{txn.pk}-{line_number}",
                    posting_id=posting.id,
                    line_number=line_number,
                    reference=reference,
                    entry_date=txn.transaction_date,
                    period_id=period_id,
                    account_id=account,
                    debit=debit,
                    credit=credit,
                    description=description[:255],
                    source_type=SourceType.BANK_TRANSACTION,
                    source_id=txn.pk,
                    posted_by_id=context.user_id,
                    posted_at=context.posted_at,
                    cost_center_id=cost_center,
                    project_id=project,
                    department_id=department,
                )
                entries.append(entry)
                values = {
                    DimensionType.COST_CENTER: cost_center,
                    DimensionType.PROJECT: project,
                    DimensionType.DEPARTMENT: department,
                }
                for dimension in DIMENSION_TYPES:
                    assignments.append(
                        DimensionAssignment(
                            id=f"da-{txn.pk}-{line_number}{DIMENSION_KEYS[dimension]}",
                            journal_entry_id=entry.id,
                            dimension_type=dimension,
                            **{f"{dimension}_id": values[dimension]},
                        )
                    )
        txn.posting_status = PostingStatus.POSTED
        txn.gl_reference = reference
        txn.posted_at = context.posted_at
        txn.posted_by_id = context.user_id
    return postings, entries, assignments


def _stored_in_range(model, first_id, last_id, fields=("pk",)):
    """Return the stored rows of ``model`` whose id lies between two ids of one zero-padded series."""
    return model.objects.filter(pk__gte=first_id, pk__lte=last_id).values_list(*fields)


def rows_insert(model, objects, *, batch_size=DEFAULT_BATCH_SIZE):
    """Insert unsaved ``objects`` of ``model`` with one multi-row INSERT per batch (``executemany``).

    The same rows as ``bulk_create``, without its per-field compilation: a
    profile of ``bulk_create`` on these tables spent two thirds of its time
    preparing values and one third in the database. Values go to the driver as
    the model holds them (strings, ``Decimal``, dates), aware datetimes as naive
    UTC as Django stores them; ``auto_now`` stamps are set here. No signals, no
    ``save()``: for generated rows whose ids are known not to exist.
    """
    if not objects:
        return
    fields = model._meta.concrete_fields
    stamped = [
        f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    moments = {f.attname for f in fields if f.get_internal_type() == "DateTimeField"}
    now = timezone.now()
    for obj in objects:
        for name in stamped:
            if getattr(obj, name) is None:
                setattr(obj, name, now)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Table and column names come from the model, quoted; every value is a parameter.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    names = [f.attname for f in fields]

    def value(obj, name):
        raw = getattr(obj, name)
        if name in moments and raw is not None and timezone.is_aware(raw):
            return timezone.make_naive(raw, datetime.UTC)
        return raw

    with connection.cursor() as cursor:
        for chunk in _chunks(objects, batch_size):
            cursor.executemany(sql, [tuple(value(obj, name) for name in names) for obj in chunk])


@transaction.atomic
def _bulk_batch_write(units, *, with_postings, context, batch_size):
    """Write one batch of stream units that are not stored yet; return counts added per model."""
    added = Counter()
    transactions = [t for txns, _, _ in units for t in txns]
    transfers = [tr for _, tr, _ in units if tr is not None]
    allocations = [a for _, _, rows in units for a in rows]
    stored = dict(
        _stored_in_range(BankTransaction, transactions[0].pk, transactions[-1].pk, ("pk", "posting_status"))
    )
    new = [t for t in transactions if t.pk not in stored]
    # Drafts a run without postings left behind get their postings on a run with them.
    to_post = (
        new + [t for t in transactions if stored.get(t.pk) == PostingStatus.DRAFT] if with_postings else []
    )
    if transfers:
        stored_transfers = existing_ids(BankTransfer, [t.pk for t in transfers])
        new_transfers = [t for t in transfers if t.pk not in stored_transfers]
        rows_insert(BankTransfer, new_transfers, batch_size=batch_size)
        added["BankTransfer"] += len(new_transfers)
    postings = entries = assignments = []
    # One moment per batch: the rows are recorded and posted together, never posted before created.
    now = timezone.now()
    for txn in new:
        txn.created_at = txn.updated_at = now
    if context is not None:
        context.posted_at = now
    if to_post:
        by_transfer = {}
        for allocation in allocations:
            by_transfer.setdefault(allocation.transfer_id, []).append(allocation)
        postings, entries, assignments = bulk_post_for_benchmark(to_post, by_transfer, context)
    rows_insert(BankTransaction, new, batch_size=batch_size)
    added["BankTransaction"] += len(new)
    if allocations:
        new_allocations = [a for a in allocations if a.transfer_id in {t.pk for t in transfers}]
        stored_allocations = existing_ids(BankTransferAllocation, [a.pk for a in new_allocations])
        rows = [a for a in new_allocations if a.pk not in stored_allocations]
        rows_insert(BankTransferAllocation, rows, batch_size=batch_size)
        added["BankTransferAllocation"] += len(rows)
    if postings:
        ledger_chain.seal(postings, entries, assignments)  # benchmark postings are sealed like any other
        rows_insert(JournalPosting, postings, batch_size=batch_size)
        rows_insert(JournalEntry, entries, batch_size=batch_size)
        rows_insert(DimensionAssignment, assignments, batch_size=batch_size)
        added.update(
            JournalPosting=len(postings), JournalEntry=len(entries), DimensionAssignment=len(assignments)
        )
        old_drafts = [t for t in to_post if t.pk in stored]
        if old_drafts:
            BankTransaction.objects.filter(pk__in=[t.pk for t in old_drafts]).update(
                posting_status=PostingStatus.POSTED,
                gl_reference=Concat(Value("BT-"), F("id")),
                posted_at=context.posted_at,
                posted_by_id=context.user_id,
                updated_at=context.posted_at,
            )
    return added


def bulk_transactions_create(
    *,
    size,
    end_month=DEFAULT_END_MONTH,
    months=DEFAULT_MONTHS,
    accounts=None,
    seed=DEFAULT_SEED,
    with_postings=False,
    batch_size=DEFAULT_BATCH_SIZE,
    progress=None,
):
    """Write ``size`` bulk transactions (ids ``bt-bulk-<seed>-<n>``) and return counts added per model.

    The master data is ensured first. Rows spread evenly over the ``months``
    ending with ``end_month`` and the first ``accounts`` demo bank accounts, and
    walk through every dimension combination. Each batch of ``batch_size`` rows
    is one database transaction; a rerun with the same seed adds only what is
    missing. ``progress(done, size)`` is called after each batch.
    """
    clerk, accountant = demo_users()
    codes = month_codes(end_month, months)
    added = master_data_ensure(user=clerk, codes=codes)
    account_ids = [row[0] for row in BANK_ACCOUNTS[: accounts or len(BANK_ACCOUNTS)]]
    stream = BulkStream(seed=seed, codes=codes, accounts=account_ids, clerk_id=clerk.pk)
    context = PostingContext.load(user=accountant) if with_postings else None
    done = 0
    while done < size:
        units, rows = [], 0
        while rows < batch_size and done + rows < size:
            unit = stream.next_unit(size - done - rows)
            units.append(unit)
            rows += len(unit[0])
        added.update(
            _bulk_batch_write(units, with_postings=with_postings, context=context, batch_size=batch_size)
        )
        done += rows
        if progress:
            progress(done, size)
    return added
