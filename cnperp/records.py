"""Writes to master data (dimensions, accounts, rules, profiles) that has no service of its own.

The record's own checks (``full_clean``: field validators, ``clean()``, unique
constraints) run before every save, as they do in the admin's forms, so the API
and the admin refuse the same things.
"""

from django.db import IntegrityError, transaction

from accounting.locks import atomic_with_retry
from cnperp.hierarchy import HeldHierarchy, lock_chain


def _stamp(record, user):
    if user is None or not hasattr(record, "updated_by_id"):
        return
    if record._state.adding:
        record.created_by = user
    record.updated_by = user


def save_checked(record):
    """Save ``record``, already checked; refuse it as its checks do when a save at the same instant won.

    The checks (``full_clean``) read before the write, so two saves at the same instant both
    pass them and the database's unique index refuses the second with an ``IntegrityError``
    that names only the index. At READ COMMITTED the checks, run again once the first save has
    committed, see its row and refuse with the field and the reason (a ``ValidationError``).
    """
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            record.save()
    except IntegrityError:
        record.full_clean()
        raise


@atomic_with_retry
def record_create(*, model, user, **data):
    """Create a ``model`` row from ``data`` after its own checks."""
    record = model(**data)
    _stamp(record, user)
    record.full_clean()
    save_checked(record)
    return record


@atomic_with_retry
def record_update(*, model, pk, user, **data):
    """Change the row ``pk`` of ``model``, locked against a concurrent change."""
    parent = data.get("parent")
    if issubclass(model, HeldHierarchy) and parent is not None:
        lock_chain(model, pk, parent.pk)  # before the record's own lock: every move locks in key order
    record = model.objects.select_for_update().get(pk=pk)
    for name, value in data.items():
        setattr(record, name, value)
    _stamp(record, user)
    record.full_clean()
    save_checked(record)
    return record


@transaction.atomic
def record_delete(*, model, pk):
    """Delete the row ``pk``; ``PROTECT`` refuses while anything refers to it."""
    model.objects.select_for_update().get(pk=pk).delete()
