"""Hierarchies (a ``parent`` on the same table) whose shape is checked again under locks when moved.

A model's ``clean()`` refuses a parent that would make a record its own
ancestor, but it reads the chain before the write: two moves saved at the same
instant ("A under B" and "B under A") each passed it, and together they closed
a loop that the roll-ups never leave. :class:`HeldHierarchy` locks the record
and its new parent's chain in key order when its parent changes, so the second
move waits for the first, and runs ``clean()`` again on the chain as it then
stands: the second move is refused with the check's own message, naming
``parent``. A new record under a parent locks that parent's chain the same way:
a move of the chain waits for it (and then counts it among the children that
must fit), or it waits for the move and its depth is checked where the parent
now stands. A writer that locks the record itself first (``record_update``)
takes the same locks before it (:func:`lock_chain`), so that two moves always
lock in key order and wait for each other rather than deadlock.
"""

from django.db import transaction

# A chain longer than this is walked no further for locking (the checks bound theirs).
LONGEST_CHAIN = 1000


def lock_chain(model, pk, parent_id):
    """Lock the row ``pk`` of ``model`` and the chain from ``parent_id`` up, in key order."""
    manager = model._default_manager
    chain, node = {parent_id}, parent_id
    for _step in range(LONGEST_CHAIN):
        node = manager.filter(pk=node).values_list("parent_id", flat=True).first()
        if node is None or node in chain:
            break
        chain.add(node)
    if pk is not None:
        chain.add(pk)
    list(manager.select_for_update().filter(pk__in=sorted(chain)).order_by("pk").values_list("pk"))


class HeldHierarchy:
    """Mixin for a model with a ``parent`` foreign key to itself and a ``clean()`` that checks it."""

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self._placed():
                self._hold_hierarchy()
            super().save(*args, **kwargs)

    def _placed(self):
        """Whether the record takes a place under a parent: an existing one moved, or a new one."""
        if self.parent_id is None:
            return False
        if self._state.adding:
            # A new record cannot close a loop, but its depth counts its parent's chain: a move
            # of that chain committed meanwhile could push it below the hierarchy's last level.
            return True
        stored = type(self)._default_manager.filter(pk=self.pk).values_list("parent_id", flat=True).first()
        return stored != self.parent_id

    def _hold_hierarchy(self):
        lock_chain(type(self), None if self._state.adding else self.pk, self.parent_id)
        parent = type(self)._default_manager.filter(pk=self.parent_id).first()
        if parent is not None:  # (an unknown parent is its field check's to refuse)
            self.parent = parent  # as committed now: its ancestors are read afresh
        self.clean()
