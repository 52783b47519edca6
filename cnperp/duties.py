"""Segregation of duties: the person who makes a record is not the one who approves it.

Two checks, on by default (``BANKING_SEGREGATION_OF_DUTIES``): nobody posts a
bank transaction, cash submission or float allocation they created or last
changed, and nobody signs off a
reconciliation they prepared or whose matches they decided by hand. The
services call :func:`check_segregation` inside their own transaction, so the
rule holds from every door (API, admin, commands) and a refusal changes
nothing. Superusers are held to it too: the rule is about two people, not
about permissions.
"""

from django.conf import settings

from cnperp.exceptions import DomainError

SOD_POST = "post_banktransaction"
SOD_POST_CASH = "post_cashsubmission"
SOD_POST_FLOAT = "post_floatallocation"
SOD_FINALIZE = "finalize_bankreconciliation"

# What the maker did, and what the checker may not do after it, in staff's words.
ACTIONS = {
    SOD_POST: ("created or changed this bank transaction", "post it"),
    # Branch cash is where a shortfall hides: the counts are made by one person, posted by another.
    SOD_POST_CASH: ("recorded or changed this cash submission", "post it"),
    SOD_POST_FLOAT: ("recorded or changed this float allocation", "post it"),
    SOD_FINALIZE: ("prepared this reconciliation or decided its matches", "sign it off"),
}


class SegregationError(DomainError):
    """The same person would make and approve a record (HTTP 403)."""

    status_code = 403
    code = "segregation_of_duties"


def segregation_enforced():
    """Return whether the maker-checker rule is on (``BANKING_SEGREGATION_OF_DUTIES``)."""
    return bool(getattr(settings, "BANKING_SEGREGATION_OF_DUTIES", True))


def same_person(*, user, maker_id=None, makers=()):
    """Return whether ``user`` is the maker ``maker_id`` or one of ``makers`` (never for an unknown one)."""
    ids = {maker_id, *makers} - {None}
    return user is not None and user.pk in ids


def segregation_refusal(*, user, action, maker_id=None, makers=()):
    """Return why ``user`` may not do ``action`` on a record they made, or ``""`` when they may.

    ``maker_id`` and ``makers`` are the primary keys of the users who made the
    record: who created it and who last changed it (a posting), who prepared it
    and who decided its matches (a reconciliation). ``action`` is a key of
    ``ACTIONS`` (``"post_banktransaction"``). Batch paths use the reason to skip
    a record instead of failing the batch.
    """
    if not segregation_enforced() or not same_person(user=user, maker_id=maker_id, makers=makers):
        return ""
    made, approve = ACTIONS.get(action, ("made this record", action.replace("_", " ")))
    return f"you {made}, so someone else must {approve} (segregation of duties)"


def check_segregation(*, user, action, maker_id=None, makers=()):
    """Refuse (403, code ``segregation_of_duties``) when ``user`` made the record they now approve."""
    refusal = segregation_refusal(user=user, maker_id=maker_id, makers=makers, action=action)
    if refusal:
        raise SegregationError(refusal[0].upper() + refusal[1:] + ".")
