"""On MariaDB/MySQL, refuse UPDATE and DELETE of posted ledger rows in the database itself.

The ORM already refuses (``accounting.models.LedgerRecord``); these triggers hold
rule 2 of the brief ("posted is final") against raw SQL as well. They raise
SQLSTATE 45000 with a message naming the table.

The one escape hatch is the session variable ``@cnperp_ledger_maintenance``: a
session that sets it to 1 may delete and update. It exists for the test suite's
teardown (Django empties every table with DELETE between transactional tests)
and for an operator's supervised maintenance; docs/posting.md says so. No code
path of the application sets it.

On SQLite this migration does nothing (SQLite is the zero-set-up development
database; the ORM guard still holds there).
"""

from django.db import migrations

LEDGER_TABLES = ("journal_postings", "journal_entries", "dimension_assignments")
OPERATIONS = {"UPDATE": "update", "DELETE": "delete"}


def _trigger_name(table, verb):
    return f"{table}_no_{verb}"


def _create_sql(table, operation, verb):
    return (
        f"CREATE TRIGGER {_trigger_name(table, verb)} BEFORE {operation} ON {table} FOR EACH ROW "
        "BEGIN "
        "IF COALESCE(@cnperp_ledger_maintenance, 0) <> 1 THEN "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
        f"'{table} rows are posted and final: {operation} refused; post a reversal instead'; "
        "END IF; "
        "END"
    )


def install_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table in LEDGER_TABLES:
        for operation, verb in OPERATIONS.items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, verb)}", params=None)
            schema_editor.execute(_create_sql(table, operation, verb), params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table in LEDGER_TABLES:
        for verb in OPERATIONS.values():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, verb)}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0001_initial"),
    ]

    operations = [
        # DDL on MySQL commits implicitly, so the operation must not run inside a transaction.
        migrations.RunPython(install_triggers, drop_triggers, atomic=False, elidable=False),
    ]
