"""Post draft bank transactions in batches: ``manage.py post_transactions --all-drafts``.

Each batch is one transaction with a few multi-row INSERTs; a draft that cannot
be posted (closed period, no posting rule, inactive account) stays a draft and
is listed with the reason, and the command then exits 1 so that cron notices
(the drafts it could post are posted all the same). ``--dry-run`` runs the same
batches and rolls them back, so it reports exactly what a real run would do,
exit status included.
"""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounting.models import AccountingPeriod
from accounting.services import command_user_get
from banking.models import BankAccount
from banking.posting import bank_transaction_drafts, bank_transactions_post_batch
from cnperp.commandline import database_unavailable_message
from cnperp.exceptions import DomainError
from cnperp.middleware import DATABASE_ERRORS, is_outage
from cnperp.permissions import command_user_check
from cnperp.progress import Progress

SHOWN_SKIPS = 50


class Command(BaseCommand):
    help = "Post draft bank transactions to the GL in batches and print what was done."

    def add_arguments(self, parser):
        parser.add_argument("--account", default=None, metavar="ID", help="Only this bank account's drafts.")
        parser.add_argument(
            "--period", default=None, metavar="YYYY-MM", help="Only drafts dated in this month."
        )
        parser.add_argument(
            "--all-drafts",
            action="store_true",
            help="Every draft (needed when neither --account nor --period).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Do everything, then roll it back.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, metavar="N", help="Drafts per batch (1000)."
        )
        parser.add_argument("--user", default=None, help="Post as this username; default: system-posting.")

    def handle(self, *args, account, period, all_drafts, dry_run, batch_size, user, **options):
        # "--account $ACCOUNT" with the variable unset is a mistake, not "every account".
        for option, value in (("--account", account), ("--period", period)):
            if value is not None and not value.strip():
                raise CommandError(f"{option} is empty; give a value, or leave the option out.")
        if not (account or period or all_drafts):
            raise CommandError("Say which drafts to post: --account ID, --period YYYY-MM, or --all-drafts.")
        if batch_size < 1:
            raise CommandError("--batch-size must be a positive number.")
        if account and not BankAccount.objects.filter(pk=account).exists():
            raise CommandError(f'No bank account has the id "{account}".')
        if period:
            try:
                AccountingPeriod.bounds(period)
            except ValidationError as exc:
                raise CommandError(
                    f'--period "{period}" is not a month; use YYYY-MM, for example 2025-10.'
                ) from exc
        # A dry run without --user finds or makes the service account inside each rolled-back
        # batch, so that even it is not left behind.
        poster = None
        if user is not None or not dry_run:
            try:
                poster = command_user_get(username=user)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        if user:
            command_user_check(poster, "banking.post_banktransaction", doing="post bank transactions")

        drafts = bank_transaction_drafts(bank_account_id=account, period=period)
        total = drafts.count()
        # A bar on a terminal's stderr; nothing under cron.
        progress = Progress(total=total, label="Posting", unit="drafts")
        started = time.perf_counter()
        posted, skipped, batches, seen, last = 0, {}, 0, 0, None
        # Drafts another run (or someone in the API or the admin) posted after they were counted:
        # found gone from their batch, or never listed, so that the summary still adds up.
        by_others = 0
        while True:
            page = drafts.filter(pk__gt=last) if last is not None else drafts
            ids = list(page[:batch_size])
            if not ids:
                break
            last = ids[-1]
            try:
                result = self._post(ids, poster, dry_run)
            except DATABASE_ERRORS as exc:
                if not is_outage(exc):
                    raise
                progress.close()
                raise CommandError(
                    self._outage(exc, posted=posted, total=total, batch=ids, dry_run=dry_run)
                ) from exc
            batches += 1
            seen += len(ids)
            posted += len(result.posted)
            skipped.update(result.skipped)
            by_others += len(ids) - len(result.posted) - len(result.skipped)
            progress.update(seen)
        progress.close()
        elapsed = time.perf_counter() - started
        for txn_id, reason in sorted(skipped.items())[:SHOWN_SKIPS]:
            self.stdout.write(f"  left as draft: {txn_id}: {reason}")
        if len(skipped) > SHOWN_SKIPS:
            self.stdout.write(f"  ... and {len(skipped) - SHOWN_SKIPS} more left as drafts")
        rate = posted / elapsed if elapsed > 0 else 0
        verb = "Would post" if dry_run else "Posted"
        # Counted but never listed: posted by others before their batch was read.
        by_others += max(0, total - seen)
        # Drafts made during the run and posted by it count too: posted + by others + left = considered.
        considered = max(total, posted + by_others + len(skipped))
        meanwhile = f"{by_others} posted by another run meanwhile; " if by_others else ""
        self.stdout.write(
            f"{verb} {posted} of {considered} draft transaction(s) in {batches} batch(es), {elapsed:.2f} s "
            f"({rate:.0f}/s); {meanwhile}{len(skipped)} left as draft(s)."
            + (" Dry run: nothing was written." if dry_run else "")
        )
        if skipped:
            # A cron job that posts nightly must fail loudly while any draft is stuck: a
            # closed period or a missing rule will not put itself right.
            raise CommandError(
                f"{len(skipped)} draft(s) {'would be' if dry_run else 'were'} left unposted; "
                "the reasons are listed above."
            )

    def _outage(self, exc, *, posted, total, batch, dry_run):
        # The batches before this one are committed: say how many, so nobody re-checks them by hand.
        if dry_run:
            done = "Dry run: nothing was written."
        else:
            done = (
                f"{posted} of {total} draft(s) were posted (committed) before the failure; the batch "
                f"starting at {batch[0]} was not confirmed. Run the command again to post the rest."
            )
        return f"{database_unavailable_message(exc)}. {done}"

    def _post(self, ids, poster, dry_run):
        try:
            if not dry_run:
                return bank_transactions_post_batch(transaction_ids=ids, user=poster)
            with transaction.atomic():
                result = bank_transactions_post_batch(transaction_ids=ids, user=poster or command_user_get())
                transaction.set_rollback(True)
            return result
        except DomainError as exc:
            raise CommandError(
                f"Batch starting at {ids[0]} failed and was rolled back: {exc.message}"
            ) from exc
