"""Full backups that prove themselves: a compressed dump, its sha256, and a manifest of what it holds.

A backup is two files in ``BACKUP_DIR`` with one stem::

    cnperp-full-<database>-<UTC time>.sql.gz          (MariaDB/MySQL: mariadb-dump output)
    cnperp-full-<database>-<UTC time>.sqlite3.gz      (SQLite: an online-backup copy)
    cnperp-full-<database>-<UTC time>.manifest.json

The manifest records the file's sha256, every table's row count and a checksum
computed here over its rows in primary-key order, and the trial balance (total
debit and credit of ``journal_entries`` per period). Verifying a backup restores
it into a scratch database, computes the same figures there and compares: a
backup that has not been restored and compared is only a hope.

The checksum is our own (sha256 over a canonical text of each row, read through
the ORM so a Decimal, a date or an aware datetime is written the same way on
every database), not MariaDB's ``CHECKSUM TABLE``, whose value depends on the
storage format and is unknown to SQLite.

Consistency on MariaDB/MySQL: ``mariadb-dump --single-transaction`` reads one
snapshot, but no other session can share it. The manifest's figures are taken
in a REPEATABLE READ snapshot just before the dump and again just after; when
both agree, nothing committed in between, so the dump holds exactly those
figures. When they differ (writes during the dump), the figures are taken from
the dump itself by restoring it into a scratch database, and the manifest says
so (``"consistency": "taken-from-dump"``).
"""

import gzip
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Sum
from django.db.utils import load_backend

FORMAT_VERSION = 1
PREFIX = "cnperp-full-"
MANIFEST_SUFFIX = ".manifest.json"
DUMP_SUFFIXES = {"mysql": ".sql.gz", "sqlite": ".sqlite3.gz"}
PAGE = 5000
COPY_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup could not be made, read, verified or restored; the message says why."""


@dataclass
class Backup:
    """One backup on disk: the dump, its manifest file and the manifest's content."""

    dump: Path
    manifest_path: Path
    manifest: dict

    @property
    def stem(self):
        return self.manifest_path.name[: -len(MANIFEST_SUFFIX)]


# --- Figures: row counts, checksums, trial balance -----------------------------


