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


def _transfer_indexes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "bank_transfers")
    return {tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"]}


@pytest.mark.django_db(transaction=True)
def test_the_transfer_indexes_are_the_same_after_going_back_and_forth():
    # Given the transfer tracking indexes as a straight upgrade leaves them,
    upgraded = _transfer_indexes()
    assert ("from_bank_account_id", "initiated_date") in upgraded
    # when their migration is reversed and applied again,
    call_command("migrate", "banking", "0005", verbosity=0)
    assert ("from_bank_account_id",) in _transfer_indexes()  # each foreign key keeps an index meanwhile
    call_command("migrate", "banking", verbosity=0)
    # then the table has exactly the same indexes,
    assert _transfer_indexes() == upgraded
    if connection.vendor == "mysql":
        # none on an account alone: MariaDB's own index for the foreign key gave way to the new ones.
        assert ("from_bank_account_id",) not in upgraded


@pytest.mark.django_db(transaction=True)
def test_going_back_before_receipts_received_again_is_refused_once_one_was():
    # Given a transfer whose receipt was reversed and received again: two receiving legs, one live
    from django.db.migrations.exceptions import IrreversibleError

    from banking.tests.factories import BankAccountFactory, BankTransactionFactory, BankTransferFactory

    transfer = BankTransferFactory(
        from_bank_account=BankAccountFactory(), to_bank_account=BankAccountFactory()
    )
    for live, status in ((None, "reversed"), (True, "draft")):
        BankTransactionFactory(
            bank_account=transfer.to_bank_account,
            transaction_type="transfer",
            direction="in",
            transfer=transfer,
            live_leg=live,
            posting_status=status,
        )

    # When banking is taken back before 0010, then it is refused before anything is undone
    with pytest.raises(IrreversibleError, match="received again"):
        call_command("migrate", "banking", "0009", verbosity=0)
    assert "one_live_leg_per_direction" in _bank_transaction_constraints()

    # and once the second leg is gone, going back and forth works
    from banking.models import BankTransaction

    BankTransaction.objects.filter(transfer=transfer, live_leg=None).delete()
    call_command("migrate", "banking", "0009", verbosity=0)
    call_command("migrate", "banking", verbosity=0)
    assert "one_live_leg_per_direction" in _bank_transaction_constraints()


def _bank_transaction_constraints():
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "bank_transactions"))
