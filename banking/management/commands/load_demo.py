"""Load the demo company: ``manage.py load_demo [--size N [--with-postings]]``.

Without ``--size``: the demo company (``banking.demo``) and its year of
documents, all drafts. With ``--size N``: the company's master data and N bulk
transactions for the benchmarks, optionally with their GL postings. Either way a
second run adds nothing. A progress line shows on a terminal only, so cron stays
quiet; the summary is printed unless ``--verbosity 0``.
"""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from banking import demo
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
    StatementLine,
)
from cnperp.progress import Progress
from dimensions.models import Branch, CostCenter, Department, Project

SUMMARY_MODELS = [
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
    BankStatement,
    StatementLine,
    JournalPosting,
    JournalEntry,
    DimensionAssignment,
]


class Command(BaseCommand):
    help = "Load the demo company (idempotent); --size N adds N bank transactions in bulk for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", type=int, default=0, metavar="N", help="Bulk-create N bank transactions (benchmarks)."
        )
        parser.add_argument(
            "--months",
            type=int,
            default=demo.DEFAULT_MONTHS,
            metavar="M",
            help=f"Months of data ending with --end-month ({demo.DEFAULT_MONTHS}).",
        )
        parser.add_argument(
            "--end-month",
            default=demo.DEFAULT_END_MONTH,
            metavar="YYYY-MM",
            help=f"Last month of the data ({demo.DEFAULT_END_MONTH}, so that 2025-10 is always included).",
        )
        parser.add_argument(
            "--accounts",
            type=int,
            default=None,
            metavar="K",
            help=f"Bank accounts the --size rows spread over, 1 to {len(demo.BANK_ACCOUNTS)} (all).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"Random seed ({demo.DEFAULT_SEED}); another seed makes other --size rows.",
        )
        parser.add_argument(
            "--with-postings",
            action="store_true",
            help="Also write the --size rows' GL postings (benchmark data; not the posting service).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            metavar="B",
            help=f"Rows per INSERT batch and database transaction ({demo.DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, size, months, end_month, accounts, seed, with_postings, batch_size, **options):
        # They shape the --size rows only: without --size the demo year would ignore them unsaid.
        for option, value, what in (
            ("--accounts", accounts, "spreads the --size rows over that many accounts"),
            ("--batch-size", batch_size, "sizes the batches of the --size rows"),
        ):
            if value is not None and not size:
                raise CommandError(
                    f"{option} {value} {what}; give --size N too, or leave it out. Nothing done."
                )
        accounts = len(demo.BANK_ACCOUNTS) if accounts is None else accounts
        batch_size = demo.DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        self._check(size, months, end_month, accounts, batch_size, with_postings)
        # What was added is what is stored now less what was before: the services that post the
        # demo's history write the ledger rows themselves, and the loaders' own counts missed them.
        before = self._counts() if options["verbosity"] >= 1 else {}
        started = time.monotonic()
        if size:
            # A bar on a terminal's stderr; nothing under cron.
            bar = Progress(total=size, label="Loading", unit="bank transactions")
            demo.bulk_transactions_create(
                size=size,
                end_month=end_month,
                months=months,
                accounts=accounts,
                seed=seed,
                with_postings=with_postings,
                batch_size=batch_size,
                progress=bar.callback,
            )
            bar.close()
        else:
            demo.demo_load(end_month=end_month, months=months, seed=seed)
        elapsed = time.monotonic() - started
        if options["verbosity"] >= 1:
            self._summary(before, elapsed, size)

    def _check(self, size, months, end_month, accounts, batch_size, with_postings):
        if size < 0:
            raise CommandError("--size must be zero or more.")
        if not 1 <= months <= 120:
            raise CommandError("--months must be between 1 and 120.")
        try:
            AccountingPeriod.bounds(end_month)
        except ValidationError as exc:
            raise CommandError(
                f'--end-month "{end_month}" is not a month; use YYYY-MM, such as 2025-12.'
            ) from exc
        first = demo.month_codes(end_month, months)[0]
        try:
            AccountingPeriod.bounds(first)
        except ValidationError as exc:
            raise CommandError(
                f"--months {months} back from --end-month {end_month} starts in {first}, before the "
                "books' first year (1900): choose a later end month or fewer months."
            ) from exc
        if not 1 <= accounts <= len(demo.BANK_ACCOUNTS):
            raise CommandError(f"--accounts must be between 1 and {len(demo.BANK_ACCOUNTS)}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be a positive number.")
        if with_postings and not size:
            raise CommandError(
                "--with-postings posts the --size rows only; the demo year stays draft until posted "
                "through the posting service (manage.py post_transactions --all-drafts)."
            )

    @staticmethod
    def _counts():
        return {model.__name__: model.objects.count() for model in SUMMARY_MODELS}

    def _summary(self, before, elapsed, size):
        self.stdout.write(f"Demo data loaded in {elapsed:.1f} s (added / now stored):")
        now = self._counts()
        for model in SUMMARY_MODELS:
            label, count = model._meta.verbose_name_plural, now[model.__name__]
            self.stdout.write(f"  {label:<28} {count - before[model.__name__]:>10,} {count:>12,}")
        if size and elapsed > 0:
            rate = (now["BankTransaction"] - before["BankTransaction"]) / elapsed
            self.stdout.write(f"  {rate:,.0f} bank transactions per second")