def _canonical(value):
    """Return the text a value contributes to a row's checksum, the same on every database."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, (date, clock_time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _row_text(row):
    return ("\t".join(_canonical(value) for value in row) + "\n").encode()


def _models_by_table():
    """Return ``{table: model}`` for every table Django manages, the migration log included."""
    tables = {}
    for model in [*apps.get_models(include_auto_created=True), MigrationRecorder.Migration]:
        meta = model._meta
        if meta.managed and not meta.proxy and not meta.abstract:
            tables.setdefault(meta.db_table, model)
    return tables


def _model_fingerprint(model, alias):
    fields = [field.attname for field in model._meta.local_concrete_fields]
    pk = model._meta.pk.attname
    digest, rows, last = hashlib.sha256(), 0, None
    queryset = model._base_manager.using(alias).order_by(pk).values_list(*fields)
    pk_index = fields.index(pk)
    # Keyset pages: bounded memory on a table of any size, no OFFSET rescans.
    while True:
        page = list((queryset.filter(**{f"{pk}__gt": last}) if last is not None else queryset)[:PAGE])
        for row in page:
            digest.update(_row_text(row))
        rows += len(page)
        if len(page) < PAGE:
            return rows, digest.hexdigest()
        last = page[-1][pk_index]


def _raw_fingerprint(table, alias):
    connection = connections[alias]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
        keys = connection.introspection.get_primary_key_columns(cursor, table) or columns
        # Names come from the database's own catalogue and are quoted.
        sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} ORDER BY {', '.join(map(quote, keys))}"  # noqa: S608, E501
        cursor.execute(sql)
        digest, rows = hashlib.sha256(), 0
        while batch := cursor.fetchmany(PAGE):
            for row in batch:
                digest.update(_row_text(row))
            rows += len(batch)
    return rows, digest.hexdigest()


def _trial_balance(alias, tables):
    if "journal_entries" not in tables:
        return {"periods": {}, "debit": "0.00", "credit": "0.00", "balanced": True}
    entry = apps.get_model("accounting", "JournalEntry")
    periods, total_debit, total_credit = {}, Decimal("0"), Decimal("0")
    rows = (
        entry._base_manager.using(alias)
        .values("period_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .order_by("period_id")
    )
    # SQLite sums decimals with extra places; money has MONEY_DECIMAL_PLACES everywhere.
    cent = Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)
    for row in rows:
        debit = (row["debit"] or Decimal("0")).quantize(cent)
        credit = (row["credit"] or Decimal("0")).quantize(cent)
        periods[row["period_id"]] = {"debit": _canonical(debit), "credit": _canonical(credit)}
        total_debit += debit
        total_credit += credit
    return {
        "periods": periods,
        "debit": _canonical(total_debit),
        "credit": _canonical(total_credit),
        "balanced": total_debit == total_credit,
    }


def _figures(alias):
    connection = connections[alias]
    with connection.cursor():
        tables = sorted(connection.introspection.table_names())
    by_table = _models_by_table()
    result = {}
    for table in tables:
        model = by_table.get(table)
        rows, checksum = _model_fingerprint(model, alias) if model else _raw_fingerprint(table, alias)
        result[table] = {"rows": rows, "sha256": checksum}
    return {"tables": result, "trial_balance": _trial_balance(alias, result)}


def database_figures(alias="default"):
    """Return ``{"tables": {table: {"rows", "sha256"}}, "trial_balance": {...}}`` read in one snapshot."""
    connection = connections[alias]
    if connection.in_atomic_block:
        # Inside a caller's transaction (a test's): its snapshot is the one to read.
        return _figures(alias)
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        try:
            return _figures(alias)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
    from django.db import transaction

    with transaction.atomic(using=alias):
        return _figures(alias)


def compare_figures(expected, actual):
    """Return the differences between two ``database_figures`` results, one sentence each."""
    differences = []
    want, got = expected["tables"], actual["tables"]
    for table in sorted(set(want) - set(got)):
        differences.append(f"table {table} is missing from the restored copy")
    for table in sorted(set(got) - set(want)):
        differences.append(f"table {table} is in the restored copy but not in the manifest")
    for table in sorted(set(want) & set(got)):
        if want[table]["rows"] != got[table]["rows"]:
            differences.append(
                f"table {table}: {got[table]['rows']} rows, the manifest says {want[table]['rows']}"
            )
        elif want[table]["sha256"] != got[table]["sha256"]:
            differences.append(f"table {table}: checksum differs from the manifest's (same row count)")
    tb_want, tb_got = expected["trial_balance"], actual["trial_balance"]
    for period in sorted(set(tb_want["periods"]) | set(tb_got["periods"])):
        a, b = tb_want["periods"].get(period), tb_got["periods"].get(period)
        if a != b:
            differences.append(
                f"trial balance of period {period}: {b} in the restored copy, {a} in the manifest"
            )
    if (tb_want["debit"], tb_want["credit"]) != (tb_got["debit"], tb_got["credit"]):
        differences.append(
            f"trial balance totals: debit {tb_got['debit']} credit {tb_got['credit']} restored, "
            f"debit {tb_want['debit']} credit {tb_want['credit']} in the manifest"
        )
    return differences


# --- Connections and tools ---------------------------------------------------------


def vendor(alias="default"):
    """Return ``"mysql"`` or ``"sqlite"`` for the database behind ``alias``; refuse others."""
    name = connections[alias].vendor
    if name not in DUMP_SUFFIXES:
        raise BackupError(f"Backups support MariaDB/MySQL and SQLite; this database is {name}.")
    return name


@contextmanager
def scratch_alias(**overrides):
    """Yield a temporary connection alias copied from ``default`` with ``overrides``; close it after.

    The connection is made here rather than added to the DATABASES setting, so it
    never becomes part of the configuration other code (or a test) sees.
    """
    alias = f"cnperp_scratch_{secrets.token_hex(4)}"
    config = {**connections["default"].settings_dict, **overrides}
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        wrapper.close()
        del connections[alias]


def _tool(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise BackupError(
        f"None of {', '.join(names)} is installed; install the MariaDB client (mariadb-client)."
    )


def _option_value(value):
    # Option files read "..." with backslash escapes; quoting keeps a password with # or ; whole.
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def _client_defaults(alias="default"):
    """Yield a ``--defaults-extra-file`` option naming a 0600 file with the credentials.

    The password goes through a file, never argv, where ``ps`` would show it to
    every user of the machine.
    """
    config = connections[alias].settings_dict
    options = config.get("OPTIONS", {})
    lines = ["[client]"]
    if config.get("USER"):
        lines.append(f"user={_option_value(config['USER'])}")
    if config.get("PASSWORD"):
        lines.append(f"password={_option_value(config['PASSWORD'])}")
    host = config.get("HOST") or ""
    if options.get("unix_socket") or host.startswith("/"):
        lines.append(f"socket={_option_value(options.get('unix_socket') or host)}")
    elif host:
        lines.append(f"host={_option_value(host)}")
        lines.append("protocol=TCP")
    if config.get("PORT"):
        lines.append(f"port={int(config['PORT'])}")
    descriptor, path = tempfile.mkstemp(prefix="cnperp-client-", suffix=".cnf")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield f"--defaults-extra-file={path}"
    finally:
        os.unlink(path)


def _run_mysql_client(database, source, alias="default"):
    """Feed the gzip dump ``source`` to the ``mariadb`` client connected to ``database``."""
    client = _tool("mariadb", "mysql")
    with _client_defaults(alias) as defaults, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - the installed client, arguments we built
            [client, defaults, "--default-character-set=utf8mb4", "--batch", database],
            stdin=subprocess.PIPE,
            stderr=errors,
        )
        try:
            with gzip.open(source, "rb") as dump:
                shutil.copyfileobj(dump, process.stdin, COPY_CHUNK)
            process.stdin.close()
        except (OSError, EOFError, zlib.error) as exc:
            process.kill()
            process.wait()
            if isinstance(exc, BrokenPipeError):
                errors.seek(0)
                raise BackupError(
                    f"mariadb refused the dump: {errors.read().decode(errors='replace')[:500]}"
                ) from exc
            raise BackupError(f"{source.name} is damaged: {exc}") from exc
        if process.wait() != 0:
            errors.seek(0)
            raise BackupError(f"mariadb refused the dump: {errors.read().decode(errors='replace')[:500]}")


def _drop_all_tables(alias):
    connection = connections[alias]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        views = {info.name for info in connection.introspection.get_table_list(cursor) if info.type == "v"}
        tables = [name for name in connection.introspection.table_names(cursor) if name not in views]
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            for view in sorted(views):
                cursor.execute(f"DROP VIEW IF EXISTS {quote(view)}")
            # Dropping a table drops its triggers (the ledger's immutability ones
            # included); the dump creates them again after loading the rows.
            for table in sorted(tables):
                cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        finally:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


# --- Files ---------------------------------------------------------------------------


def backup_dir(path=None, *, create=False):
    """Return the backup folder (``--dir``, else ``settings.BACKUP_DIR``); ``create`` makes it if missing.

    Only a backup creates it: verifying or restoring from a mistyped folder says
    there is no backup there rather than leaving an empty folder behind.
    """
    folder = Path(path or settings.BACKUP_DIR)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"Cannot use {folder} as the backup folder: {exc.strerror or exc}.") from None
    elif folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} is not a folder.")
    return folder


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path, data):
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def load_backup(path):
    """Return the :class:`Backup` at ``path`` (its manifest or its dump file)."""
    path = Path(path)
    if path.name.endswith(MANIFEST_SUFFIX):
        manifest_path = path
    else:
        stem = path.name
        for suffix in DUMP_SUFFIXES.values():
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        else:
            raise BackupError(f"{path} is neither a backup dump (.sql.gz, .sqlite3.gz) nor a manifest.")
        manifest_path = path.with_name(stem + MANIFEST_SUFFIX)
    if not manifest_path.exists():
        raise BackupError(f"No manifest {manifest_path.name} beside the backup; it cannot be verified.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"The manifest {manifest_path} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT_VERSION or "dump" not in manifest:
        raise BackupError(f"{manifest_path.name} is not a CNPERP backup manifest of format {FORMAT_VERSION}.")
    return Backup(
        dump=manifest_path.with_name(manifest["dump"]["file"]), manifest_path=manifest_path, manifest=manifest
    )


def list_backups(folder=None, *, database=None, vendor_name=None):
    """Return the backups in ``folder``, oldest first, optionally of one database and vendor only."""
    found = []
    for manifest_path in Path(backup_dir(folder)).glob(PREFIX + "*" + MANIFEST_SUFFIX):
        try:
            backup = load_backup(manifest_path)
        except BackupError:
            continue
        if database and backup.manifest.get("database") != database:
            continue
        if vendor_name and backup.manifest.get("vendor") != vendor_name:
            continue
        found.append(backup)
    return sorted(found, key=lambda b: (b.manifest["created_at"], b.stem))


def latest_backup(folder=None, alias="default"):
    """Return the newest backup of the configured database in ``folder``."""
    name = str(connections[alias].settings_dict["NAME"])
    backups = list_backups(folder, database=name, vendor_name=vendor(alias))
    if not backups:
        raise BackupError(
            f"No backup of database {name} in {backup_dir(folder)}; run manage.py backup_database."
        )
    return backups[-1]


def prune(folder, keep, *, database):
    """Delete all but the newest ``keep`` backups of ``database``; return the stems deleted."""
    if keep < 1:
        raise BackupError("--keep must be at least 1: retention never deletes the newest backup.")
    deleted = []
    for backup in list_backups(folder, database=database)[:-keep]:
        backup.dump.unlink(missing_ok=True)
        backup.manifest_path.unlink(missing_ok=True)
        deleted.append(backup.stem)
    return deleted


def _safe_name(name):
    base = Path(str(name)).name
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:60] or "database"


# --- Backup ----------------------------------------------------------------------------


def _tool_version(tool):
    result = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return result.stdout.strip()


def _dump_mysql(target, alias):
    dump_tool = _tool("mariadb-dump", "mysqldump")
    database = connections[alias].settings_dict["NAME"]
    with _client_defaults(alias) as defaults, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - the installed dump tool, arguments we built
            [
                dump_tool,
                defaults,  # must come first
                "--single-transaction",
                "--quick",
                "--routines",
                "--triggers",
                "--events",
                "--hex-blob",
                "--default-character-set=utf8mb4",
                "--skip-dump-date",
                "--no-tablespaces",
                database,
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        with gzip.open(target, "wb", compresslevel=6) as compressed:
            shutil.copyfileobj(process.stdout, compressed, COPY_CHUNK)
        if process.wait() != 0:
            errors.seek(0)
            raise BackupError(f"mariadb-dump failed: {errors.read().decode(errors='replace')[:500]}")
    return _tool_version(dump_tool)


def _dump_sqlite(target, alias):
    connection = connections[alias]
    connection.ensure_connection()
    with tempfile.TemporaryDirectory() as work:
        copy_path = Path(work) / "copy.sqlite3"
        destination = sqlite3.connect(copy_path)
        try:
            # The online backup API copies a consistent image while others keep writing.
            connection.connection.backup(destination)
        finally:
            destination.close()
        with open(copy_path, "rb") as source, gzip.open(target, "wb", compresslevel=6) as compressed:
            shutil.copyfileobj(source, compressed, COPY_CHUNK)
        with scratch_alias(NAME=str(copy_path)) as copy_alias:
            figures = database_figures(copy_alias)
    return f"sqlite3 {sqlite3.sqlite_version} online backup", figures


def create_backup(*, folder=None, keep=None, alias="default"):
    """Make a full backup of ``alias`` in ``folder``; return ``(Backup, deleted stems)``."""
    kind = vendor(alias)
    connection = connections[alias]
    folder = backup_dir(folder, create=True)
    database = str(connection.settings_dict["NAME"])
    created = datetime.now(UTC)
    stem = f"{PREFIX}{_safe_name(database)}-{created.strftime('%Y%m%dT%H%M%S%fZ')}"
    dump_path = folder / (stem + DUMP_SUFFIXES[kind])
    partial = dump_path.with_name(dump_path.name + ".partial")
    started = time.perf_counter()
    try:
        if kind == "mysql":
            before = database_figures(alias)
            tool = _dump_mysql(partial, alias)
            after = database_figures(alias)
            if before == after:
                figures, consistency = before, "unchanged-during-dump"
            else:
                figures, consistency = restored_figures(partial, kind, alias), "taken-from-dump"
        else:
            tool, figures = _dump_sqlite(partial, alias)
            consistency = "online-backup-copy"
        os.replace(partial, dump_path)
    finally:
        partial.unlink(missing_ok=True)
    manifest = {
        "format": FORMAT_VERSION,
        "type": "full",
        "created_at": created.isoformat(),
        "vendor": kind,
        "database": database,
        "host": connection.settings_dict.get("HOST") or "",
        "server_version": ".".join(map(str, connection.mysql_version))
        if kind == "mysql"
        else sqlite3.sqlite_version,
        "tool": tool,
        "consistency": consistency,
        "seconds": round(time.perf_counter() - started, 3),
        "dump": {
            "file": dump_path.name,
            "bytes": dump_path.stat().st_size,
            "sha256": _sha256(dump_path),
            "compression": "gzip",
        },
        **figures,
    }
    manifest_path = folder / (stem + MANIFEST_SUFFIX)
    _write_json(manifest_path, manifest)
    deleted = prune(folder, keep if keep is not None else settings.BACKUP_KEEP, database=database)
    return Backup(dump=dump_path, manifest_path=manifest_path, manifest=manifest), deleted


# --- Verify and restore ----------------------------------------------------------------


def check_file(backup):
    """Raise :class:`BackupError` unless the dump exists, has the manifest's sha256 and decompresses."""
    if not backup.dump.exists():
        raise BackupError(f"The dump {backup.dump} named by the manifest is missing.")
    actual = _sha256(backup.dump)
    if actual != backup.manifest["dump"]["sha256"]:
        raise BackupError(
            f"{backup.dump.name} is damaged: its sha256 is {actual}, the manifest recorded "
            f"{backup.manifest['dump']['sha256']}."
        )
    try:
        with gzip.open(backup.dump, "rb") as stream:
            while stream.read(COPY_CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{backup.dump.name} is damaged: {exc}") from exc


def _unpack_sqlite(source, target):
    try:
        with gzip.open(source, "rb") as stream, open(target, "wb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK)
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{Path(source).name} is damaged: {exc}") from exc
    check = sqlite3.connect(target)
    try:
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{Path(source).name} does not hold an SQLite database: {exc}") from exc
    finally:
        check.close()
    if result != "ok":
        raise BackupError(f"{Path(source).name} fails SQLite's integrity check: {result}")


def restored_figures(dump, kind, alias="default"):
    """Restore ``dump`` into a scratch database, return its figures, and drop the scratch database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as work:
            copy_path = Path(work) / "verify.sqlite3"
            _unpack_sqlite(dump, copy_path)
            with scratch_alias(NAME=str(copy_path)) as scratch:
                return database_figures(scratch)
    base = connections[alias].settings_dict["NAME"]
    scratch_name = f"{base}_verify_{secrets.token_hex(4)}"[-64:]
    quote = connections[alias].ops.quote_name
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE {quote(scratch_name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    try:
        _run_mysql_client(scratch_name, dump, alias)
        with scratch_alias(NAME=scratch_name) as scratch:
            return database_figures(scratch)
    finally:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(scratch_name)}")


def verify(backup, alias="default"):
    """Restore ``backup`` into a scratch database and compare; return the list of differences.

    Raise :class:`BackupError` when the file is missing, damaged or of another database kind.
    """
    kind = vendor(alias)
    if backup.manifest["vendor"] != kind:
        raise BackupError(
            f"{backup.dump.name} is a {backup.manifest['vendor']} backup; the configured database is {kind}."
        )
    check_file(backup)
    return compare_figures(backup.manifest, restored_figures(backup.dump, kind, alias))


def restore(backup, alias="default"):
    """Replace every table of ``alias`` with the backup's; return the differences found afterwards."""
    kind = vendor(alias)
    connection = connections[alias]
    if kind == "mysql":
        _drop_all_tables(alias)
        connection.close()
        _run_mysql_client(connection.settings_dict["NAME"], backup.dump, alias)
    else:
        with tempfile.TemporaryDirectory() as work:
            copy_path = Path(work) / "restore.sqlite3"
            _unpack_sqlite(backup.dump, copy_path)
            source = sqlite3.connect(copy_path)
            connection.ensure_connection()
            try:
                # Page by page into the live file, under SQLite's own locks.
                source.backup(connection.connection)
            finally:
                source.close()
    connection.close()
    return compare_figures(backup.manifest, database_figures(alias))
