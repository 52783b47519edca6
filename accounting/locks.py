"""Row locks for posting, taken in one global order: period, then account, then document.

Every write path that posts takes its locks in that order, so two postings can
wait for each other but never deadlock on these rows. Each helper locks rows in
primary-key order for the same reason.

Posting takes a *shared* lock on its period and accounts (many postings may
proceed together) and an exclusive lock on its source document; closing a
period takes an exclusive lock on the period, so it waits for postings already
under way and a posting started after it sees the period closed (rule 4).

On SQLite these are plain reads: SQLite locks the whole database for a write,
which serialises postings anyway.

Every helper must run inside ``transaction.atomic``: a lock outside a
transaction is released at once.
"""

import functools
import logging
import random
import time

from django.db import OperationalError, connection, transaction

from accounting.models import AccountingPeriod, GLAccount
from cnperp.exceptions import ConflictError

log = logging.getLogger(__name__)

# MySQL/MariaDB error numbers worth a retry: the server rolled the transaction
# back (deadlock) or gave up waiting for a row lock.
DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
RETRYABLE_ERRORS = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})


def _share_mode_suffix():
    # ``LOCK IN SHARE MODE`` is understood by MariaDB and by MySQL 8 alike.
    return " LOCK IN SHARE MODE" if connection.vendor == "mysql" else ""


def _require_atomic():
    if not connection.in_atomic_block:
        raise RuntimeError("Row locks are only held inside transaction.atomic().")


def periods_lock_shared(period_ids):
    """Share-lock the periods ``period_ids`` and return ``{id: status}`` for those that exist."""
    _require_atomic()
    ids = sorted(set(period_ids))
    if not ids:
        return {}
    table = AccountingPeriod._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        # Only placeholders are interpolated; the ids travel as parameters.
        sql = f"SELECT id, status FROM {table} WHERE id IN ({marks}) ORDER BY id"  # noqa: S608
        cursor.execute(sql + _share_mode_suffix(), ids)
        return dict(cursor.fetchall())


def periods_after_lock_shared(period_id):
    """Share-lock every period after ``period_id``; return ``[(id, status)]`` in order.

    Under READ COMMITTED only the rows read are locked (no gaps): a close of a
    later month, which locks its row for update, waits for the posting, and
    the posting for it.
    """
    _require_atomic()
    table = AccountingPeriod._meta.db_table
    with connection.cursor() as cursor:
        sql = f"SELECT id, status FROM {table} WHERE id > %s ORDER BY id"  # noqa: S608 (table name only)
        cursor.execute(sql + _share_mode_suffix(), [period_id])
        return list(cursor.fetchall())


def periods_before_lock(period_id):
    """Lock every period before ``period_id`` for update, in order (a close of a later month).

    A posting share-locks the periods of its dates, then the ones after them:
    a close that first locks the months before its own waits for postings
    dated in them, even when its own month has no row yet (nothing would lock
    it), and the postings that follow find it closed.
    """
    _require_atomic()
    list(
        AccountingPeriod.objects.select_for_update().filter(pk__lt=period_id).order_by("pk").values_list("pk")
    )


def rows_lock_shared(model, ids):
    """Share-lock the rows of ``model`` with these primary keys, in key order."""
    _require_atomic()
    ids = sorted({pk for pk in ids if pk is not None})
    if not ids:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        sql = f"SELECT id FROM {table} WHERE id IN ({marks}) ORDER BY id"  # noqa: S608 (placeholders only)
        cursor.execute(sql + _share_mode_suffix(), ids)


def period_lock(period_id):
    """Lock one period for a change of status (close, reopen); ``None`` when it doesn't exist."""
    _require_atomic()
    return AccountingPeriod.objects.select_for_update().filter(pk=period_id).first()


def accounts_lock_shared(account_ids):
    """Share-lock the GL accounts ``account_ids``; return ``{id: (code, is_active)}`` for those that exist.

    A shared lock lets any number of postings use an account at once while an
    edit of the account (deactivation, say) waits for them, and they for it.
    """
    _require_atomic()
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    table = GLAccount._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        sql = f"SELECT id, code, is_active FROM {table} WHERE id IN ({marks}) ORDER BY id"  # noqa: S608
        cursor.execute(sql + _share_mode_suffix(), ids)
        return {row[0]: (row[1], bool(row[2])) for row in cursor.fetchall()}


def documents_lock(queryset):
    """Lock the rows of ``queryset`` (source documents) in primary-key order and return them."""
    _require_atomic()
    return list(queryset.select_for_update().order_by("pk"))


def is_retryable(exc):
    """Whether ``exc`` is a deadlock or a lock-wait timeout that a fresh attempt may clear."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    args = getattr(cause, "args", None) or getattr(exc, "args", ())
    return bool(args) and args[0] in RETRYABLE_ERRORS


def retry_on_lock_conflict(func=None, *, attempts=6, base_delay=0.02):
    """Run ``func`` again when MySQL/MariaDB rolls it back for a deadlock or a lock-wait timeout.

    Put it *outside* ``@transaction.atomic``: the server has already rolled the
    whole transaction back, so only a fresh transaction can be retried. Called
    inside someone else's transaction, it cannot retry (their earlier work is
    gone too) and lets the error go up to them. When every attempt fails the
    caller gets a :class:`ConflictError` (409, "try again"), never a 500.
    """

    def decorate(inner):
        @functools.wraps(inner)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                return inner(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    return inner(*args, **kwargs)
                except OperationalError as exc:
                    if not is_retryable(exc):
                        raise
                    if attempt == attempts:
                        raise ConflictError(
                            "The ledger is busy with other postings of the same records; try again.",
                            code="lock_conflict",
                        ) from exc
                    log.info("retrying %s after lock conflict (attempt %d): %s", inner.__name__, attempt, exc)
                    # Jitter keeps two retrying transactions from colliding in step again.
                    time.sleep(base_delay * attempt * (1 + random.random()))
            raise AssertionError("unreachable")

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate


def atomic_with_retry(func):
    """``retry_on_lock_conflict`` around ``transaction.atomic``: the usual pair for a posting service."""
    return retry_on_lock_conflict(transaction.atomic(func))
