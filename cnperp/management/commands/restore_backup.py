"""``manage.py restore_backup --backup-file latest|PATH [--execute]``: put a verified backup back.

Without ``--execute`` nothing changes: it verifies the backup and says which
database would be replaced and how each table's row count would change. With
``--execute`` every table of the configured database is dropped and the backup
loaded (MariaDB: the dump through the ``mariadb`` client, triggers included;
SQLite: the copy written back with the online backup API), then the restored
database is compared with the manifest. A backup that does not verify is refused.

Stop the application servers first, and take a backup of the current state if
it may still be wanted (docs/deployment.md, "Rollback").
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cnperp.backups import BackupError, database_figures, latest_backup, load_backup, restore, verify


class Command(BaseCommand):
    help = "Restore the database from a verified backup (a dry run unless --execute)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--backup-file", required=True, metavar="latest|PATH", help="'latest' or a dump/manifest path."
        )
        parser.add_argument("--dir", default=None, metavar="PATH", help="Backup folder for 'latest'.")
        parser.add_argument("--execute", action="store_true", help="Really restore (default: dry run).")

    def handle(self, *args, backup_file, dir, execute, **options):
        try:
            backup = latest_backup(dir) if backup_file == "latest" else load_backup(backup_file)
            manifest = backup.manifest
            target = connection.settings_dict
            self.stdout.write(
                f"Backup {backup.dump} of {manifest['vendor']} database {manifest['database']}, "
                f"taken {manifest['created_at']}."
            )
            self.stdout.write("Verifying it in a scratch database first ...")
            differences = verify(backup)
            if differences:
                for line in differences:
                    self.stderr.write(f"  {line}")
                raise CommandError("The backup does not verify; refusing to restore it.")
            self.stdout.write("  verified: checksums and trial balance equal to the manifest.")
            current = database_figures()["tables"]
        except BackupError as exc:
            raise CommandError(str(exc)) from exc

        where = f"{connection.vendor} database {target['NAME']}" + (
            f" on {target['HOST']}:{target['PORT']}" if target.get("HOST") else ""
        )
        wanted = manifest["tables"]
        self.stdout.write(
            f"{'Restoring' if execute else 'Would restore'} into {where}, replacing all its tables:"
        )
        for table in sorted(set(wanted) | set(current)):
            now = current.get(table, {}).get("rows")
            after = wanted.get(table, {}).get("rows")
            if after is None:
                change = f"{now} rows -> dropped (not in the backup)"
            elif now is None:
                change = f"(absent) -> {after} rows"
            else:
                change = f"{now} -> {after} rows"
            self.stdout.write(f"  {table:40} {change}")
        if not execute:
            self.stdout.write(self.style.WARNING("Dry run: nothing was changed. Add --execute to restore."))
            return
        try:
            differences = restore(backup)
        except BackupError as exc:
            raise CommandError(f"Restore failed: {exc}. Restore again from a verified backup.") from exc
        if differences:
            for line in differences:
                self.stderr.write(f"  {line}")
            raise CommandError("The restored database differs from the manifest.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {where} from {backup.dump.name}: "
                "every table's rows and checksum equal the backup's."
            )
        )
