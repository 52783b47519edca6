"""Segregation of duties: the person who makes a record is not the one who approves it.

Two checks, on by default (``BANKING_SEGREGATION_OF_DUTIES``): nobody posts a
bank transaction they created, and nobody signs off a reconciliation they
prepared. The services call :func:`check_segregation` inside their own
transaction, so the rule holds from every door (API, admin, commands) and a
refusal changes nothing. Superusers are held to it too: the rule is about two
people, not about permissions.
"""

from django.conf import settings

from cnperp.exceptions import DomainError

SOD_POST = "post_banktransaction"
SOD_FINALIZE = "finalize_bankreconciliation"

# What the maker did, and what the checker may not do after it, in staff's words.
ACTIONS = {
    SOD_POST: ("created this bank transaction", "post it"),
    SOD_FINALIZE: ("prepared this reconciliation", "sign it off"),
}


class SegregationError(DomainError):
    """The same person would make and approve a record (HTTP 403)."""

    status_code = 403
    code = "segregation_of_duties"


def segregation_enforced():
    """Return whether the maker-checker rule is on (``BANKING_SEGREGATION_OF_DUTIES``)."""
    return bool(getattr(settings, "BANKING_SEGREGATION_OF_DUTIES", True))


def same_person(*, user, maker_id):
    """Return whether ``user`` is the maker ``maker_id`` (never true for an unknown maker)."""
    return maker_id is not None and user is not None and user.pk == maker_id


def segregation_refusal(*, user, maker_id, action):
    """Return why ``user`` may not do ``action`` on a record ``maker_id`` made, or ``""`` when they may.

    ``maker_id`` is the primary key of the user who created or prepared the
    record; ``action`` a key of ``ACTIONS`` (``"post_banktransaction"``). Batch
    paths use the reason to skip a record instead of failing the batch.
    """
    if not segregation_enforced() or not same_person(user=user, maker_id=maker_id):
        return ""
    made, approve = ACTIONS.get(action, ("made this record", action.replace("_", " ")))
    return f"you {made}, so someone else must {approve} (segregation of duties)"


def check_segregation(*, user, maker_id, action):
    """Refuse (403, code ``segregation_of_duties``) when ``user`` made the record they now approve."""
    refusal = segregation_refusal(user=user, maker_id=maker_id, action=action)
    if refusal:
        raise SegregationError(refusal[0].upper() + refusal[1:] + ".")
