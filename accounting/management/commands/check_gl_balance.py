"""Check that the general ledger balances: ``manage.py check_gl_balance``.

Runs the deployment guide's GL balancing query exactly as written (every
reference whose debits and credits differ by more than a cent), an exact check
of the same (no tolerance), and a trial balance per period (all debits equal
all credits). Exits 1, listing the offenders, when anything is off.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounting.models import AccountingPeriod
from accounting.selectors import (
    gl_unbalanced_references,
    gl_unbalanced_references_guide,
    lines_off_the_cent,
    postings_without_assignments,
    trial_balance,
)


class Command(BaseCommand):
    help = "Run the guide's GL balancing query and a trial balance per period; exit 1 when anything is off."

    def add_arguments(self, parser):
        parser.add_argument("--period", default=None, help="Limit the trial balance to one period, YYYY-MM.")

    def handle(self, *args, period, **options):
        if period:
            try:
                AccountingPeriod.bounds(period)
            except ValidationError as exc:
                raise CommandError(f'"{period}" is not a period; use YYYY-MM, for example 2025-10.') from exc
        problems = 0

        guide = gl_unbalanced_references_guide()
        self.stdout.write(f"GL balancing query (deployment guide): {len(guide)} unbalanced reference(s).")
        for reference, debit, credit, imbalance in guide:
            self.stdout.write(f"  {reference}: debit {debit}, credit {credit}, imbalance {imbalance}")
        problems += len(guide)

        exact = [row for row in gl_unbalanced_references() if row["reference"] not in {g[0] for g in guide}]
        self.stdout.write(f"Exact check (no tolerance): {len(exact)} more unbalanced reference(s).")
        for row in exact:
            self.stdout.write(f"  {row['reference']}: debit {row['debit']}, credit {row['credit']}")
        problems += len(exact)

        # Only SQLite can hold them (MariaDB's columns keep cents); its totals would round them away.
        off_cent = list(
            lines_off_the_cent().order_by("reference", "line_number").values_list("reference", "line_number")
        )
        if off_cent:
            self.stdout.write(f"Amounts to the cent: {len(off_cent)} line(s) with a fraction of a cent.")
        for reference, line_number in off_cent:
            self.stdout.write(f"  {reference} line {line_number}")
        problems += len(off_cent)

        incomplete = postings_without_assignments()
        self.stdout.write(f"Dimension assignments: {len(incomplete)} reference(s) with a line lacking one.")
        for reference in incomplete:
            self.stdout.write(f"  {reference}")
        problems += len(incomplete)

        rows = trial_balance(period=period)
        self.stdout.write("Trial balance per period:")
        if not rows:
            self.stdout.write("  (no GL lines)")
        for row in rows:
            verdict = "ok" if row["difference"] == 0 else "OFF"
            self.stdout.write(
                f"  {row['period']}: debit {row['debit']}, credit {row['credit']}, "
                f"difference {row['difference']} {verdict}"
            )
            problems += row["difference"] != 0

        if problems:
            raise CommandError(
                f"The ledger is out of balance: {problems} problem(s) listed above.", returncode=1
            )
        self.stdout.write("The ledger balances.")
