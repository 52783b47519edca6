"""Check that no posting was changed behind the application's back: ``manage.py verify_ledger``.

Recomputes the seal of every posting (``accounting.ledger_chain``) from its
header, GL lines, amounts and dimensions as stored now, and follows the chain
from the first posting to the last. Names the first posting that no longer
matches and exits 1; otherwise prints how many postings were verified and the
chain head (keep that hash outside the database: docs/audit.md). ``--period``
checks the postings of one month only, each against the posting before it.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounting.ledger_chain import ledger_verify
from accounting.models import AccountingPeriod

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Recompute the hash chain over every posting (its lines, amounts and dimensions); "
        "name the first posting that no longer matches and exit 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", default=None, help="Verify the postings of one period only, YYYY-MM.")

    def handle(self, *args, period, **options):
        if period:
            try:
                AccountingPeriod.bounds(period)
            except ValidationError as exc:
                raise CommandError(f'"{period}" is not a period; use YYYY-MM, for example 2025-10.') from exc
        result = ledger_verify(period=period)
        scope = f" of period {period}" if period else ""
        if result.ok:
            self.stdout.write(
                f"Verified {result.verified} posting(s){scope}: every seal matches. "
                f"Chain head: seal {result.head_sequence}, {result.head_hash}."
            )
            return
        problems = result.problem_count
        self.stdout.write(f"Checked {result.verified} sealed posting(s){scope}; {problems} problem(s):")
        for finding in result.findings[:SHOWN]:
            self.stdout.write(f"  {finding}")
        if problems > SHOWN:
            self.stdout.write(f"  ... and {problems - SHOWN} more.")
        raise CommandError(
            f"The ledger was changed outside the application. First: {result.findings[0]}", returncode=1
        )
