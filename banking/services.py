"""Writes to banking documents: create, change and delete drafts; transfers.

Every door (API, admin, commands, demo) calls these, so a rule is enforced the
same way whichever door a change comes through. Posting and reversal live in
``banking.posting``; once a document is posted it is final here too.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting import locks
from accounting.models import AccountingPeriod
from banking.choices import (
    TYPE_DIRECTION,
    CashSubmissionStatus,
    Direction,
    MatchStatus,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    TransactionType,
    TransferStatus,
)
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    ReconciliationMatch,
    not_after_today,
)
from banking.splits import allocation_shares
from cnperp import audit
from cnperp.exceptions import ConflictError
from dimensions.validation import check_active_dimensions

CENT = Decimal("0.01")


def finalized_refusal(reconciliation, change=None):
    """Return the 409 that a change to the finalized ``reconciliation``'s month gets (``change``: what
    is refused, its matches by default)."""
    change = change or "its matches can no longer change"
    who = f" by {reconciliation.approved_by.get_username()}" if reconciliation.approved_by_id else ""
    when = f" on {reconciliation.approved_at:%Y-%m-%d}" if reconciliation.approved_at else ""
    return ConflictError(
        f"The reconciliation of bank account {reconciliation.bank_account_id} for "
        f"{reconciliation.period_id} was finalized{who}{when}; {change}. "
        "Correct the books in an open period instead.",
        code="reconciliation_finalized",
    )


def finalized_months(pairs, *, balances=False):
    """Return ``{(bank_account_id, period): reconciliation}`` for the signed-off months among ``pairs``.

    ``pairs`` holds ``(bank_account_id, day)``. A signed-off month is what the
    controller approved: its book items, their postings and its statement lines
    stay as they were, so nothing dated in it may be added, posted, reversed,
    changed or removed on that account (a scoped sign-off locks the whole month,
    as the matcher's scope lock does). With ``balances`` (a posting or reversal
    on the account's GL account), a month signed off *after* the day's counts
    too, the earliest one: its book opening and closing balances hold every
    line dated before them, so a back-dated line would change what was approved.
    """
    wanted = {(account, AccountingPeriod.code_for(day)) for account, day in pairs if account and day}
    if not wanted:
        return {}
    months = {period for _account, period in wanted}
    found = {}
    for snapshot in (
        BankReconciliation.objects.select_related("approved_by")
        .filter(
            Q(period_id__gte=min(months)) if balances else Q(period_id__in=months),
            status=ReconciliationState.FINALIZED,
            bank_account_id__in={account for account, _period in wanted},
        )
        .order_by("period_id", "pk")
    ):
        for key in wanted:
            account, period = key
            if account == snapshot.bank_account_id and (
                period == snapshot.period_id or (balances and period < snapshot.period_id)
            ):
                found.setdefault(key, snapshot)
    return found


def refuse_finalized_months(pairs, change):
    """Raise :func:`finalized_refusal` (``change`` says what is refused) for the first signed-off month."""
    found = finalized_months(pairs)
    if found:
        raise finalized_refusal(found[min(found)], change)


BOOK_CHANGE = "nothing dated in it can be recorded, posted, reversed, changed or deleted on that account"
BALANCE_CHANGE = (
    "nothing dated in it or before it can be posted or reversed on that account: it would change the "
    "book balances that were approved"
)


def refuse_signed_off(bank_account_id, day):
    """Share-lock the account, then refuse a change dated ``day`` in its signed-off month (409)."""
    bank_accounts_lock_shared([bank_account_id])
    refuse_finalized_months([(bank_account_id, day)], BOOK_CHANGE)


def balances_refusal(snapshot, period):
    """The 409 for posting into ``period`` on an account whose month ``snapshot`` is signed off: that
    month itself, or one after it whose balances the posting would move."""
    return finalized_refusal(snapshot, BOOK_CHANGE if snapshot.period_id == period else BALANCE_CHANGE)


def refuse_signed_off_balances(bank_account_id, day):
    """Share-lock the account, then refuse a posting or reversal on its GL account dated ``day`` in or
    before one of its signed-off months (409): the month's book balances would move."""
    bank_accounts_lock_shared([bank_account_id])
    found = finalized_months([(bank_account_id, day)], balances=True)
    if found:
        raise balances_refusal(found[min(found)], AccountingPeriod.code_for(day))


def bank_accounts_lock_shared(ids):
    """Share-lock bank accounts before changing what their books hold (a draft, a posting, a reversal).

    Changes run side by side; a sign-off, which locks its account for update
    (``scope_lock``), waits for those under way, and they for it: a change then
    either lands before the sign-off reads the month, or sees it signed off and
    is refused. Taken after the periods and GL accounts, before the documents.
    """
    locks.rows_lock_shared(BankAccount, ids)


def _check_draft(document):
    if document.posting_status != PostingStatus.DRAFT:
        label = document._meta.verbose_name
        # A reversed document has been reversed already: what is left is to record the right one.
        remedy = (
            "record the right one as a new document instead"
            if document.posting_status == PostingStatus.REVERSED
            else "reverse it and record a correction instead"
        )
        raise ConflictError(
            f"This {label} is {document.get_posting_status_display().lower()} and cannot be changed; "
            f"{remedy}.",
            code=f"document_{document.posting_status}",
        )


def _leg_refusal(txn, change):
    """The 409 for changing or deleting (``change``) a draft leg of a transfer on its own, saying what
    can be done instead. A leg mirrors its transfer, which has no edit of its own."""
    transfer = BankTransfer.objects.filter(pk=txn.transfer_id).values_list("status", flat=True).first()
    start = f'This transaction is a leg of transfer "{txn.transfer_id}" and is not {change} on its own; '
    if txn.direction == Direction.IN:
        remedy = (
            "to put the receipt right, delete this draft receiving leg (the transfer goes back in "
            "transit) and record the receipt again."
        )
    elif transfer == TransferStatus.RECEIVED:
        remedy = (
            "the transfer is received, so post it; to undo the receipt first, delete the draft "
            "receiving leg (or reverse it once posted)."
        )
    elif transfer == TransferStatus.FAILED:
        remedy = "the transfer failed, so this draft is never posted: it stays as the transfer's record."
    else:
        # Marking it failed keeps its sending leg from ever posting.
        remedy = (
            f"if the transfer was recorded wrongly, mark it failed (POST /api/v1/banking/transfers/"
            f"{txn.transfer_id}/fail, or Mark failed in the admin) and record it anew."
        )
    return ConflictError(start + remedy)


def _a(noun):
    """``noun`` with its indefinite article: "an interest", "a fee"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _check_bank_account(document):
    for name in ("bank_account", "from_bank_account", "to_bank_account"):
        if getattr(document, f"{name}_id", None) is None:
            continue
        account = getattr(document, name)
        if not account.is_active:
            raise ValidationError({name: f"Bank account {account.id} is inactive."})


def _check_bank_transaction(txn):
    expected = TYPE_DIRECTION.get(txn.transaction_type)
    kind = _a(txn.get_transaction_type_display().lower()).capitalize()
    if expected is None and txn.direction not in (Direction.IN, Direction.OUT):
        raise ValidationError({"direction": f"{kind} needs a direction, in or out."})
    if expected is not None and txn.direction and txn.direction != expected:
        raise ValidationError(
            {
                "direction": f"{kind} always moves money "
                f"{expected}; leave the direction empty or set it to '{expected}'."
            }
        )
    if expected is not None:
        txn.direction = expected
    if txn.transaction_type == TransactionType.TRANSFER and not txn.transfer_id:
        # One leg alone would post into or out of transit with no other side.
        raise ValidationError(
            {
                "transaction_type": "A transfer is recorded as a transfer, with both its legs "
                "(POST /api/v1/banking/transfers, or Bank transfers in the admin)."
            }
        )


def _save(document, *, user, validate=None):
    if document._state.adding and user is not None:
        document.created_by = user
    if user is not None:
        document.updated_by = user
    if validate:
        validate(document)
    _check_bank_account(document)
    check_active_dimensions(document)
    document.full_clean()
    if isinstance(document, BankTransaction):
        refuse_signed_off(document.bank_account_id, document.transaction_date)
    elif isinstance(document, FloatAllocation):
        # A float is cash out of the account on its date: drafted there, it could never be posted.
        refuse_signed_off(document.bank_account_id, document.allocation_date)
        if document.return_date and document.returned_amount:
            # Its return is cash back into the account on that day: the same holds for it.
            refuse_signed_off(document.bank_account_id, document.return_date)
    document.save()
    return document


def _save_state(document, *, user, fields):
    """Save a change of a document's state (``fields``): their own checks, not a new document's."""
    document.updated_by = user
    document.full_clean(exclude=[f.name for f in document._meta.fields if f.name not in fields])
    document.save(update_fields=[*fields, "updated_by", "updated_at"])
    return document


def _apply(document, data):
    for name, value in data.items():
        setattr(document, name, value)
    return document


@transaction.atomic
def bank_account_update(*, bank_account_id, user, **data):
    """Change a bank account; its GL account and currency are fixed once it has history.

    The reports find an account's history through its GL account: moving it (or
    the currency) would make posted lines, transactions and statements vanish
    from them. Name, bank and the other fields stay editable.
    """
    account = BankAccount.objects.select_for_update().get(pk=bank_account_id)
    _apply(account, data)
    refusal = account.ledger_change_refusal()
    if refusal:
        field, message = refusal
        raise ConflictError(message, field=field, code="bank_account_in_use")
    if user is not None:
        account.updated_by = user
    account.full_clean()
    account.save()
    return account


def _account_of(transaction_id, model=BankTransaction):
    # Read before the document's own lock, to take the account's first (the global order).
    return model.objects.filter(pk=transaction_id).values_list("bank_account_id", flat=True).first()


def _lock_accounts_of(model, pk, data):
    """Share-lock the account a draft is on and the one ``data`` moves it to, before the draft."""
    moved_to = data.get("bank_account", data.get("bank_account_id"))
    bank_accounts_lock_shared([_account_of(pk, model), getattr(moved_to, "pk", moved_to)])


@transaction.atomic
def bank_transaction_create(*, user, **data):
    """Record a draft bank transaction."""
    return _save(BankTransaction(**data), user=user, validate=_check_bank_transaction)


def refuse_matched(txn, then):
    """Refuse to change a transaction that explains a statement line: unmatch it first.

    A changed amount or date (or a reversal, or a deletion) would leave the
    bank's line paired with a transaction that no longer says what the line
    says, and the reconciliation would look complete while it is not; in a
    finalized month it would rewrite what the controller signed off. The caller
    holds the transaction's row lock, and the matcher locks a transaction before
    it changes its status, so what is read here cannot change before the caller
    commits. ``then`` ends the message: "reverse it", "change it", ...
    """
    matched = ReconciliationMatch.objects.filter(bank_transaction_id=txn.pk, status=MatchStatus.CONFIRMED)
    line = matched.order_by("statement_line_id").select_related("statement_line").first()
    if line is None and txn.reconciliation_status == ReconciliationStatus.UNRECONCILED:
        return
    if line is not None:
        statement_line = line.statement_line
        what = (
            f'statement line "{statement_line.pk}" ({statement_line.booking_date}, {statement_line.amount})'
        )
    else:
        what = "a statement line"
    raise ConflictError(
        f'Bank transaction "{txn.pk}" is {txn.get_reconciliation_status_display().lower()} with {what}: '
        f"unmatch it first (reconciliation, Unmatch), then {then}.",
        code="transaction_matched",
    )


@transaction.atomic
def bank_transaction_update(*, transaction_id, user, **data):
    """Change a draft bank transaction; posted ones are final, matched ones wait for an unmatch."""
    _lock_accounts_of(BankTransaction, transaction_id, data)
    txn = BankTransaction.objects.select_for_update().get(pk=transaction_id)
    _check_draft(txn)
    # Moving a draft out of a signed-off month changes that month too (the new place: _save).
    refuse_signed_off(txn.bank_account_id, txn.transaction_date)
    if txn.transfer_id:
        # A leg mirrors its transfer; changing one alone would break the pair.
        raise _leg_refusal(txn, "changed")
    changed = {name for name, value in data.items() if getattr(txn, name) != value}
    moved = bool(changed & MATCHED_FIELDS)
    if moved:
        refuse_matched(txn, "change it")
    if changed & DEPOSIT_FIELDS:
        _refuse_named_deposit(txn)
    if "amount" in changed:
        _refuse_below_claimed(txn, data["amount"])
    if "transaction_date" in changed:
        _refuse_after_its_submissions(txn, data["transaction_date"])
    saved = _save(_apply(txn, data), user=user, validate=_check_bank_transaction)
    if moved:
        # The matcher suggested it for what it was (account, amount, date): that may no longer hold.
        from banking.matching import drop_suggestions_on  # matching builds on these services

        drop_suggestions_on([txn.pk])
    return saved


# What a match (and the month's reconciliation by dimension) rests on; the narrative and
# references may still be corrected while the transaction is matched.
MATCHED_FIELDS = frozenset(
    {
        "bank_account",
        "transaction_type",
        "direction",
        "amount",
        "transaction_date",
        "value_date",
        "branch",
        "cost_center",
        "project",
        "department",
    }
)
# What makes a transaction a cash submission's deposit (see _submission_check).
DEPOSIT_FIELDS = frozenset({"bank_account", "transaction_type", "direction"})


# How far back a correction's chain is followed (a correction of a correction of ...).
MAX_CORRECTION_CHAIN = 20


def correction_chains(corrects):
    """Return ``{deposit: [deposit, the one it corrects, ...]}`` for ``{deposit: corrects_id}``."""
    chains = {pk: [pk] for pk in corrects}
    tips = {pk: earlier for pk, earlier in corrects.items() if earlier}  # the next deposit back, per chain
    for _ in range(MAX_CORRECTION_CHAIN):
        if not tips:
            break
        for draft_id, earlier in tips.items():
            chains[draft_id].append(earlier)
        parents = dict(
            BankTransaction.objects.filter(pk__in=set(tips.values()), corrects__isnull=False).values_list(
                "pk", "corrects_id"
            )
        )
        tips = {
            draft_id: parents[earlier]
            for draft_id, earlier in tips.items()
            if earlier in parents and parents[earlier] not in chains[draft_id]
        }
    return chains


def _carried_by(deposit, *, leaving_out=None):
    """The submissions whose cash ``deposit`` clears: those naming it or a deposit it corrects (the
    correction clears their cash again), neither cancelled nor reversed (they put none in transit)."""
    chain = correction_chains({deposit.pk: deposit.corrects_id})[deposit.pk]
    return (
        CashSubmission.objects.filter(deposit_transaction_id__in=chain)
        .exclude(pk=leaving_out)
        .exclude(status=CashSubmissionStatus.CANCELLED)
        .exclude(posting_status=PostingStatus.REVERSED)
    )


def _refuse_after_its_submissions(deposit, day):
    """A deposit moved after the day a submission it carries says the bank credited the cash would
    make that submission credited before its own deposit (see _deposit_dated_by)."""
    earlier = _carried_by(deposit).filter(deposit_date__lt=day).order_by("deposit_date", "pk").first()
    if earlier is not None:
        raise ValidationError(
            {
                "transaction_date": f'Cash submission "{earlier.pk}" says this deposit credited its cash '
                f"on {earlier.deposit_date}; the deposit cannot be dated later ({day}). "
                + (
                    "Change the submission's deposit date first."
                    if earlier.posting_status == PostingStatus.DRAFT
                    else "The submission is posted with that date: the deposit keeps a date on or before it."
                )
            }
        )


def _refuse_named_deposit(txn):
    named = CashSubmission.objects.filter(deposit_transaction_id=txn.pk).values_list("pk", flat=True)
    first = (
        named.order_by("pk").first() or _carried_by(txn).order_by("pk").values_list("pk", flat=True).first()
    )
    if first is not None:
        raise ConflictError(
            f'Bank transaction "{txn.pk}" carries the cash of cash submission "{first}": its account, type '
            "and direction stay as they are while a submission names it (or the deposit it corrects).",
            code="deposit_named",
        )


def deposit_correction_check(deposit, changes):
    """Hold the correction of ``deposit`` to what a change of the draft is held to.

    A deposit that carried branch cash passes it on to its correction, which posts through cash in
    transit in its place (``banking.posting``): moved to another account, type or direction it
    would clear nothing, and lowered below what its submissions say reached the bank the rest would
    stay in cash in transit for good. Checked before the deposit is reversed, so a refusal changes
    nothing.
    """
    moved = {name for name in DEPOSIT_FIELDS if name in changes and changes[name] != getattr(deposit, name)}
    if moved and _carried_by(deposit).exists():
        _refuse_named_deposit(deposit)
    if "amount" in changes:
        _refuse_below_claimed(deposit, changes["amount"])


@transaction.atomic
def bank_transaction_delete(*, transaction_id, user):
    """Delete a draft bank transaction that nothing refers to.

    The matcher's suggestions for it, and the ones staff rejected or unmatched,
    are working notes about the draft and go with it; a confirmed match stops
    the deletion (unmatch first). A transfer's draft receiving leg goes with its
    receipt: the transfer is back in transit (or initiated), its receipt to be
    recorded again; a sending leg is not deleted on its own.
    """
    bank_accounts_lock_shared([_account_of(transaction_id)])
    txn = BankTransaction.objects.select_for_update().get(pk=transaction_id)
    _check_draft(txn)
    refuse_signed_off(txn.bank_account_id, txn.transaction_date)
    receipt_undone = txn.transfer_id is not None and txn.direction == Direction.IN
    if txn.transfer_id and not receipt_undone:
        raise _leg_refusal(txn, "deleted")
    refuse_matched(txn, "delete it")
    ReconciliationMatch.objects.filter(bank_transaction_id=txn.pk).exclude(
        status=MatchStatus.CONFIRMED
    ).delete()
    txn.delete()
    if receipt_undone:
        bank_transfer_receipt_reversed(transfer_id=txn.transfer_id, user=user)


@transaction.atomic
def cash_submission_create(*, user, **data):
    """Record cash a branch has sent to the bank."""
    submission = _deposited_when_counted(CashSubmission(**data), data)
    return _save(submission, user=user, validate=_submission_check(None))


@transaction.atomic
def cash_submission_update(*, submission_id, user, **data):
    submission = CashSubmission.objects.select_for_update().get(pk=submission_id)
    _check_draft(submission)
    cancelling = data.get("status") == CashSubmissionStatus.CANCELLED
    if cancelling and submission.status != CashSubmissionStatus.CANCELLED:
        _refuse_under_posted_deposit(submission, "cancelled")
    elif _named_deposit(data, submission.deposit_transaction_id) != submission.deposit_transaction_id:
        _refuse_under_posted_deposit(submission, "moved off it")
    elif "deposited_amount" in data and _lowered(submission.deposited_amount, data["deposited_amount"]):
        _refuse_under_posted_deposit(submission, "given a lower deposited amount")
    # A cancelled submission sent its deposit through nothing: taken up again, the deposit it names
    # is checked afresh (it may have been posted through its deposit rule meanwhile).
    check = _submission_check(
        None if submission.status == CashSubmissionStatus.CANCELLED else submission.deposit_transaction_id
    )
    return _save(_deposited_when_counted(_apply(submission, data), data), user=user, validate=check)


def _named_deposit(data, current):
    """The deposit ``data`` names (by id or as a transaction), else ``current``."""
    if "deposit_transaction_id" in data:
        return data["deposit_transaction_id"]
    if "deposit_transaction" in data:
        return getattr(data["deposit_transaction"], "pk", None)
    return current


def _lowered(before, after):
    """Whether a deposited amount goes from ``before`` down to ``after`` (``None``: nothing)."""
    return before is not None and (after is None or after < before)


# What to do once the deposit is reversed, for each change refused before (a reversed deposit
# carries nothing, so a new deposited amount goes with the deposit that carries it, or none yet).
_AFTER_REVERSING_THE_DEPOSIT = {
    "cancelled": "cancel the submission.",
    "deleted": "delete the submission.",
    "moved off it": "name the other deposit on the submission.",
    "given a lower deposited amount": "send the new deposited amount together with the deposit that "
    "carries it (a new one), or with no deposit yet.",
}


def _refuse_under_posted_deposit(submission, change):
    """Refuse a ``change`` (cancelled, deleted, moved off it, a lower deposited amount) of a submission
    whose deposit (or its correction) was posted through cash in transit: the deposit's credit
    there waits for this submission's debit, which the change would take away or cut. Reversing
    the deposit first takes the credit back."""
    from banking.posting import deposit_transit_account  # posting builds on these services

    deposit_id = submission.deposit_transaction_id
    for _ in range(MAX_CORRECTION_CHAIN):
        if deposit_id is None:
            return
        # Locked: a deposit being posted now is judged as it ends up.
        deposit = BankTransaction.objects.select_for_update().filter(pk=deposit_id).first()
        if deposit is None:
            return
        if deposit.posting_status == PostingStatus.POSTED:
            account = deposit_transit_account(deposit.pk)
            if account is not None:
                raise ConflictError(
                    f'Cash submission "{submission.pk}" cannot be {change}: its deposit "{deposit.pk}" '
                    f'was posted through cash in transit (GL account "{account}"), and only this '
                    "submission's posting clears that. Reverse the deposit first "
                    f"(transactions/{deposit.pk}/reverse), then {_AFTER_REVERSING_THE_DEPOSIT[change]}",
                    code="deposit_posted",
                )
            return
        # Reversed: its correction, if any, took the cash over.
        deposit_id = (
            BankTransaction.objects.filter(corrects_id=deposit.pk).values_list("pk", flat=True).first()
        )


def _deposited_when_counted(submission, data):
    """The status follows what reached the bank: deposited once the deposited amount is given,
    submitted again when it is cleared; a cancelled submission stays cancelled. A status the
    request sends itself must agree (deposited with nothing deposited: the model's check)."""
    following = (CashSubmissionStatus.SUBMITTED, CashSubmissionStatus.DEPOSITED)
    counted = submission.deposited_amount is not None
    if "status" not in data and submission.status in following:
        submission.status = following[counted]
    elif counted and submission.status == CashSubmissionStatus.SUBMITTED:
        raise ValidationError(
            {
                "status": f"What reached the bank is given ({submission.deposited_amount}), so the cash "
                'is deposited: set the status to "deposited" (or leave it out), or clear the '
                "deposited amount."
            }
        )
    return submission


def _posted_through_transit(deposit):
    """Whether posted ``deposit`` went through cash in transit.

    A submission naming it says so (none may name a deposit posted through its deposit rule, nor
    leave one posted through cash in transit); else its posting does, when it credited an account
    a cash-in-transit rule names. Today's rule alone failed a deposit posted to the account of a
    branch's rule, or before the rule's account was changed.
    """
    from banking.posting import deposit_transit_account  # posting builds on these services

    return deposit_transit_account(deposit.pk) is not None


def _refuse_another_transit(submission, deposit_id):
    """A posted submission may name only a deposit that clears the cash-in-transit account its own
    posting debited: one that clears another (a rule for another branch, or one changed since)
    would leave this submission's cash there and put the other account in credit."""
    from banking.posting import submission_posted_transit, submission_transit

    own = submission_posted_transit(submission)
    cleared = submission_transit(submission).account
    if own is not None and cleared is not None and own != cleared:
        raise ValidationError(
            {
                "deposit_transaction": f'Bank transaction "{deposit_id}" cannot carry this cash: it clears '
                f'cash in transit on GL account "{cleared}", and this submission\'s posting put its cash on '
                f'"{own}". Reverse the submission and record it again naming the deposit; it then posts '
                f'to "{cleared}".'
            }
        )


def _submission_check(previous_deposit_id):
    """Check the deposit a cash submission names (its dates are the model's ``clean``).

    The named deposit posts through cash in transit instead of its deposit rule
    (``banking.posting``), so that is what clears the cash the submission put
    in transit. It must therefore be a deposit into the submission's account,
    not reversed, and not already posted through its deposit rule: a deposit
    posted before any submission named it went to the deposit's contra account
    (sales, say), and the cash would stay in transit for good. A deposit
    another submission already names (one deposit of several submissions) was
    posted through cash in transit and may be named again, and a deposit the
    submission named while it was a draft may have been posted since. The
    type and account are checked on every change (the submission may move to
    another account); the transaction side keeps them while it is named.
    """

    def check(submission):
        deposit_id = submission.deposit_transaction_id
        if deposit_id is None:
            _refuse_undated_deposit(submission)
            return
        if submission.status == CashSubmissionStatus.CANCELLED and deposit_id == previous_deposit_id:
            # A cancelled submission posts nothing and sends no deposit through cash in transit: it
            # may keep naming the deposit it named, reversed since (reversing it is how a
            # submission whose deposit was posted gets cancelled). Taken up again, it is checked.
            return
        # Locked: a deposit being posted now is judged as it ends up (posted through its rule or not).
        deposit = BankTransaction.objects.select_for_update().get(pk=deposit_id)
        problem = None
        if deposit.transaction_type != TransactionType.DEPOSIT:
            problem = f"it is a {deposit.get_transaction_type_display().lower()}, not a deposit"
        elif deposit.bank_account_id != submission.bank_account_id:
            problem = f"it went into {deposit.bank_account_id}, not {submission.bank_account_id}"
        elif deposit.posting_status == PostingStatus.REVERSED:
            # Even when it was named before: a reversed deposit clears nothing.
            problem = "it has been reversed"
        elif deposit_id == previous_deposit_id:
            pass  # named while it was a draft: posted since, through cash in transit
        elif deposit.posting_status == PostingStatus.POSTED and not _posted_through_transit(deposit):
            problem = (
                "it was posted through its deposit rule before any submission named it, so it cannot "
                "clear cash in transit; reverse it, correct it, and name the correction"
            )
        if problem:
            raise ValidationError(
                {"deposit_transaction": f'Bank transaction "{deposit_id}" cannot carry this cash: {problem}.'}
            )
        if submission.posting_status == PostingStatus.POSTED:  # a draft takes the deposit's account
            _refuse_another_transit(submission, deposit_id)
        _refuse_more_than_deposited(submission, deposit)
        _deposit_dated_by(submission, deposit)

    return check


def _refuse_undated_deposit(submission):
    """What reached the bank needs the day it did: the variance report counts the cash as credited
    in the month of its ``deposit_date``, and the over/short posts on it."""
    if submission.deposited_amount is not None and submission.deposit_date is None:
        raise ValidationError(
            {
                "deposit_date": "Give the day the bank credited the cash: the deposited amount is "
                "given, and its difference from the expected amount posts on that day (or name the "
                "deposit, whose date it then takes)."
            }
        )


def _deposit_dated_by(submission, deposit):
    """The deposit date is the named deposit's unless given, and never before it: the cash cannot
    have been credited before the bank transaction that credited it."""
    if submission.deposited_amount is not None and submission.deposit_date is None:
        submission.deposit_date = deposit.transaction_date
    if submission.deposit_date and submission.deposit_date < deposit.transaction_date:
        raise ValidationError(
            {
                "deposit_date": f'Bank transaction "{deposit.pk}" credited the cash on '
                f"{deposit.transaction_date}; the deposit date cannot be earlier "
                f"({submission.deposit_date})."
            }
        )


def submission_deposit_check(submission):
    """Check the deposit ``submission`` names now, as a new submission's is checked (see above)."""
    _submission_check(None)(submission)


def _claimed(deposit, *, leaving_out=None):
    """What the live submissions whose cash ``deposit`` clears say reached the bank through it."""
    amounts = (
        _carried_by(deposit, leaving_out=leaving_out)
        .filter(deposited_amount__isnull=False)
        .values_list("deposited_amount", flat=True)
    )
    return sum(amounts, Decimal("0.00"))


def _refuse_below_claimed(deposit, amount):
    """A deposit lowered below what its submissions say reached the bank would leave the rest in
    cash in transit for good: the same rule as :func:`_refuse_more_than_deposited`, from its side."""
    claimed = _claimed(deposit)
    if amount is not None and claimed and amount < claimed:
        raise ValidationError(
            {
                "amount": f"The cash submissions naming this deposit (or the one it corrects) say "
                f"{claimed} reached the bank through it; it cannot carry less ({amount})."
            }
        )


def _refuse_more_than_deposited(submission, deposit):
    """Refuse submissions saying more reached the bank than their deposit carried.

    What reached the bank clears cash in transit through the deposit: claimed
    beyond the deposit's amount, the excess stays in transit for good while the
    variance report shows the submission as (nearly) even.
    """
    if submission.deposited_amount is None:
        return
    claimed = submission.deposited_amount + _claimed(deposit, leaving_out=submission.pk)
    if claimed > deposit.amount:
        raise ValidationError(
            {
                "deposited_amount": f'Bank transaction "{deposit.pk}" carried {deposit.amount}; the '
                f"submissions naming it would say {claimed} reached the bank."
            }
        )


@transaction.atomic
def cash_submission_delete(*, submission_id, user):
    submission = CashSubmission.objects.select_for_update().get(pk=submission_id)
    _check_draft(submission)
    if submission.status != CashSubmissionStatus.CANCELLED:
        _refuse_under_posted_deposit(submission, "deleted")
    submission.delete()


def _check_float(allocation):
    if allocation.returned_amount and allocation.returned_amount > allocation.amount:
        raise ValidationError({"returned_amount": "More cannot come back than was allocated."})
    if allocation.returned_amount and not allocation.return_date:
        raise ValidationError({"return_date": "Give the date the float came back."})


@transaction.atomic
def float_allocation_create(*, user, **data):
    """Record a cash float given to a branch."""
    return _save(FloatAllocation(**data), user=user, validate=_check_float)


@transaction.atomic
def float_allocation_update(*, allocation_id, user, **data):
    _lock_accounts_of(FloatAllocation, allocation_id, data)
    allocation = FloatAllocation.objects.select_for_update().get(pk=allocation_id)
    _check_draft(allocation)
    # Moving a draft out of a signed-off month changes that month too (the new place: _save).
    refuse_signed_off(allocation.bank_account_id, allocation.allocation_date)
    return _save(_apply(allocation, data), user=user, validate=_check_float)


@transaction.atomic
def float_allocation_delete(*, allocation_id, user):
    _lock_accounts_of(FloatAllocation, allocation_id, {})
    allocation = FloatAllocation.objects.select_for_update().get(pk=allocation_id)
    _check_draft(allocation)
    refuse_signed_off(allocation.bank_account_id, allocation.allocation_date)
    allocation.delete()


# --- Transfers ---------------------------------------------------------------


class AllocationError(ValidationError):
    """One allocation of a transfer is at fault: ``index`` (0 for the first) and its fields' messages.

    It reads ``{"allocations": "Allocation 2: ..."}``, as the admin's form shows it; ``problems``
    (``{"cost_center": ["..."]}``, ``__all__`` for the allocation as a whole) lets the API name the
    allocation and the field as its client sent them, as it does for an unknown cost centre.
    """

    def __init__(self, index, problems, message):
        self.index = index
        self.problems = problems
        super().__init__({"allocations": message})


def transfer_allocations_check(amount, allocations):
    """Raise ``ValidationError`` unless the allocations split ``amount`` exactly.

    ``allocations`` are mappings (or objects) with ``amount`` and the dimension
    ids; no combination of cost centre, project and department may appear twice.
    """

    def get(allocation, name):
        if isinstance(allocation, dict):
            return allocation.get(name) or allocation.get(f"{name}_id")
        return getattr(allocation, f"{name}_id", None)

    if not allocations:
        return
    total = Decimal(0)
    seen = set()
    for position, allocation in enumerate(allocations, start=1):
        value = allocation["amount"] if isinstance(allocation, dict) else allocation.amount
        if value is None or value <= 0:
            raise AllocationError(
                position - 1,
                {"amount": ["The amount must be positive."]},
                f"Allocation {position}: the amount must be positive.",
            )
        total += value
        key = tuple(
            getattr(get(allocation, name), "pk", get(allocation, name))
            for name in ("cost_center", "project", "department")
        )
        if key in seen:
            raise AllocationError(
                position - 1,
                {"__all__": ["The same cost centre, project and department as an earlier allocation."]},
                f"Allocation {position} repeats a combination of dimensions.",
            )
        seen.add(key)
    if total != amount:
        raise ValidationError(
            {"allocations": f"The allocations add up to {total}, not to the transfer amount {amount}."}
        )


@transaction.atomic
def bank_transfer_create(*, user, allocations=(), **data):
    """Start a transfer between two of our accounts, with its sending leg as a draft.

    Without allocations the whole amount carries the transfer's own dimensions.
    """
    transfer = _save(BankTransfer(**data), user=user)
    transfer_allocations_check(transfer.amount, list(allocations))
    rows = list(allocations) or [
        {
            "amount": transfer.amount,
            "cost_center": transfer.cost_center,
            "project": transfer.project,
            "department": transfer.department,
            "branch": transfer.branch,
        }
    ]
    for number, row in enumerate(rows, start=1):
        allocation = BankTransferAllocation(
            transfer=transfer,
            line_number=number,
            from_bank_account=transfer.from_bank_account,
            to_bank_account=transfer.to_bank_account,
            created_by=user,
            updated_by=user,
            **{k: v for k, v in row.items() if k not in ("line_number",)},
        )
        try:
            check_active_dimensions(allocation)
            allocation.full_clean(exclude=["transfer"])
        except ValidationError as exc:
            # Name the allocation at fault, not the transfer's own fields.
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise AllocationError(number - 1, exc.message_dict, f"Allocation {number}: {problems}") from exc
        allocation.save()
    _save(
        BankTransaction(
            bank_account=transfer.from_bank_account,
            transaction_type=TransactionType.TRANSFER,
            direction=Direction.OUT,
            amount=transfer.amount,
            transaction_date=transfer.initiated_date,
            reference=transfer.reference or transfer.id,
            description=transfer.description or f"Transfer to {transfer.to_bank_account_id}",
            branch=transfer.branch,
            cost_center=transfer.cost_center,
            project=transfer.project,
            department=transfer.department,
            transfer=transfer,
        ),
        user=user,
    )
    return transfer


@transaction.atomic
def bank_transfer_receive(*, transfer_id, user, received_date, received_amount=None):
    """Record the arrival of a transfer: the receiving leg, as a draft."""
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.status == TransferStatus.RECEIVED:
        # A client that lost the answer sends the receipt again: the same one is a retry.
        asked = transfer.amount if received_amount is None else received_amount
        if asked == transfer.received_amount and received_date == transfer.received_date:
            return transfer
        raise ConflictError(
            f"This transfer is already received: {transfer.received_amount} on {transfer.received_date}. "
            "To record another receipt, delete its draft receiving leg (or reverse it once posted) first.",
            code="transfer_received",
        )
    if transfer.status == TransferStatus.FAILED:
        raise ConflictError(
            f"This transfer has already failed on {transfer.failed_date} ({transfer.failure_reason}); "
            "it cannot be received.",
            code="transfer_failed",
        )
    sending = transfer.legs.filter(direction=Direction.OUT)
    reversed_leg = sending.filter(posting_status=PostingStatus.REVERSED).first()
    if reversed_leg is not None:
        # The sending was undone in the books: a receipt would post into transit what nothing
        # sent, and leave the transit account in credit for good.
        raise ConflictError(
            f'The sending leg "{reversed_leg.pk}" of this transfer has been reversed: nothing is in '
            "transit to receive. Mark the transfer failed, or record the money as a deposit.",
            code="sending_leg_reversed",
        )
    received_amount = transfer.amount if received_amount is None else received_amount
    if received_amount <= 0:
        raise ValidationError({"received_amount": "The received amount must be positive."})
    if received_amount > transfer.amount:
        # Charges make a transfer arrive short; nothing makes it arrive long. The receiving leg
        # would take out of transit more than the sending leg put in.
        raise ValidationError(
            {
                "received_amount": f"A transfer of {transfer.amount} cannot arrive with more "
                f"({received_amount}); record what came on top as a deposit of its own."
            }
        )
    if received_date < transfer.initiated_date:
        raise ValidationError({"received_date": "The transfer cannot arrive before it was sent."})
    not_after_today(received_date, "received_date", "A transfer cannot be received")
    transfer.received_date = received_date
    transfer.received_amount = received_amount
    transfer.status = TransferStatus.RECEIVED
    _save(transfer, user=user)
    _record_received_shares(transfer, received_amount)
    _save(
        BankTransaction(
            bank_account=transfer.to_bank_account,
            transaction_type=TransactionType.TRANSFER,
            direction=Direction.IN,
            amount=received_amount,
            transaction_date=received_date,
            reference=transfer.reference or transfer.id,
            description=transfer.description or f"Transfer from {transfer.from_bank_account_id}",
            branch=transfer.branch,
            cost_center=transfer.cost_center,
            project=transfer.project,
            department=transfer.department,
            transfer=transfer,
        ),
        user=user,
    )
    return transfer


def bank_transfer_receipt_reversed(*, transfer_id, user):
    """Put a received transfer back in transit once its receiving leg is reversed in the books.

    The reversal moved the money back into the transfers-in-transit account; the
    transfer says so again (in transit, nothing received, the allocations' shares
    cleared), so the receipt can be recorded anew with ``bank_transfer_receive``,
    or the transfer marked failed.
    """
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.status != TransferStatus.RECEIVED:
        return transfer
    sent = transfer.legs.filter(direction=Direction.OUT, posting_status=PostingStatus.POSTED).exists()
    transfer.status = TransferStatus.IN_TRANSIT if sent else TransferStatus.INITIATED
    transfer.received_date = None
    transfer.received_amount = None
    _save_state(transfer, user=user, fields=["status", "received_date", "received_amount"])
    transfer.allocations.update(received_amount=None)
    return transfer


def transfers_sent(*, transfer_ids, user):
    """Mark in transit the transfers among ``transfer_ids`` whose sending leg has just been posted.

    The posting moved the money out of the source bank into the transfers-in-transit account:
    a transfer still ``initiated`` is now ``in_transit``. One that failed or was received
    meanwhile keeps its status. Called inside the posting's transaction, with the legs locked:
    one UPDATE (and its audit entries) for a whole batch.
    """
    moving = list(
        BankTransfer.objects.select_for_update()
        .filter(pk__in=sorted(set(transfer_ids)), status=TransferStatus.INITIATED)
        .values_list("pk", flat=True)
    )
    if moving:
        BankTransfer.objects.filter(pk__in=moving).update(
            status=TransferStatus.IN_TRANSIT, updated_by=user, updated_at=timezone.now()
        )
        audit.record(
            "send",
            BankTransfer,
            moving,
            user=user,
            old={"status": TransferStatus.INITIATED},
            new={"status": TransferStatus.IN_TRANSIT},
        )
    return moving


def bank_transfer_sending_reversed(*, transfer_id, user):
    """Put a transfer in transit back to ``initiated`` once its sending leg is reversed in the books.

    The reversal took the money out of the transfers-in-transit account again: nothing is on its
    way. A received or failed transfer keeps its status (a failed transfer's sending leg is
    reversed because it failed).
    """
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.status != TransferStatus.IN_TRANSIT:
        return transfer
    transfer.status = TransferStatus.INITIATED
    return _save_state(transfer, user=user, fields=["status"])


def _record_received_shares(transfer, received_amount):
    """Record on each allocation its share of what arrived: the split its receiving leg posts.

    Allocations that already say what reached them are left as they are.
    """
    allocations = list(transfer.allocations.order_by("line_number", "id"))
    if not allocations or any(a.received_amount is not None for a in allocations):
        return
    for allocation, share in zip(allocations, allocation_shares(received_amount, allocations), strict=True):
        allocation.received_amount = share
    BankTransferAllocation.objects.bulk_update(allocations, ["received_amount"])


@transaction.atomic
def bank_transfer_fail(*, transfer_id, user, reason, failed_date=None):
    """Mark a transfer that will not arrive (on ``failed_date``, default today); its sending leg is
    reversed through posting."""
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.status == TransferStatus.RECEIVED:
        undo = (
            "delete its draft receiving leg to undo the receipt, then mark it failed"
            if transfer.legs.filter(direction=Direction.IN, posting_status=PostingStatus.DRAFT).exists()
            else "reverse its receiving leg first if the receipt was booked wrongly"
        )
        raise ConflictError(
            f"This transfer was received on {transfer.received_date}, {transfer.received_amount}; "
            f"it cannot fail as it stands: {undo}.",
            code="transfer_received",
        )
    if transfer.status == TransferStatus.FAILED:
        # The same failure sent again (its date left out, or the one recorded) is a retry.
        if reason == transfer.failure_reason and failed_date in (None, transfer.failed_date):
            return transfer
        # The recorded reason is the audit trail of the failure; a second call must not rewrite it.
        raise ConflictError(
            f"This transfer has already failed on {transfer.failed_date} ({transfer.failure_reason}); "
            "its reason and date stay as recorded.",
            code="transfer_failed",
        )
    if not reason:
        raise ValidationError({"failure_reason": "Say why the transfer failed."})
    # A failure is news from the bank: dated ahead, the month's tracking would count the
    # transfer in transit until a day that has not come.
    not_after_today(failed_date, "failed_date", "A transfer cannot be marked failed")
    transfer.status = TransferStatus.FAILED
    transfer.failure_reason = reason
    transfer.failed_date = failed_date or timezone.localdate()
    # Recording that it failed is no new use of its accounts and dimensions: one retired since
    # must not keep the transfer open (its sending leg could still post into transit).
    return _save_state(transfer, user=user, fields=["status", "failure_reason", "failed_date"])
