"""Every migration applies forward and reverses, on MariaDB and on SQLite."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

APPS = ["banking", "accounting", "dimensions"]


@pytest.mark.django_db(transaction=True)
def test_every_app_migrates_back_to_zero_and_forward_again():
    # Given the fully migrated test database,
    executor = MigrationExecutor(connection)
    leaves = {app: executor.loader.graph.leaf_nodes(app)[0] for app in APPS}
    # when each app is taken back to zero (banking first: it depends on the others),
    for app in APPS:
        call_command("migrate", app, "zero", verbosity=0)
    with connection.cursor():
        tables = set(connection.introspection.table_names())
    # then its tables are gone,
    assert not {"bank_transactions", "journal_entries", "cost_centers"} & tables
    # and migrating forward brings every table back.
    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    assert {"bank_transactions", "bank_transfer_allocations", "journal_entries", "cost_centers"} <= tables
    executor = MigrationExecutor(connection)
    assert executor.migration_plan([leaves[app] for app in APPS]) == []


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # makemigrations --check exits non-zero when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
