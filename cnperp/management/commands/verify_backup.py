"""``manage.py verify_backup --latest | --file PATH``: restore into a scratch database and compare.

The scratch database (MariaDB: ``<name>_verify_<random>``, SQLite: a temporary
file) is dropped afterwards. Exit status 1 on a missing, damaged or truncated
file or on any difference in row counts, checksums or trial balance.
"""

from django.core.management.base import BaseCommand, CommandError

from cnperp.backups import BackupError, latest_backup, load_backup, verify


class Command(BaseCommand):
    help = "Restore a backup into a scratch database and compare it with its manifest."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--latest", action="store_true", help="The newest backup of this database.")
        which.add_argument("--file", default=None, metavar="PATH", help="A dump or its manifest.")
        parser.add_argument(
            "--dir", default=None, metavar="PATH", help="Backup folder (default: BACKUP_DIR)."
        )

    def handle(self, *args, latest, file, dir, **options):
        try:
            backup = latest_backup(dir) if latest else load_backup(file)
            self.stdout.write(f"Verifying {backup.dump} (taken {backup.manifest['created_at']}) ...")
            differences = verify(backup)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if differences:
            for line in differences:
                self.stderr.write(f"  {line}")
            raise CommandError(
                f"{backup.dump.name} does NOT match its manifest: {len(differences)} difference(s)."
            )
        tables = backup.manifest["tables"]
        balance = backup.manifest["trial_balance"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Verified: sha256 intact; restored into a scratch database, {len(tables)} tables and "
                f"{sum(t['rows'] for t in tables.values())} rows with equal checksums; trial balance "
                f"debit {balance['debit']} credit {balance['credit']} equal."
            )
        )
