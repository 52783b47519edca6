"""Send report reads to a read replica when one is configured; everything else to the primary.

Reports opt in by wrapping their reads::

    from cnperp.db_router import read_replica

    with read_replica():
        rows = list(JournalEntry.objects.for_period(period).values("account").annotate(...))

    @read_replica()
    def cash_position_get(*, account, period): ...

Writes, row locks and postings always go to ``default``. Inside a transaction on
``default`` reads stay there too, so a service reads its own writes and a
``select_for_update()`` never lands on the replica. Without
``DATABASE_REPLICA_URL`` the wrapper changes nothing.

A replica lags the primary by a little (asynchronous replication): use it for
reports, never for a read that decides a write.
"""

import contextvars
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_reading_from_replica = contextvars.ContextVar("cnperp_read_replica", default=False)


@contextmanager
def read_replica():
    """Route the reads made inside this block (or decorated function) to the replica, if any."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def replica_alias():
    """Return the alias reads go to now: the replica inside ``read_replica()``, else ``default``."""
    alias = getattr(settings, "READ_REPLICA_ALIAS", None)
    if not alias or not _reading_from_replica.get():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return alias


class ReplicaRouter:
    """Reads inside ``read_replica()`` to the replica; writes and migrations to the primary."""

    def db_for_read(self, model, **hints):
        return replica_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: a row read from the replica may
        # refer to one written on the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica gets its schema through replication, never from migrate.
        return db != getattr(settings, "READ_REPLICA_ALIAS", None)
