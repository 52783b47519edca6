"""Close an accounting period: ``manage.py close_period 2025-10``.

Nothing posts or reverses into a closed period until ``reopen_period``.
"""

from django.core.management.base import BaseCommand, CommandError

from accounting.services import accounting_period_close, command_user_get
from cnperp.exceptions import DomainError
from cnperp.permissions import command_user_check


class Command(BaseCommand):
    help = "Close the accounting period YYYY-MM so that nothing posts into it."

    def add_arguments(self, parser):
        parser.add_argument("period", help="The month to close, YYYY-MM (for example 2025-10).")
        parser.add_argument(
            "--user",
            default=None,
            help="Who closes it (a username, who needs accounting.close_accountingperiod); "
            "default: system-posting.",
        )

    def handle(self, *args, period, user, **options):
        try:
            actor = command_user_get(username=user)
            if user:
                command_user_check(actor, "accounting.close_accountingperiod", doing="close periods")
            period_row = accounting_period_close(period_id=period, user=actor)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Period {period_row.id} closed ({period_row.start_date} to {period_row.end_date})."
        )
