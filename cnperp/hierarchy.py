"""Hierarchies (a ``parent`` on the same table) whose shape is checked again under locks when saved.

A model's ``clean()`` refuses a parent that would make a record its own
ancestor, but it reads the chain before the write: two moves saved at the same
instant ("A under B" and "B under A") each passed it, and together they closed
a loop that the roll-ups never leave. :class:`HeldHierarchy` locks the record
and its new parent's chain in key order when it is saved, so the second move
waits for the first (rather than deadlocking with it), and runs ``clean()``
again on the chain as it then stands: the second move is refused with the
check's own message, naming ``parent``.
"""

from django.db import transaction

# A chain longer than this is walked no further for locking (the checks bound theirs).
LONGEST_CHAIN = 1000


class HeldHierarchy:
    """Mixin for a model with a ``parent`` foreign key to itself and a ``clean()`` that checks it."""

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.parent_id is not None:
                self._hold_hierarchy()
            super().save(*args, **kwargs)

    def _hold_hierarchy(self):
        manager = type(self)._default_manager
        chain, node = {self.parent_id}, self.parent_id
        for _step in range(LONGEST_CHAIN):
            node = manager.filter(pk=node).values_list("parent_id", flat=True).first()
            if node is None or node in chain:
                break
            chain.add(node)
        if self.pk is not None:
            chain.add(self.pk)
        list(manager.select_for_update().filter(pk__in=sorted(chain)).order_by("pk").values_list("pk"))
        parent = manager.filter(pk=self.parent_id).first()
        if parent is not None:  # (an unknown parent is its field check's to refuse)
            self.parent = parent  # as committed now: its ancestors are read afresh
        self.clean()
