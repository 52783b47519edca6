"""Reconcile one bank account for one month: ``manage.py reconcile --account ba-op --period 2025-10``.

``--match`` runs the matcher first; the snapshot (``bank_reconciliations``) is
then stored or refreshed and the summary printed. ``--finalize`` signs it off
(a controller's act: the month is locked afterwards). A finalized month, an
unknown account or a bad period end with a message and a non-zero exit.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from accounting.services import command_user_get
from banking.reconciliation import jsonable, reconciliation_finalize, reconciliation_run
from cnperp.exceptions import DomainError
from cnperp.permissions import command_user_check
from cnperp.progress import Progress

UNMATCHED_SHOWN = 10


class Command(BaseCommand):
    help = "Match and reconcile a bank account for a month, save the snapshot, optionally sign it off."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, metavar="ID", help="The bank account, such as ba-op.")
        parser.add_argument("--period", required=True, metavar="YYYY-MM", help="The month, such as 2025-10.")
        parser.add_argument(
            "--match", action="store_true", help="Run the matcher before saving the snapshot."
        )
        parser.add_argument("--finalize", action="store_true", help="Sign off and lock the month afterwards.")
        parser.add_argument(
            "--note",
            default=None,
            help="Sign-off note, with --finalize (needed for a variance beyond threshold).",
        )
        parser.add_argument("--user", default=None, help="Act as this username; default: system-posting.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the full result as JSON."
        )

    def handle(self, *args, account, period, match, finalize, note, user, as_json, **options):
        if note is not None and not finalize:
            # Only a sign-off keeps a note: taken without one, it would be thrown away unsaid.
            raise CommandError(
                "--note is the sign-off note and is kept only with --finalize; add --finalize, "
                "or leave --note out. Nothing done."
            )
        # A bar on a terminal's stderr (matching a large month takes a while); nothing under cron.
        steps = 2 if match and finalize else 1
        bar = Progress(total=steps, label=f"Reconciling {account} {period}", unit="steps")
        try:
            actor = command_user_get(username=user)
            # Signing off refreshes the snapshot itself; running it first would make the
            # signer its preparer, which segregation of duties refuses.
            running = match or not finalize
            if user:
                wanted = ["banking.match_statementline"] if running else []
                wanted += ["banking.finalize_bankreconciliation"] if finalize else []
                command_user_check(actor, *wanted, doing="reconcile" + (" and sign off" if finalize else ""))
            _snapshot, result, run = None, None, None
            if running:
                _snapshot, result, run = reconciliation_run(
                    bank_account_id=account, period=period, user=actor, match=match
                )
                bar.advance()
            if finalize:
                _snapshot, result = reconciliation_finalize(
                    bank_account_id=account, period=period, user=actor, note=note or ""
                )
                bar.advance()
        except DomainError as exc:
            bar.close()
            prefix = f"--{exc.field.replace('bank_account_id', 'account')}: " if exc.field else ""
            raise CommandError(prefix + exc.message) from exc
        bar.close()
        if as_json:
            self.stdout.write(json.dumps(jsonable(result), indent=2))
            return
        if run is not None:
            self.stdout.write(
                f"Matched {run.lines_matched} of {run.lines_considered} open statement lines "
                f"({', '.join(f'{stage} {count}' for stage, count in run.by_stage.items()) or 'none'}); "
                f"{run.lines_suggested} with suggestions."
            )
        self._summary(result)

    def _summary(self, result):
        write = self.stdout.write
        write(
            f"Bank account {result['bank_account_id']} ({result['bank_account_name']}), "
            f"period {result['period']}"
        )
        write(f"  book opening balance       {_money(result['book_opening_balance'])}")
        write(f"  book closing balance       {_money(result['book_closing_balance'])}")
        write(f"  statement opening balance  {_money(result['statement_opening_balance'])}")
        write(f"  statement closing balance  {_money(result['statement_closing_balance'])}")
        write(
            f"  matched                    {result['matched_count']} lines, "
            f"{_money(result['matched_amount'])}"
        )
        books, lines = result["unmatched_book_items"], result["unmatched_statement_lines"]
        write(f"  unmatched book items       {books['count']}, {_money(books['total'])}")
        write(f"  unmatched statement lines  {lines['count']}, {_money(lines['total'])}")
        for other in lines["other_currencies"]:
            amount = _money(other["total"])
            write(f"    of which in {other['currency']}      {other['count']}, {amount} (not in the total)")
        write(f"  variance                   {_money(result['variance'])}")
        write(f"  status                     {result['status']} (threshold {_money(result['threshold'])})")
        snapshot = result["reconciliation"]
        if snapshot:
            signed = f", signed off by {snapshot['approved_by']}" if snapshot["approved_by"] else ""
            write(f"  snapshot                   {snapshot['id']} ({snapshot['status']}{signed})")
        for row in lines["items"][:UNMATCHED_SHOWN]:
            write(
                f"    line {row['id']} {row['booking_date']} {_money(row['amount'])} {row['narrative'][:50]}"
            )


def _money(value):
    return "-" if value is None else f"{value:,.2f}"
