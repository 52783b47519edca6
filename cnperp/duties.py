"""Segregation of duties: the person who makes a record is not the one who approves it.

Two checks, on by default (``BANKING_SEGREGATION_OF_DUTIES``): nobody posts a
bank transaction, cash submission or float allocation they created or whose
figures they changed (nor a float's return), and nobody signs off a
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
SOD_POST_FLOAT_RETURN = "post_floatreturn"
SOD_FINALIZE = "finalize_bankreconciliation"

# What the maker did, and what the checker may not do after it, in staff's words.
ACTIONS = {
    SOD_POST: ("created this bank transaction or changed its figures", "post it"),
    # Branch cash is where a shortfall hides: the counts are made by one person, posted by another.
    SOD_POST_CASH: ("recorded this cash submission or changed its figures", "post it"),
    SOD_POST_FLOAT: ("recorded this float allocation or changed its figures", "post it"),
    # Who handed out the float does not also book what came back of it.
    SOD_POST_FLOAT_RETURN: ("recorded this float allocation or changed its figures", "post its return"),
    SOD_FINALIZE: ("prepared this reconciliation or decided its matches", "sign it off"),
}


class SegregationError(DomainError):
    """The same person would make and approve a record (HTTP 403)."""

    status_code = 403
    code = "segregation_of_duties"


def figures_changed_by(model, ids, *, user, fields):
    """Return those of ``ids`` (records of ``model``) whose ``fields`` ``user`` changed, from the audit trail.

    Who last saved a record (``updated_by``) is no proof: matching, accepting a
    suggestion or pressing Save on an unchanged form stamp it too. The audit
    trail holds what each change changed, and by whom.
    """
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    if user is None or not ids or not segregation_enforced():
        return set()
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_pk__in=[str(pk) for pk in ids],
        actor_id=user.pk,
        action=LogEntry.Action.UPDATE,
        changes__has_any_keys=sorted(fields),
    )
    return set(entries.values_list("object_pk", flat=True))


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
