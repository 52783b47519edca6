"""Import a bank statement file into a bank account.

    manage.py import_statement FILE --account ba-op [--format auto|camt|mt940|ofx|bai2|csv] [--profile NAME]
        [--user USERNAME]

All or nothing: on any error the command prints why, imports nothing and exits
non-zero. Running it again on the same file adds nothing. The statement records
who imported it: ``--user`` (who must hold ``banking.import_bankstatement``, as
in the API and the admin), else the ``system-posting`` service account that
cron jobs act as.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounting.locks import retry_on_lock_conflict
from accounting.services import command_user_get
from banking.importers import FORMATS
from banking.models import BankAccount, StatementCsvProfile
from banking.statement_import import statement_import, statement_max_bytes
from cnperp.exceptions import DomainError
from cnperp.permissions import command_user_check
from cnperp.progress import Progress

# Another import or a posting may hold the account's row: wait and try again, as post_transactions,
# reconcile and close_period do, and say so in one line when it stays busy.
statement_import_retried = retry_on_lock_conflict(statement_import)


class Command(BaseCommand):
    help = "Import a bank statement file (camt.052/053/054, MT940/942, OFX, BAI2 or CSV) into a bank account."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The statement file.")
        parser.add_argument("--account", required=True, help="The bank account's id, such as ba-op.")
        parser.add_argument(
            "--format", default="auto", choices=["auto", *FORMATS], help="Detected when auto."
        )
        parser.add_argument("--profile", help="The CSV profile's name (or id); needed for CSV files.")
        parser.add_argument(
            "--user",
            default=None,
            help="Import as this username (recorded on the statement); default: system-posting.",
        )

    def handle(self, *args, **options):
        if options["profile"] and options["format"] not in ("auto", "csv"):
            # A CSV profile reads CSV columns only: with another format it would be ignored.
            raise CommandError(
                f"--profile names a CSV profile, which reads CSV files only, not --format "
                f"{options['format']}; leave --profile out, or use --format csv. Nothing imported."
            )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        account = BankAccount.objects.filter(pk=options["account"]).first()
        if account is None:
            raise CommandError(f'No bank account has the id "{options["account"]}".')
        profile = None
        if options["profile"]:
            wanted = options["profile"]
            profile = StatementCsvProfile.objects.filter(Q(name=wanted) | Q(pk=wanted)).first()
            if profile is None:
                raise CommandError(f'No CSV profile has the name or id "{wanted}".')
        try:
            actor = command_user_get(username=options["user"])
        except DomainError as exc:
            raise CommandError(f"--user: {exc.message} Nothing imported.") from exc
        if options["user"]:
            command_user_check(actor, "banking.import_bankstatement", doing="import bank statements")
        limit = statement_max_bytes()
        if path.stat().st_size > limit:
            raise CommandError(
                f"{path.name}: the file is {path.stat().st_size:,} bytes; the limit is {limit:,} "
                "(BANKING_STATEMENT_MAX_BYTES). Nothing imported."
            )
        # A bar on a terminal's stderr while the file is parsed and written; nothing under cron.
        with Progress(total=1, label=f"Importing {path.name}", unit="file") as bar:
            try:
                result = statement_import_retried(
                    bank_account=account,
                    content=path.read_bytes(),
                    file_name=path.name,
                    format=options["format"],
                    profile=profile,
                    user=actor,
                )
            except DomainError as exc:
                if exc.code == "lock_conflict":
                    raise CommandError(
                        f"The bank account {account.pk} is busy (another import or posting holds it) "
                        "and stayed so through every retry; try again. Nothing imported."
                    ) from exc
                where = f" ({exc.field})" if exc.field else ""
                raise CommandError(f"{exc.message}{where} Nothing imported.") from exc
            bar.advance()
        self._summary(result)

    def _summary(self, result):
        out = self.stdout
        out.write(
            f"{result.file_name} ({result.format}) into {result.bank_account_id}: "
            f"{len(result.statements)} statement(s), {result.lines_read} line(s) read, "
            f"{result.new_lines} new, {result.duplicate_lines} duplicate(s) skipped."
        )
        for outcome in result.statements:
            statement = outcome.statement
            if statement.is_consistent is None:
                check = "balances not given: not checked"
            elif statement.is_consistent:
                check = "balances agree"
            else:
                check = f"INCONSISTENT: closing differs by {statement.balance_difference}"
            state = f"{outcome.new_lines} new"
            if outcome.already_imported:
                # The same bytes under another name: say which file brought them first.
                renamed = statement.file_name and statement.file_name != result.file_name
                state = f"already imported from {statement.file_name}" if renamed else "already imported"
            out.write(
                f"  {statement.statement_number} {statement.from_date}..{statement.to_date} "
                f"opening {_balance(statement.opening_balance)} "
                f"closing {_balance(statement.closing_balance)} "
                f"lines {outcome.lines_read} ({state}, {outcome.duplicate_lines} duplicate): {check}"
            )
        for skipped in result.skipped_statements:
            out.write(f"  skipped {skipped['statement_number']}: for account {skipped['account_identifier']}")
        if result.inconsistent_statements:
            self.stderr.write(
                "Warning: statement(s) whose balances do not add up were imported and flagged: "
                + ", ".join(result.inconsistent_statements)
            )


def _balance(amount):
    # A notification (camt.054) or a report without balances states none: "None" read as a bug.
    return "not given" if amount is None else amount
