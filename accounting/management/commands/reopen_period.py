"""Reopen a closed accounting period: ``manage.py reopen_period 2025-10``."""

from django.core.management.base import BaseCommand, CommandError

from accounting.services import accounting_period_reopen, command_user_get
from cnperp.exceptions import DomainError
from cnperp.permissions import command_user_check


class Command(BaseCommand):
    help = "Reopen the closed accounting period YYYY-MM so that postings may be dated in it again."

    def add_arguments(self, parser):
        parser.add_argument("period", help="The month to reopen, YYYY-MM (for example 2025-10).")
        parser.add_argument(
            "--user",
            default=None,
            help="Who reopens it (a username, who needs accounting.close_accountingperiod); "
            "default: system-posting.",
        )

    def handle(self, *args, period, user, **options):
        try:
            actor = command_user_get(username=user)
            if user:
                command_user_check(actor, "accounting.close_accountingperiod", doing="reopen periods")
            period_row = accounting_period_reopen(period_id=period, user=actor)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Period {period_row.id} reopened.")
