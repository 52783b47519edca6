"""Report reads go to the replica when one is configured; writes and postings never do."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from banking.models import BankAccount
from banking.tests.factories import BankAccountFactory
from cnperp.db_router import ReplicaRouter, read_replica, replica_alias

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def replica(transactional_db, settings):
    """A ``replica`` alias as a TEST mirror of ``default``: the same test database, its own connection."""
    config = {**connections[DEFAULT_DB_ALIAS].settings_dict}
    config["TEST"] = {**config.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    if config["ENGINE"].endswith("sqlite3") and "mode=memory" not in str(config["NAME"]):
        pytest.skip("an SQLite file database has no second connection to mirror")
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, "replica")
    connections["replica"] = wrapper
    settings.READ_REPLICA_ALIAS = "replica"
    yield wrapper
    wrapper.close()
    del connections["replica"]


def test_without_a_replica_everything_reads_the_primary(settings):
    settings.READ_REPLICA_ALIAS = None
    with read_replica():
        assert replica_alias() == DEFAULT_DB_ALIAS


def test_reads_inside_read_replica_go_to_the_replica(replica):
    # given an account written on the primary
    BankAccountFactory(id="ba-rep", name="Replica test")
    # when a report reads inside read_replica()
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
        read_replica(),
    ):
        names = list(BankAccount.objects.filter(pk="ba-rep").values_list("name", flat=True))
    # then the query ran on the replica's connection, not the primary's
    assert names == ["Replica test"]
    assert len(on_replica.captured_queries) == 1 and on_primary.captured_queries == []


def test_read_replica_works_as_a_decorator(replica):
    BankAccountFactory(id="ba-dec")

    @read_replica()
    def account_count():
        return BankAccount.objects.count()

    with CaptureQueriesContext(replica) as on_replica:
        assert account_count() == 1
    assert len(on_replica.captured_queries) == 1


def test_reads_outside_read_replica_stay_on_the_primary(replica):
    with CaptureQueriesContext(replica) as on_replica:
        BankAccount.objects.count()
    assert on_replica.captured_queries == []


def test_writes_and_reads_inside_a_transaction_always_use_the_primary(replica):
    # A service reads its own writes and locks rows on the primary, even if a report wrapped it.
    with CaptureQueriesContext(replica) as on_replica, read_replica(), transaction.atomic():
        BankAccountFactory(id="ba-tx")
        assert BankAccount.objects.select_for_update().filter(pk="ba-tx").count() == 1
    assert on_replica.captured_queries == []
    router = ReplicaRouter()
    with read_replica():
        assert router.db_for_write(BankAccount) == DEFAULT_DB_ALIAS


def test_migrations_never_run_on_the_replica(replica):
    router = ReplicaRouter()
    assert router.allow_migrate("replica", "banking") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "banking") is True
