"""Rollback with data in place: each app steps back one migration and forward again, losing nothing.

An app whose only migration is 0001 has no earlier schema to go back to:
unapplying 0001 drops its tables, and with them the data. Rolling such an app
back is a restore from the backup taken before the deployment
(``restore_backup --backup-file latest --execute``), never ``migrate app zero``;
docs/deployment.md says so. The test checks that this is still the case, so a
new migration in such an app turns its step-back test on by itself.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from cnperp.backups import database_figures
from cnperp.tests.ledger_data import posted_ledger

APPS = ["dimensions", "accounting", "banking"]


def _chain(app):
    loader = MigrationLoader(connection)
    (leaf,) = loader.graph.leaf_nodes(app)
    return [name for _, name in loader.graph.forwards_plan(leaf) if _ == app]


@pytest.mark.parametrize("app", APPS)
@pytest.mark.django_db(transaction=True)
def test_each_app_steps_back_one_migration_and_forward_with_its_data_intact(app):
    chain = _chain(app)
    if len(chain) < 2:
        # then rollback for this app is restore_backup, as the module says
        assert chain == ["0001_initial"]
        pytest.skip(f"{app} has only 0001_initial: its rollback is a restore from backup")
    # given a posted ledger
    posted_ledger()
    before = database_figures()
    # when the app goes back one migration and forward again
    call_command("migrate", app, chain[-2], verbosity=0)
    # Every app forward: stepping back also unapplied what depends on it (the roles, say).
    call_command("migrate", verbosity=0)
    # then every table's rows and checksum are as before (django_migrations aside: its ids move)
    after = database_figures()
    before["tables"].pop("django_migrations")
    after["tables"].pop("django_migrations")
    assert after == before


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_after_stepping_the_ledger_triggers_back_and_forward_posted_lines_are_final_again():
    posted_ledger()
    call_command("migrate", "accounting", "0001", verbosity=0)
    # Every app forward: stepping accounting back also unapplied what depends on it (the roles).
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()")
        assert cursor.fetchone()[0] == 6
