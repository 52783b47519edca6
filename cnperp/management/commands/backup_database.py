"""``manage.py backup_database --type full [--dir PATH] [--keep N]``: a verified-ready full backup.

Writes the compressed dump and its manifest (row counts, checksums, trial balance)
into ``BACKUP_DIR`` and keeps the newest ``BACKUP_KEEP`` backups of this database.
Run ``verify_backup --latest`` right after; cron should run both.
"""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cnperp.backups import BackupError, create_backup


class Command(BaseCommand):
    help = "Back up the whole database (compressed dump + manifest) and apply retention."

    def add_arguments(self, parser):
        parser.add_argument(
            "--type",
            dest="kind",
            default="full",
            help="Only 'full': MariaDB's binary log gives point-in-time recovery between full backups.",
        )
        parser.add_argument(
            "--dir", default=None, metavar="PATH", help="Backup folder (default: BACKUP_DIR)."
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            metavar="N",
            help="Backups of this database to keep (BACKUP_KEEP).",
        )

    def handle(self, *args, kind, dir, keep, **options):
        if kind != "full":
            raise CommandError(f'--type "{kind}" is not supported; use --type full.')
        keep = settings.BACKUP_KEEP if keep is None else keep
        if keep < 1:
            raise CommandError("--keep must be at least 1.")
        try:
            backup, deleted = create_backup(folder=dir, keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = backup.manifest
        tables = manifest["tables"]
        balance = manifest["trial_balance"]
        self.stdout.write(
            f"Backed up {manifest['vendor']} database {manifest['database']} in {manifest['seconds']} s: "
            f"{len(tables)} tables, {sum(t['rows'] for t in tables.values())} rows."
        )
        self.stdout.write(
            f"  dump:     {backup.dump} ({manifest['dump']['bytes']} bytes, "
            f"sha256 {manifest['dump']['sha256']})"
        )
        self.stdout.write(f"  manifest: {backup.manifest_path}")
        self.stdout.write(
            f"  trial balance: debit {balance['debit']}, credit {balance['credit']} over "
            f"{len(balance['periods'])} periods{'' if balance['balanced'] else ' (NOT BALANCED)'}"
        )
        if manifest["consistency"] == "taken-from-dump":
            self.stdout.write("  writes landed during the dump: the figures were taken from the dump itself.")
        for stem in deleted:
            self.stdout.write(f"  deleted (retention {keep}): {stem}")
        # The hint names the folder the backup went to when it is not the default one.
        where = f" --dir {shlex.quote(str(dir))}" if dir else ""
        self.stdout.write(
            self.style.SUCCESS(f"Backup complete. Verify it: manage.py verify_backup --latest{where}")
        )
