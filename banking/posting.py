"""Posting banking documents to the general ledger.

Each document becomes one balanced posting whose lines carry the document's
cost centre, project and department (an empty one is "unassigned"). The other
side of the bank line comes from a *posting rule*: a contra GL account per
document type, with a default rule (no bank account) that a rule for one bank
account overrides, and, for branch cash, a rule for one branch. Lookup order:
(type, bank account, branch), (type, bank account), (type, branch), (type).

=====================  ===========================  ===========================
document                debit                        credit
=====================  ===========================  ===========================
deposit, interest,      bank's GL account            contra (income, receivable)
adjustment in
withdrawal, fee,        contra (expense, payable)    bank's GL account
cheque, direct debit,
card, standing order,
adjustment out
deposit of branch cash  bank's GL account            cash in transit
transfer, sending leg   in-transit account           source bank's GL account
transfer, receiving     destination bank's GL        in-transit account
cash submission         cash in transit (deposited)  branch cash (expected)
                        + cash short, or             + cash over
float allocation        branch float                 bank's GL account
float return            bank's GL account            branch float
(each instalment)
=====================  ===========================  ===========================

A transfer leg is split into one pair of lines per allocation of its transfer,
each pair carrying that allocation's dimensions. Both legs use one transit
account: the one the other leg's posting used, else the sending account's rule.
Likewise a deposit that carried branch cash and the submissions naming it use
one cash-in-transit account, the one the first of them to post used.
docs/posting.md has a worked example of each.

Concurrency: each service locks the period (shared), the accounts (shared) and
then the document (exclusive), in that order (``accounting.locks``); the
document lock makes a repeat wait and then find the posting, and the unique
constraint on the posting's source is the final guard. Deadlocks and lock-wait
timeouts are retried.
"""

import collections
import dataclasses
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounting import locks
from accounting.choices import PeriodStatus, PostingPurpose, SourceType
from accounting.models import (
    FIRST_BOOK_YEAR,
    LAST_BOOK_YEAR,
    AccountingPeriod,
    GLAccount,
    JournalEntry,
    in_books,
)
from accounting.services import (
    ZERO,
    Line,
    PostingRequest,
    closed_after,
    cyclic_gc_paused,
    journal_posting_create,
    journal_posting_reverse,
    journal_postings_create_many,
    periods_open,
    posting_for_source,
    posting_reference,
)
from banking.choices import (
    CashSubmissionStatus,
    Direction,
    PostingDocument,
    PostingStatus,
    TransactionType,
    TransferStatus,
)
from banking.matching import drop_suggestions_on
from banking.models import (
    BankAccount,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    FloatReturn,
    PostingRule,
    float_status,
    not_after_today,
)
from banking.services import (
    MATCHED_FIELDS,
    balances_refusal,
    bank_accounts_lock_shared,
    bank_transfer_receipt_reversed,
    bank_transfer_sending_reversed,
    correction_chains,
    deposit_correction_check,
    finalized_months,
    refuse_matched,
    refuse_signed_off_balances,
    submission_deposit_check,
    transfers_sent,
)
from banking.splits import Split, transfer_splits
from cnperp import audit
from cnperp.duties import (
    SOD_POST,
    SOD_POST_CASH,
    SOD_POST_FLOAT,
    SOD_POST_FLOAT_RETURN,
    check_segregation,
    figures_changed_by,
    segregation_refusal,
)
from cnperp.exceptions import ConflictError, DomainError, NotFoundError
from dimensions.models import Branch, CostCenter, Department, Project

# --- Rules -------------------------------------------------------------------


class RuleBook:
    """The active posting rules, looked up most specific first."""

    def __init__(self, rows):
        self._contra = {(doc, account, branch): contra for doc, account, branch, contra in rows}

    @classmethod
    def load(cls, document_types=None):
        rules = PostingRule.objects.filter(is_active=True)
        if document_types:
            rules = rules.filter(document_type__in=list(document_types))
        return cls(rules.values_list("document_type", "bank_account_id", "branch_id", "contra_account_id"))

    def contra(self, document_type, *, bank_account_id, branch_id=None):
        """Return the contra GL account id, or raise ``ConflictError`` naming what is missing."""
        for key in (
            (document_type, bank_account_id, branch_id),
            (document_type, bank_account_id, None),
            (document_type, None, branch_id),
            (document_type, None, None),
        ):
            if key in self._contra:
                return self._contra[key]
        label = PostingDocument(document_type).label
        raise ConflictError(
            f'No posting rule for document type "{document_type}" ({label}) and bank account '
            f'"{bank_account_id}": add a default rule for "{document_type}" (or one for this bank account) '
            "under Posting rules.",
            code="posting_rule_missing",
        )

    def account_ids(self):
        return set(self._contra.values())


def _dims(document):
    return {
        "cost_center_id": getattr(document, "cost_center_id", None),
        "project_id": getattr(document, "project_id", None),
        "department_id": getattr(document, "department_id", None),
    }


def _pair(*, debit_account, credit_account, amount, description, dims):
    return [
        Line(account_id=debit_account, debit=amount, description=description, **dims),
        Line(account_id=credit_account, credit=amount, description=description, **dims),
    ]


# --- Lines per document -----------------------------------------------------


@dataclasses.dataclass
class TransactionContext:
    """What building a transaction's lines needs besides the transaction: loaded once per batch."""

    rules: RuleBook
    bank_gl: dict
    allocations: dict
    cash_deposits: dict  # deposit -> CashTransit
    failed_transfers: dict = dataclasses.field(default_factory=dict)
    reversed_sending: set = dataclasses.field(default_factory=set)  # transfers whose sending leg was reversed
    sending_accounts: dict = dataclasses.field(default_factory=dict)  # transfer -> (bank account, branch)
    legs_in_transit: dict = dataclasses.field(default_factory=dict)  # (transfer, direction) -> TransitLines

    @classmethod
    def load(cls, transactions):
        transfer_ids = {t.transfer_id for t in transactions if t.transfer_id}
        allocations = defaultdict(list)
        failed_transfers = {}
        reversed_sending = set()
        sending_accounts = {}
        legs_in_transit = {}
        if transfer_ids:
            sending_accounts = {
                pk: (account, branch)
                for pk, account, branch in BankTransfer.objects.filter(pk__in=transfer_ids).values_list(
                    "pk", "from_bank_account_id", "branch_id"
                )
            }
            legs_in_transit = _legs_in_transit(transfer_ids)
            for allocation in BankTransferAllocation.objects.filter(transfer_id__in=transfer_ids).order_by(
                "transfer_id", "line_number", "id"
            ):
                allocations[allocation.transfer_id].append(allocation)
            failed_transfers = dict(
                BankTransfer.objects.filter(pk__in=transfer_ids, status=TransferStatus.FAILED).values_list(
                    "pk", "failure_reason"
                )
            )
            reversed_sending = set(
                BankTransaction.objects.filter(
                    transfer_id__in=transfer_ids,
                    direction=Direction.OUT,
                    posting_status=PostingStatus.REVERSED,
                ).values_list("transfer_id", flat=True)
            )
        deposits = [t for t in transactions if t.transaction_type == TransactionType.DEPOSIT]
        cash_deposits = _cash_deposits(deposits) if deposits else {}
        bank_ids = {t.bank_account_id for t in transactions}
        return cls(
            rules=RuleBook.load(),
            bank_gl=dict(BankAccount.objects.filter(pk__in=bank_ids).values_list("id", "gl_account_id")),
            allocations=allocations,
            cash_deposits=cash_deposits,
            failed_transfers=failed_transfers,
            reversed_sending=reversed_sending,
            sending_accounts=sending_accounts,
            legs_in_transit=legs_in_transit,
        )

    def posted_accounts(self):
        """The GL accounts that earlier postings fix for these lines, whatever the rules say now."""
        held = {account for legs in self.legs_in_transit.values() for account in legs.accounts()}
        return held | {cash.account for cash in self.cash_deposits.values() if cash.account is not None}


def _dims_key(line):
    return (line.cost_center_id, line.project_id, line.department_id)


@dataclasses.dataclass
class TransitLines:
    """The transit account a posted transfer leg used, per combination of dimensions."""

    by_dims: dict
    first: str

    def account_for(self, dims):
        # A combination the posted leg did not carry (allocations changed between the legs) still
        # goes to the leg's account: a rule of today could name one that holds nothing of it.
        return self.by_dims.get(dims, self.first)

    def accounts(self):
        return set(self.by_dims.values())


def _legs_in_transit(transfer_ids):
    """Return ``{(transfer, direction): TransitLines}`` for the posted legs of ``transfer_ids``.

    A sending leg's transit lines are its debits, a receiving leg's its credits. The other leg of
    the transfer takes these accounts, so that transit nets to zero per cost centre even when a
    rule was added or changed between the two postings.
    """
    legs = {
        pk: (transfer, direction)
        for pk, transfer, direction in BankTransaction.objects.filter(
            transfer_id__in=transfer_ids,
            transaction_type=TransactionType.TRANSFER,
            posting_status=PostingStatus.POSTED,
        ).values_list("pk", "transfer_id", "direction")
    }
    if not legs:
        return {}
    found = {}
    for leg, account, debit, *dims in (
        JournalEntry.objects.filter(
            source_type=SourceType.BANK_TRANSACTION, source_id__in=legs, posting__purpose=PostingPurpose.POST
        )
        .order_by("source_id", "line_number")
        .values_list("source_id", "account_id", "debit", "cost_center_id", "project_id", "department_id")
    ):
        transfer, direction = legs[leg]
        if bool(debit) != (direction == Direction.OUT):
            continue  # the bank's line
        held = found.setdefault((transfer, direction), TransitLines(by_dims={}, first=account))
        held.by_dims.setdefault(tuple(dims), account)
    return found


# What posting a deposit needs to know of a submission naming it (or the deposit it corrects).
NamedBy = collections.namedtuple(
    "NamedBy", "pk deposit_id posting_status bank_account_id branch_id deposited_amount"
)


def _named_by(deposit_ids, leaving_out=None):
    """The submissions, not cancelled, naming any of ``deposit_ids``: posted ones first, then drafts,
    then reversed ones, each by id."""
    rows = (
        CashSubmission.objects.filter(deposit_transaction_id__in=deposit_ids)
        .exclude(status=CashSubmissionStatus.CANCELLED)
        .exclude(pk=leaving_out)
        .values_list(
            "pk",
            "deposit_transaction_id",
            "posting_status",
            "bank_account_id",
            "branch_id",
            "deposited_amount",
        )
    )
    return sorted(
        (NamedBy(*row) for row in rows), key=lambda row: (NAMED_BY_ORDER[row.posting_status], row.pk)
    )


NAMED_BY_ORDER = {PostingStatus.POSTED: 0, PostingStatus.DRAFT: 1, PostingStatus.REVERSED: 2}


def _submission_transit(submissions):
    """Return ``{submission: account}``: the cash-in-transit account each posted submission debited.

    It is its posting's first debit line. A submission saying nothing reached the bank put nothing
    in transit (that line is its shortage): it is left out.
    """
    ids = [s.pk for s in submissions if s.posting_status != PostingStatus.DRAFT and s.deposited_amount != 0]
    debited = {}
    for source_id, account in (
        JournalEntry.objects.filter(
            source_type=SourceType.CASH_SUBMISSION,
            source_id__in=ids,
            posting__purpose=PostingPurpose.POST,
            debit__gt=0,
        )
        .order_by("source_id", "line_number")
        .values_list("source_id", "account_id")
    ):
        debited.setdefault(source_id, account)
    return debited


def _deposit_credits(deposit_ids):
    """Return ``{deposit: account}``: the account each posted deposit's own posting credited."""
    return dict(
        JournalEntry.objects.filter(
            source_type=SourceType.BANK_TRANSACTION,
            source_id__in=deposit_ids,
            posting__purpose=PostingPurpose.POST,
            credit__gt=0,
        ).values_list("source_id", "account_id")
    )


def _cash_in_transit_accounts(submission_transit):
    """The accounts that hold cash in transit: any cash-in-transit rule's, active or not, and those
    the submissions' postings debited (a rule changed since names another)."""
    named = PostingRule.objects.filter(document_type=PostingDocument.CASH_IN_TRANSIT).values_list(
        "contra_account_id", flat=True
    )
    return set(named) | set(submission_transit.values())


@dataclasses.dataclass
class CashTransit:
    """Where a deposit that carried branch cash, or a submission, puts cash in transit.

    ``account`` is the one an earlier posting fixed: the deposit's (or one it corrects), or a
    submission's naming the same deposit. Without one, the cash-in-transit rule decides, asked for
    the scope of the submission (its bank account and branch): the deposit names no branch, and a
    rule for the branch must send both sides to the same account.
    """

    account: str | None
    bank_account_id: str
    branch_id: str | None

    def contra(self, rules):
        if self.account is not None:
            return self.account
        return rules.contra(
            PostingDocument.CASH_IN_TRANSIT, bank_account_id=self.bank_account_id, branch_id=self.branch_id
        )


def _fixed_transit(chain, named_by, submission_transit, credits, recognised, *, asking=None):
    """The cash-in-transit account a posting of ``chain`` (a deposit and those it corrects) or of
    a submission naming it already used, or ``None`` when none did.

    A posted deposit that a submission names (``asking``: the deposit the asking submission names)
    went through cash in transit whatever the rules say today: a submission may not name a deposit
    posted through its deposit rule, nor leave one posted through cash in transit (cancelled,
    deleted or moved), so the naming is the proof, and survives a rule whose account was changed
    since. A deposit of the chain that nothing names counts only by its account (``recognised``):
    one posted through its deposit rule, then corrected, fixes nothing.
    """
    named = {row.deposit_id for row in named_by} | {asking}
    for deposit_id in chain:
        credited = credits.get(deposit_id)
        if credited is not None and (deposit_id in named or credited in recognised):
            return credited
    for row in named_by:
        if row.deposit_id in chain and row.pk in submission_transit:
            return submission_transit[row.pk]
    return None


def _cash_deposits(deposits):
    """Return ``{deposit: CashTransit}`` for the deposits among ``deposits`` that carried branch cash.

    A deposit carried cash when a submission names it, or names the deposit it
    corrects (at any remove): the posted submission stays with the first
    deposit, whose reversal put the cash back in transit, and the correction
    must clear it again rather than post the cash to the deposit rule's account.
    It clears the account its submissions debited (:class:`CashTransit`).
    """
    chains = correction_chains({t.pk: t.corrects_id for t in deposits})
    named = set().union(*chains.values())
    named_by = _named_by(named)
    # A cancelled submission raised no cash in transit for its deposit to clear; one reversed since
    # took its cash out of transit again, so a correction of its deposit has nothing to clear.
    carried, still_in_transit = set(), set()
    for row in named_by:
        carried.add(row.deposit_id)
        if row.posting_status != PostingStatus.REVERSED:
            still_in_transit.add(row.deposit_id)
    cash = [
        t for t in deposits if chains[t.pk][0] in carried or still_in_transit.intersection(chains[t.pk][1:])
    ]
    if not cash:
        return {}
    submission_transit = _submission_transit(named_by)
    recognised = _cash_in_transit_accounts(submission_transit)
    credits = _deposit_credits(named)
    found = {}
    for deposit in cash:
        chain = chains[deposit.pk]
        scope = next((row for row in named_by if row.deposit_id in chain), deposit)
        found[deposit.pk] = CashTransit(
            account=_fixed_transit(chain, named_by, submission_transit, credits, recognised),
            bank_account_id=scope.bank_account_id,
            branch_id=scope.branch_id,
        )
    return found


def submission_transit(submission):
    """Return the :class:`CashTransit` of ``submission``: the account its named deposit's posting
    credited, or a posted submission naming the same deposit debited, else its own rule."""
    own = CashTransit(None, submission.bank_account_id, submission.branch_id)
    if submission.deposit_transaction_id is None:
        return own
    earlier = BankTransaction.objects.filter(pk=submission.deposit_transaction_id).values_list(
        "corrects_id", flat=True
    )
    chain = correction_chains({submission.deposit_transaction_id: earlier.first()})[
        submission.deposit_transaction_id
    ]
    named_by = _named_by(chain, leaving_out=submission.pk)
    transit = _submission_transit(named_by)
    own.account = _fixed_transit(
        chain,
        named_by,
        transit,
        _deposit_credits(chain),
        _cash_in_transit_accounts(transit),
        asking=submission.deposit_transaction_id,
    )
    return own


def submission_posted_transit(submission):
    """Return the cash-in-transit account posted ``submission`` debited, or ``None``."""
    return _submission_transit([submission]).get(submission.pk)


def deposit_transit_account(deposit_id):
    """Return the cash-in-transit account posted ``deposit_id`` credited, or ``None`` when it
    was posted through its deposit rule (or not posted)."""
    credited = _deposit_credits([deposit_id]).get(deposit_id)
    if credited is None:
        return None
    named_by = _named_by([deposit_id])
    if named_by:
        return credited  # named, so posted through cash in transit (see _fixed_transit)
    return credited if credited in _cash_in_transit_accounts(_submission_transit(named_by)) else None


TYPE_LABELS = dict(TransactionType.choices)


def transaction_description(txn):
    """Return what a transaction's posting says: its own description, else its type and id."""
    return txn.description or f"{TYPE_LABELS.get(txn.transaction_type, txn.transaction_type)} {txn.pk}"


def transaction_lines(txn, context):
    """Return the GL lines of bank transaction ``txn`` under the rules in ``context``."""
    bank = context.bank_gl[txn.bank_account_id]
    money_in = txn.direction == Direction.IN
    description = transaction_description(txn)
    if txn.transfer_id in context.failed_transfers:
        # The money never left (or came back): posting the leg would put it in transit for good.
        raise ConflictError(
            f'Transfer "{txn.transfer_id}" failed ({context.failed_transfers[txn.transfer_id]}); '
            "its leg is not posted.",
            code="transfer_failed",
        )
    if money_in and txn.transfer_id in context.reversed_sending:
        # Reversed after the receipt was recorded: nothing is in transit for this leg to take out.
        raise ConflictError(
            f'The sending leg of transfer "{txn.transfer_id}" was reversed; nothing is in transit to '
            "receive, so its receiving leg stays a draft.",
            code="sending_leg_reversed",
        )
    if txn.transaction_type == TransactionType.TRANSFER:
        # One transit account per transfer: the other leg's, once it is posted (a rule added or
        # changed since must not split the transfer over two accounts); else the sending
        # account's rule, which both legs ask, whichever posts first.
        other_leg = context.legs_in_transit.get(
            (txn.transfer_id, Direction.OUT if money_in else Direction.IN)
        )
        if other_leg is None:
            sending_account, branch = context.sending_accounts.get(
                txn.transfer_id, (txn.bank_account_id, txn.branch_id)
            )
            in_transit = context.rules.contra(
                PostingDocument.TRANSFER, bank_account_id=sending_account, branch_id=branch
            )
        splits = transfer_splits(txn.amount, context.allocations.get(txn.transfer_id, [])) or [
            Split(txn.amount, **_dims(txn))
        ]
        lines = []
        for split in splits:
            dims = {
                "cost_center_id": split.cost_center_id,
                "project_id": split.project_id,
                "department_id": split.department_id,
            }
            if other_leg is not None:
                in_transit = other_leg.account_for(_dims_key(split))
            lines += _pair(
                debit_account=bank if money_in else in_transit,
                credit_account=in_transit if money_in else bank,
                amount=split.amount,
                description=description,
                dims=dims,
            )
        return lines
    if txn.transaction_type == TransactionType.DEPOSIT and txn.pk in context.cash_deposits:
        # Branch cash banked: the deposit clears the cash-in-transit the submission raised.
        contra = context.cash_deposits[txn.pk].contra(context.rules)
    else:
        contra = context.rules.contra(
            PostingDocument(txn.transaction_type),
            bank_account_id=txn.bank_account_id,
            branch_id=txn.branch_id,
        )
    return _pair(
        debit_account=bank if money_in else contra,
        credit_account=contra if money_in else bank,
        amount=txn.amount,
        description=description,
        dims=_dims(txn),
    )


def cash_submission_lines(submission, rules, transit=None):
    """Return the lines of a cash submission: branch cash out, into transit, any shortage or overage.

    ``transit`` (a :class:`CashTransit`, default: the rule's) says which cash-in-transit account.
    """
    scope = {"bank_account_id": submission.bank_account_id, "branch_id": submission.branch_id}
    branch_cash = rules.contra(PostingDocument.CASH_SUBMISSION, **scope)
    in_transit = (transit or CashTransit(None, **scope)).contra(rules)
    dims = _dims(submission)
    description = f"Cash submission {submission.pk} from {submission.branch_id}"
    expected = submission.expected_amount
    reached = expected if submission.deposited_amount is None else submission.deposited_amount
    lines = []
    if reached > 0:
        lines.append(Line(account_id=in_transit, debit=reached, description=description, **dims))
    if reached != expected:
        over_short = rules.contra(PostingDocument.CASH_SHORTAGE, **scope)
        difference = reached - expected
        side = {"credit": difference} if difference > 0 else {"debit": -difference}
        lines.append(
            Line(account_id=over_short, description=f"{description}: cash over/short", **side, **dims)
        )
    # No bank line here: the deposit transaction that carried the cash debits
    # the bank and clears cash in transit when it is posted.
    lines.append(Line(account_id=branch_cash, credit=expected, description=description, **dims))
    return lines


def float_allocation_lines(allocation, rules, bank_gl, *, amount=None, returning=False, accounts=None):
    """Return the lines of a float allocation (bank to branch float) or of its return (the reverse).

    ``accounts`` (branch float, bank), when given, are the GL accounts to use instead of the
    rules': a return takes those its float was posted to (``float_posted_accounts``).
    """
    if accounts is not None:
        branch_float, bank = accounts
    else:
        branch_float = rules.contra(
            PostingDocument.FLOAT_ALLOCATION,
            bank_account_id=allocation.bank_account_id,
            branch_id=allocation.branch_id,
        )
        bank = bank_gl[allocation.bank_account_id]
    verb = "Float return" if returning else "Float allocation"
    return _pair(
        debit_account=bank if returning else branch_float,
        credit_account=branch_float if returning else bank,
        amount=amount if amount is not None else allocation.amount,
        description=f"{verb} {allocation.pk} to {allocation.branch_id}",
        dims=_dims(allocation),
    )


# --- Shared steps ---------------------------------------------------------------


# The fields that make a document's figures: whoever changed one of them made the document too
# (an accountant rewriting a clerk's deposit into a withdrawal may not post it herself).
FIGURE_FIELDS = {
    BankTransaction: frozenset(
        {
            *MATCHED_FIELDS,
            "counterparty_name",
            "counterparty_account",
            "transfer",
        }
    ),
    CashSubmission: frozenset(
        {
            "branch",
            "bank_account",
            "submission_date",
            "expected_amount",
            "deposited_amount",
            "deposit_date",
            "deposit_transaction",
            "cost_center",
            "project",
            "department",
        }
    ),
    FloatAllocation: frozenset(
        {"branch", "bank_account", "allocation_date", "amount", "cost_center", "department"}
    ),
}


def _makers(model, document, user):
    """Who made ``document``: who recorded it, and ``user`` if the audit trail says they changed a figure."""
    if user.pk == document.created_by_id:
        return (document.created_by_id,)  # refused already: no need to read the audit trail
    edited = figures_changed_by(model, [document.pk], user=user, fields=FIGURE_FIELDS[model])
    return (document.created_by_id, user.pk if edited else None)


def _get(model, pk, label):
    document = model.objects.filter(pk=pk).first()
    if document is None:
        raise NotFoundError(f'No {label} has the id "{pk}".')
    return document


def _lock(model, pk, label):
    rows = locks.documents_lock(model.objects.filter(pk=pk))
    if not rows:
        raise NotFoundError(f'No {label} has the id "{pk}".')
    return rows[0]


def _prelock(days, lines):
    """Take the period and account locks before the document's, in the global order."""
    periods_open(days)
    locks.accounts_lock_shared({line.account_id for line in lines})


def _refuse_reversed(document, label):
    if document.posting_status == PostingStatus.REVERSED:
        raise ConflictError(
            f'{label.capitalize()} "{document.pk}" has been reversed; it cannot be posted again. '
            "Record a correction instead.",
            code="document_reversed",
        )


# What a document posts to must still be in use: a value deactivated after the draft was
# recorded would otherwise reach the GL although no edit of the draft may choose it.
# ``lines`` is anything carrying the three dimension ids: the GL lines, or before they are
# built the transfer's allocations (or the document itself) they take them from.
INACTIVE_CHECKS = (
    (BankAccount, "bank account", lambda document, lines: {getattr(document, "bank_account_id", None)}),
    (Branch, "branch", lambda document, lines: {getattr(document, "branch_id", None)}),
    (CostCenter, "cost centre", lambda document, lines: {line.cost_center_id for line in lines}),
    (Project, "project", lambda document, lines: {line.project_id for line in lines}),
    (Department, "department", lambda document, lines: {line.department_id for line in lines}),
)


def inactive_values(pairs):
    """Return ``{(model, id)}`` of the values among ``pairs`` of ``(document, lines)`` that are inactive."""
    found = set()
    for model, _label, used in INACTIVE_CHECKS:
        ids = set().union(*(used(document, lines) for document, lines in pairs)) - {None}
        if ids:
            inactive = model.objects.filter(pk__in=ids, is_active=False).values_list("pk", flat=True)
            found.update((model, pk) for pk in inactive)
    return found


def inactive_refusal(document, lines, inactive):
    """Return why ``document`` cannot post with ``lines`` given the ``inactive`` values, or ``""``."""
    for model, label, used in INACTIVE_CHECKS:
        for pk in sorted(used(document, lines) - {None}):
            if (model, pk) in inactive:
                return f'{label} "{pk}" is inactive; reactivate it or change the draft first'
    return ""


def _refuse_inactive(document, lines):
    refusal = inactive_refusal(document, lines, inactive_values([(document, lines)]))
    if refusal:
        raise ConflictError(refusal[0].upper() + refusal[1:] + ".", code="inactive_value")


def _post_once(*, source_type, document, entry_date, lines, user, description, completing=False):
    """Write the posting, or return the one a concurrent request wrote first: ``(posting, created)``.

    ``completing``: the posting completes a document posted already (a submission's over/short),
    with that document's dimensions; as a reversal or a float's return does, it posts with values
    retired since, which no edit could change any more.
    """
    if not completing:
        _refuse_inactive(document, lines)
    try:
        with transaction.atomic():
            posting = journal_posting_create(
                source_type=source_type,
                source_id=document.pk,
                entry_date=entry_date,
                lines=lines,
                posted_by=user,
                description=description,
            )
    except IntegrityError:
        existing = posting_for_source(source_type=source_type, source_id=document.pk)
        if existing is None:
            raise
        return existing, False
    return posting, True


def _mark_posted(model, pk, *, user, reference, now, **extra):
    model.objects.filter(pk=pk).update(
        posting_status=PostingStatus.POSTED,
        posted_at=now,
        posted_by=user,
        gl_reference=reference,
        updated_at=now,
        updated_by=user,
        **extra,
    )
    audit.record(
        "post",
        model,
        [pk],
        user=user,
        old={"posting_status": "draft"},
        new={"posting_status": "posted", "gl_reference": reference, **extra},
    )


def _existing(source_type, pk):
    posting = posting_for_source(source_type=source_type, source_id=pk)
    if posting is None:
        raise ConflictError(f'"{pk}" is marked posted but has no posting; run check_gl_balance.')
    return posting


# --- Bank transactions -----------------------------------------------------------


@locks.atomic_with_retry
def bank_transaction_post(*, transaction_id, user):
    """Post bank transaction ``transaction_id``; return ``(posting, created)``.

    Idempotent: a transaction already posted returns its posting with
    ``created=False``. A reversed one is refused (409), as is a closed period.
    """
    label = "bank transaction"
    draft = _get(BankTransaction, transaction_id, label)
    if draft.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.BANK_TRANSACTION, draft.pk), False
    _refuse_reversed(draft, label)
    context = TransactionContext.load([draft])
    _prelock([draft.transaction_date], transaction_lines(draft, context))
    bank_accounts_lock_shared([draft.bank_account_id])
    txn = _lock(BankTransaction, transaction_id, label)
    if txn.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.BANK_TRANSACTION, txn.pk), False
    _refuse_reversed(txn, label)
    refuse_signed_off_balances(txn.bank_account_id, txn.transaction_date)  # its account, moved since or not
    check_segregation(user=user, makers=_makers(BankTransaction, txn, user), action=SOD_POST)
    # Read again under the lock: a submission naming this deposit meanwhile (it waited for the
    # lock) sends it through cash in transit; one read before would have posted it to sales.
    context = TransactionContext.load([txn])
    posting, created = _post_once(
        source_type=SourceType.BANK_TRANSACTION,
        document=txn,
        entry_date=txn.transaction_date,
        lines=transaction_lines(txn, context),
        user=user,
        description=transaction_description(txn),
    )
    if created:
        _mark_posted(BankTransaction, txn.pk, user=user, reference=posting.reference, now=posting.posted_at)
        if txn.transfer_id and txn.direction == Direction.OUT:
            transfers_sent(transfer_ids=[txn.transfer_id], user=user)
    return posting, created


# Documents whose postings carry a line on the bank's GL account (a cash submission's does not:
# its deposit does).
BANK_LINE_MODELS = (BankTransaction, FloatAllocation)


def _reverse_document(
    *, model, source_type, label, document_id, user, reversal_date, reason, refuse=None, reversed_hook=None
):
    """Reverse a posted document under its lock; ``refuse(document)`` may object first (raising),
    ``reversed_hook(document, user)`` tidies what the reversal leaves behind."""
    if not hasattr(reversal_date, "year"):
        raise DomainError("Give the reversal date as YYYY-MM-DD.", field="reversal_date")
    periods_open([reversal_date])
    if model in BANK_LINE_MODELS:
        account = model.objects.filter(pk=document_id).values_list("bank_account_id", flat=True).first()
        bank_accounts_lock_shared([account])
    document = _lock(model, document_id, label)
    if document.posting_status == PostingStatus.DRAFT:
        raise ConflictError(
            f'{label.capitalize()} "{document.pk}" is a draft: there is nothing to reverse. '
            "Change or delete it instead.",
            code="document_draft",
        )
    if document.posting_status == PostingStatus.REVERSED:
        raise ConflictError(
            f'{label.capitalize()} "{document.pk}" has already been reversed.', code="already_reversed"
        )
    if model in BANK_LINE_MODELS:
        # The reversal's bank line lands in the month of its date, and in the balances of every month
        # after it: one signed off stays as approved.
        refuse_signed_off_balances(document.bank_account_id, reversal_date)
    if refuse is not None:
        refuse(document)
    reversal = journal_posting_reverse(
        posting=_existing(source_type, document.pk),
        reversal_date=reversal_date,
        reason=reason,
        posted_by=user,
    )
    # A reversed transfer leg is live no more: the transfer may take a new one.
    reversed_state = {"live_leg": None} if model is BankTransaction else {}
    model.objects.filter(pk=document.pk).update(
        posting_status=PostingStatus.REVERSED,
        updated_at=reversal.posted_at,
        updated_by=user,
        **reversed_state,
    )
    if reversed_hook is not None:
        reversed_hook(document, user)
    audit.record(
        "reverse",
        model,
        [document.pk],
        user=user,
        old={"posting_status": "posted"},
        new={"posting_status": "reversed"},
        details={"reversal": reversal.reference, "reason": reason},
    )
    return reversal


@locks.atomic_with_retry
def bank_transaction_reverse(*, transaction_id, user, reversal_date, reason):
    """Reverse posted transaction ``transaction_id`` on ``reversal_date`` (open period); return the reversal.

    The original lines stay as they were; the reversal mirrors them. A
    transaction matched to a statement line is refused (409 naming the line)
    until it is unmatched.
    """
    return _reverse_document(
        model=BankTransaction,
        source_type=SourceType.BANK_TRANSACTION,
        label="bank transaction",
        document_id=transaction_id,
        user=user,
        reversal_date=reversal_date,
        reason=reason,
        refuse=lambda txn: refuse_matched(txn, "reverse it"),
        reversed_hook=_transaction_reversed,
    )


def _transaction_reversed(txn, user):
    # A reversed transaction explains no statement line: the matcher's offers of it go.
    drop_suggestions_on([txn.pk])
    if txn.transfer_id and txn.direction == Direction.IN:
        # The money is in transit again in the books: so is the transfer, to be received anew.
        bank_transfer_receipt_reversed(transfer_id=txn.transfer_id, user=user)
    elif txn.transfer_id:
        # The money is back in the source bank in the books: nothing is on its way any more.
        bank_transfer_sending_reversed(transfer_id=txn.transfer_id, user=user)


CORRECTABLE_FIELDS = (
    "bank_account",
    "transaction_type",
    "direction",
    "amount",
    "transaction_date",
    "value_date",
    "reference",
    "end_to_end_id",
    "description",
    "counterparty_name",
    "counterparty_account",
    "branch",
    "cost_center",
    "project",
    "department",
)


@locks.atomic_with_retry
def bank_transaction_correct(*, transaction_id, user, reversal_date=None, reason="", **changes):
    """Replace a transaction by a corrected draft in one action; return the new draft.

    A posted transaction is reversed first (``reversal_date`` and ``reason``
    required); an already reversed one is copied as it is. ``changes`` (model
    field names from ``CORRECTABLE_FIELDS``, plus an optional ``id``) override
    the copy. The draft points back through ``corrects`` and posts as usual.
    """
    from banking.services import bank_transaction_create  # the create rules live with the other writes

    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS) - {"id"})
    if unknown:
        raise DomainError("This field cannot be set on a correction.", field=unknown[0])
    original = _get(BankTransaction, transaction_id, "bank transaction")
    if original.transfer_id:
        raise ConflictError(
            f'"{original.pk}" is a leg of transfer {original.transfer_id}, which has no correction of its '
            "own. A receipt booked wrongly: reverse its receiving leg (the transfer goes back in transit) "
            "and record the receipt again; a transfer recorded wrongly: reverse its sending leg, mark "
            "it failed and record it anew.",
            code="transfer_leg",
        )
    if original.posting_status == PostingStatus.DRAFT:
        raise ConflictError(f'"{original.pk}" is a draft: change it directly.', code="document_draft")
    if original.transaction_type == TransactionType.DEPOSIT:
        deposit_correction_check(original, changes)
    if original.posting_status == PostingStatus.POSTED:
        if reversal_date is None:
            raise DomainError(
                "Give the date of the reversal that the correction needs.", field="reversal_date"
            )
        bank_transaction_reverse(
            transaction_id=original.pk, user=user, reversal_date=reversal_date, reason=reason
        )
    original = _lock(BankTransaction, transaction_id, "bank transaction")
    existing = original.corrections.first()
    if existing is not None:
        raise ConflictError(
            f'"{original.pk}" has already been corrected by "{existing.pk}".', code="already_corrected"
        )
    data = {name: getattr(original, name) for name in CORRECTABLE_FIELDS}
    data.update(changes)
    correction = bank_transaction_create(user=user, corrects=original, **data)
    audit.record("correct", BankTransaction, [original.pk], user=user, new={"corrected_by": correction.pk})
    return correction


@dataclasses.dataclass
class BatchResult:
    """What a batch did: the transactions posted and, for each one left as a draft, why."""

    posted: list = dataclasses.field(default_factory=list)
    skipped: dict = dataclasses.field(default_factory=dict)


BATCH_FIELDS = (
    "id",
    "bank_account_id",
    "transaction_type",
    "direction",
    "amount",
    "transaction_date",
    "description",
    "branch_id",
    "cost_center_id",
    "project_id",
    "department_id",
    "transfer_id",
    "posting_status",
    "created_by_id",
    "corrects_id",
)


class BatchDraft(collections.namedtuple("BatchDraft", BATCH_FIELDS)):
    """A draft as the batch reads it: the fields posting needs, without building a model instance per row."""

    __slots__ = ()

    @property
    def pk(self):
        return self.id


@cyclic_gc_paused
@locks.atomic_with_retry
def bank_transactions_post_batch(*, transaction_ids, user):
    """Post the drafts among ``transaction_ids`` in one transaction with a few multi-row INSERTs.

    A draft that cannot be posted (closed period, missing rule, inactive
    account) stays a draft and is reported in ``skipped`` with the reason; the
    others are posted. Documents already posted are left alone.
    """
    result = BatchResult()
    ids = sorted(set(transaction_ids))
    drafts = BankTransaction.objects.filter(pk__in=ids, posting_status=PostingStatus.DRAFT)
    days = set(drafts.values_list("transaction_date", flat=True).distinct())
    # A draft dated outside the books (saved before dates were checked, or by hand) has no period:
    # it stays a draft and is listed below, rather than stopping the batch.
    statuses = periods_open({day for day in days if in_books(day)})
    rules = RuleBook.load()
    locks.accounts_lock_shared(rules.account_ids())
    bank_accounts_lock_shared(drafts.values_list("bank_account_id", flat=True).distinct().order_by())
    txns = [BatchDraft(*row) for row in locks.documents_lock(drafts.values_list(*BATCH_FIELDS))]
    if not txns:
        return result
    bank_accounts_lock_shared({t.bank_account_id for t in txns})  # a draft moved meanwhile
    late = {AccountingPeriod.code_for(t.transaction_date) for t in txns} - set(statuses)
    if late:  # a draft's date changed between the read and the lock
        statuses.update(periods_open({t.transaction_date for t in txns if in_books(t.transaction_date)}))
    context = TransactionContext.load(txns)
    context.rules = rules
    # Accounts that earlier postings fix (a transfer's other leg) may be no rule's any more: they are
    # locked as the rules' are, and count as usable when active.
    locks.accounts_lock_shared(context.posted_accounts() - rules.account_ids())
    active = _active_accounts(rules, context)
    # Lines carry the document's dimensions, or a transfer's allocations': both are asked for.
    # A draft's lines carry its transfer's allocations' dimensions, or else its own.
    inactive = inactive_values([(txn, context.allocations.get(txn.transfer_id) or [txn]) for txn in txns])
    # Whose figures the poster changed: one look at the audit trail for the batch.
    edited = figures_changed_by(
        BankTransaction, [txn.pk for txn in txns], user=user, fields=FIGURE_FIELDS[BankTransaction]
    )
    signed_off = finalized_months(
        {(txn.bank_account_id, txn.transaction_date) for txn in txns if in_books(txn.transaction_date)},
        balances=True,
    )
    before_closed = closed_after(code for code, status in statuses.items() if status == PeriodStatus.OPEN)
    requests = []
    for txn in txns:
        code = AccountingPeriod.code_for(txn.transaction_date)
        makers = (txn.created_by_id, user.pk if txn.pk in edited else None)
        if refusal := segregation_refusal(user=user, makers=makers, action=SOD_POST):
            result.skipped[txn.pk] = refusal
            continue
        if not in_books(txn.transaction_date):
            result.skipped[txn.pk] = (
                f"its date {txn.transaction_date.isoformat()} lies outside the books' years "
                f"{FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}"
            )
            continue
        if statuses.get(code) != PeriodStatus.OPEN:
            result.skipped[txn.pk] = f"period {code} is closed"
            continue
        if refusal := before_closed.get(code):
            result.skipped[txn.pk] = refusal
            continue
        if snapshot := signed_off.get((txn.bank_account_id, code)):
            result.skipped[txn.pk] = balances_refusal(snapshot, code).message
            continue
        try:
            lines = transaction_lines(txn, context)
        except ConflictError as exc:
            result.skipped[txn.pk] = exc.message
            continue
        unused = sorted({line.account_id for line in lines} - active)
        if unused:
            result.skipped[txn.pk] = f'GL account "{unused[0]}" is missing or inactive'
            continue
        if refusal := inactive_refusal(txn, lines, inactive):
            result.skipped[txn.pk] = refusal
            continue
        requests.append(
            PostingRequest(
                source_type=SourceType.BANK_TRANSACTION,
                source_id=txn.pk,
                entry_date=txn.transaction_date,
                lines=lines,
                description=transaction_description(txn),
            )
        )
    postings = journal_postings_create_many(requests=requests, posted_by=user)
    result.posted = [p.source_id for p in postings]
    if postings:
        now = postings[0].posted_at
        prefix = posting_reference(SourceType.BANK_TRANSACTION, "")
        BankTransaction.objects.filter(pk__in=result.posted).update(
            posting_status=PostingStatus.POSTED,
            posted_at=now,
            posted_by=user,
            gl_reference=Concat(Value(prefix), F("id")),
            updated_at=now,
            updated_by=user,
        )
        audit.record(
            "post",
            BankTransaction,
            result.posted,
            user=user,
            old={"posting_status": "draft"},
            new={"posting_status": "posted", "gl_reference": lambda pk: prefix + pk},
        )
        posted = set(result.posted)
        out = Direction.OUT
        sent = {t.transfer_id for t in txns if t.pk in posted and t.transfer_id and t.direction == out}
        if sent:  # their money left for the transit account
            transfers_sent(transfer_ids=sent, user=user)
    return result


def _active_accounts(rules, context):
    wanted = rules.account_ids() | set(context.bank_gl.values()) | context.posted_accounts()
    return set(GLAccount.objects.filter(pk__in=wanted, is_active=True).values_list("id", flat=True))


def bank_transaction_drafts(*, bank_account_id=None, period=None):
    """Return the ids of draft transactions, oldest first, optionally of one account and one period.

    The draft sending leg of a failed transfer is left out: it is never posted (the money did not
    leave), so counting it would leave every run with a draft it cannot post.
    """
    drafts = BankTransaction.objects.filter(posting_status=PostingStatus.DRAFT).exclude(
        transfer__status=TransferStatus.FAILED
    )
    if bank_account_id:
        drafts = drafts.filter(bank_account_id=bank_account_id)
    if period:
        start, end = AccountingPeriod.bounds(period)
        drafts = drafts.filter(transaction_date__gte=start, transaction_date__lte=end)
    return drafts.order_by("pk").values_list("pk", flat=True)


# --- Cash submissions ------------------------------------------------------------


def _submission_date(submission):
    if submission.deposited_amount is not None and submission.deposit_date:
        return submission.deposit_date
    return submission.submission_date


@locks.atomic_with_retry
def cash_submission_post(*, submission_id, user):
    """Post a branch's cash submission; return ``(posting, created)``.

    Branch cash is credited with what the branch counted; cash in transit is
    debited with what reached the bank (all of it until the bank says
    otherwise); a difference goes to cash over/short. The bank deposit that
    carried the cash clears cash in transit when it is posted.
    """
    label = "cash submission"
    draft = _get(CashSubmission, submission_id, label)
    if draft.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.CASH_SUBMISSION, draft.pk), False
    _refuse_reversed(draft, label)
    rules = RuleBook.load()
    _prelock([_submission_date(draft)], cash_submission_lines(draft, rules, submission_transit(draft)))
    submission = _lock(CashSubmission, submission_id, label)
    if submission.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.CASH_SUBMISSION, submission.pk), False
    _refuse_reversed(submission, label)
    if submission.status == CashSubmissionStatus.CANCELLED:
        raise ConflictError(
            f'Cash submission "{submission.pk}" is cancelled; nothing to post.', code="cancelled"
        )
    # Its deposit's lock (after the submission's, as a change of the submission takes them): a
    # deposit being posted now is waited for, so the cash-in-transit account it fixes is seen.
    if submission.deposit_transaction_id:
        locks.documents_lock(BankTransaction.objects.filter(pk=submission.deposit_transaction_id))
    check_segregation(user=user, makers=_makers(CashSubmission, submission, user), action=SOD_POST_CASH)
    posting, created = _post_once(
        source_type=SourceType.CASH_SUBMISSION,
        document=submission,
        entry_date=_submission_date(submission),
        # Read under the locks: its deposit, posted meanwhile, fixed the account it clears.
        lines=cash_submission_lines(submission, rules, submission_transit(submission)),
        user=user,
        description=f"Cash submission {submission.pk} from {submission.branch_id}",
    )
    if created:
        _mark_posted(
            CashSubmission, submission.pk, user=user, reference=posting.reference, now=posting.posted_at
        )
    return posting, created


@locks.atomic_with_retry
def cash_submission_reverse(*, submission_id, user, reversal_date, reason):
    """Reverse a posted cash submission on ``reversal_date``; return the reversal.

    The over or short posted when its deposit was recorded afterwards is reversed with it.
    """

    def difference_of(submission):
        return posting_for_source(source_type=SourceType.CASH_DEPOSIT, source_id=submission.pk)

    def refuse_before_difference(submission):
        difference = difference_of(submission)
        if difference is not None and reversal_date < difference.entry_date:
            raise DomainError(
                f"Its deposit was recorded on {difference.entry_date} with an over/short posting "
                f"({difference.reference}) that is reversed with it: give a reversal date on or after "
                f"{difference.entry_date}.",
                field="reversal_date",
            )

    def reverse_difference(submission, user):
        difference = difference_of(submission)
        if difference is not None:
            journal_posting_reverse(
                posting=difference, reversal_date=reversal_date, reason=reason, posted_by=user
            )

    return _reverse_document(
        model=CashSubmission,
        source_type=SourceType.CASH_SUBMISSION,
        label="cash submission",
        document_id=submission_id,
        user=user,
        reversal_date=reversal_date,
        reason=reason,
        refuse=refuse_before_difference,
        reversed_hook=reverse_difference,
    )


# --- A submission's deposit recorded after it was posted -----------------------------
#
# A submission posted before the bank credited it put all it expected in cash in transit. When the
# bank's credit comes, the deposit that carried it is named here: from then on the deposit posts
# through cash in transit (banking.posting._cash_deposits) and clears what reached the bank, and a
# difference between what the branch sent and what reached the bank moves from cash in transit to
# cash over/short in a posting of its own (source ``cash_deposit``, the submission's id), dated the
# deposit date. Cash in transit then nets to zero for the submission, as it does for one posted
# with its deposit. Reversing the submission reverses that posting too.


def cash_deposit_difference_lines(submission, rules):
    """Return the lines moving a deposit's shortage (or overage) out of (or into) cash in transit.

    Cash in transit is the account the submission's own posting debited (a rule changed since
    must not leave the difference on the old account); cash over/short follows today's rules.
    """
    scope = {"bank_account_id": submission.bank_account_id, "branch_id": submission.branch_id}
    posted_in_transit, _branch_cash = _posted_accounts(SourceType.CASH_SUBMISSION, submission.pk)
    in_transit = posted_in_transit or rules.contra(PostingDocument.CASH_IN_TRANSIT, **scope)
    over_short = rules.contra(PostingDocument.CASH_SHORTAGE, **scope)
    difference = submission.deposited_amount - submission.expected_amount
    short = difference < 0
    return _pair(
        debit_account=over_short if short else in_transit,
        credit_account=in_transit if short else over_short,
        amount=abs(difference),
        description=f"Cash submission {submission.pk}: {'short' if short else 'over'} at the bank",
        dims=_dims(submission),
    )


def _recorded_deposit_refusal(submission, deposit_id, amount, day):
    """Why the deposit asked for differs from the one ``submission`` records, or ``None``."""
    recorded = (submission.deposit_transaction_id, submission.deposited_amount, submission.deposit_date)
    # A day not recorded yet is filled in, not changed.
    asked = (
        deposit_id,
        recorded[1] if amount is None else amount,
        day if day and recorded[2] else recorded[2],
    )
    if recorded == asked or (recorded[0] is None and asked[1:] == recorded[1:]):
        return None
    said = f"{recorded[1]}" + (f" on {recorded[2]}" if recorded[2] else "")
    if recorded[0]:
        said += f" through {recorded[0]}"
    return (
        f'Cash submission "{submission.pk}" already records its deposit ({said}); its posting says so. '
        "Reverse the submission and record it again to change it."
    )


def _deposit_figures(submission, deposit, deposited_amount, deposit_date):
    """Set on ``submission`` (posted, nothing recorded yet) the deposit, amount and date asked for."""
    submission.deposit_transaction_id = deposit.pk
    submission.deposited_amount = submission.expected_amount if deposited_amount is None else deposited_amount
    submission.deposit_date = deposit.transaction_date if deposit_date is None else deposit_date
    submission.full_clean(
        exclude=[
            f.name for f in CashSubmission._meta.fields if f.name not in ("deposited_amount", "deposit_date")
        ]
    )
    return submission


def _deposit_of(deposit_transaction_id):
    deposit = BankTransaction.objects.filter(pk=deposit_transaction_id).first()
    if deposit is None:
        raise ValidationError(
            {"deposit_transaction": f'No bank transaction has the id "{deposit_transaction_id}".'}
        )
    return deposit


@locks.atomic_with_retry
def cash_submission_deposit_record(
    *, submission_id, user, deposit_transaction_id, deposited_amount=None, deposit_date=None
):
    """Record the bank's credit of a submission posted before it; return ``(submission, posting, created)``.

    ``deposit_transaction_id`` names the bank deposit that carried the cash; ``deposited_amount``
    (default: what the branch expected) is what reached the bank, ``deposit_date`` (default: the
    deposit's date, in an open period) when. ``posting`` is the over/short posting, ``None`` when
    all of it arrived. The same deposit recorded again is a retry (``created`` false); a
    different one is refused (409): the submission's posting and this one say what reached the
    bank. Under segregation of duties, an amount that is not the deposit's own (one deposit of
    several submissions, split by hand) is a figure the recorder made: they cannot post its
    difference.
    """
    label = "cash submission"
    deposit = _deposit_of(deposit_transaction_id)
    # The period and account locks first, from an unlocked read, in the global order.
    draft = _get(CashSubmission, submission_id, label)
    if draft.posting_status == PostingStatus.POSTED and draft.deposited_amount is None:
        planned = _deposit_figures(draft, deposit, deposited_amount, deposit_date)
        lines = []
        if planned.deposited_amount != planned.expected_amount:
            lines = cash_deposit_difference_lines(planned, RuleBook.load())
        # Closed: the deposit would move the submission's credit into a month already closed.
        code = AccountingPeriod.code_for(planned.deposit_date)
        if periods_open([planned.deposit_date]).get(code) != PeriodStatus.OPEN:
            raise ConflictError(
                f"Period {code} is closed; the deposit date falls in it. Reopen it or give a later date.",
                code="period_closed",
            )
        locks.accounts_lock_shared({line.account_id for line in lines})
    submission = _lock(CashSubmission, submission_id, label)
    if submission.posting_status == PostingStatus.DRAFT:
        raise ConflictError(
            f'Cash submission "{submission.pk}" is a draft: record its deposit on it '
            "(deposit_transaction_id, deposited_amount, deposit_date) and post it.",
            code="document_draft",
        )
    _refuse_reversed(submission, label)
    if submission.status == CashSubmissionStatus.CANCELLED:
        raise ConflictError(f'Cash submission "{submission.pk}" is cancelled.', code="cancelled")
    if submission.deposit_transaction_id not in (None, deposit.pk):
        # Named while a draft: that deposit clears its cash in transit; a second would clear it twice.
        raise ConflictError(
            f'Cash submission "{submission.pk}" names deposit {submission.deposit_transaction_id}. '
            "Reverse the submission and record it again to change it.",
            code="deposit_recorded",
        )
    if submission.deposited_amount is not None:
        refusal = _recorded_deposit_refusal(submission, deposit.pk, deposited_amount, deposit_date)
        if refusal:
            raise ConflictError(refusal, code="deposit_recorded")
        if submission.deposit_transaction_id == deposit.pk:
            difference = posting_for_source(source_type=SourceType.CASH_DEPOSIT, source_id=submission.pk)
            return submission, difference, False
        # Posted with what reached the bank but not the deposit: the link is all that is missing,
        # and the day when none was given (the deposit's own unless asked; see _deposit_dated_by).
        submission.deposit_transaction_id = deposit.pk
        fields = ["deposit_transaction_id"]
        if submission.deposit_date is None:
            submission.deposit_date = deposit_date
            submission.full_clean(
                exclude=[f.name for f in CashSubmission._meta.fields if f.name != "deposit_date"]
            )
            fields.append("deposit_date")
        submission_deposit_check(submission)
        return _deposit_saved(submission, user, fields), None, True
    _deposit_figures(submission, deposit, deposited_amount, deposit_date)
    submission_deposit_check(submission)
    posting = None
    if submission.deposited_amount != submission.expected_amount:
        split_by_hand = submission.deposited_amount != deposit.amount
        makers = (*_makers(CashSubmission, submission, user), user.pk if split_by_hand else None)
        check_segregation(user=user, makers=makers, action=SOD_POST_CASH)
        posting, _created = _post_once(
            source_type=SourceType.CASH_DEPOSIT,
            document=submission,
            entry_date=submission.deposit_date,
            lines=cash_deposit_difference_lines(submission, RuleBook.load()),
            user=user,
            description=f"Deposit of cash submission {submission.pk} from {submission.branch_id}",
            completing=True,
        )
    fields = ["deposit_transaction_id", "deposited_amount", "deposit_date"]
    return _deposit_saved(submission, user, fields, posting), posting, True


def _deposit_saved(submission, user, fields, difference=None):
    """Save the deposit on ``submission``: one audit entry saying what reached the bank, and the
    over/short posting's reference when there is one."""
    before = submission.status
    submission.status = CashSubmissionStatus.DEPOSITED
    submission.updated_by = user
    submission.updated_at = timezone.now()
    changed = {name: getattr(submission, name) for name in fields}  # column names
    CashSubmission.objects.filter(pk=submission.pk).update(
        **changed, status=submission.status, updated_by=user, updated_at=submission.updated_at
    )
    audit.record(
        "record deposit",
        CashSubmission,
        [submission.pk],
        user=user,
        old={"status": before, **dict.fromkeys(changed)},
        new={"status": submission.status, **changed},
        details={"difference": difference.reference} if difference is not None else None,
    )
    return submission


# --- Float allocations ---------------------------------------------------------------


@locks.atomic_with_retry
def float_allocation_post(*, allocation_id, user):
    """Post a float given to a branch (branch float debited, bank credited); return ``(posting, created)``."""
    label = "float allocation"
    draft = _get(FloatAllocation, allocation_id, label)
    if draft.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.FLOAT_ALLOCATION, draft.pk), False
    _refuse_reversed(draft, label)
    rules = RuleBook.load()
    bank_gl = dict(BankAccount.objects.filter(pk=draft.bank_account_id).values_list("id", "gl_account_id"))
    _prelock([draft.allocation_date], float_allocation_lines(draft, rules, bank_gl))
    bank_accounts_lock_shared([draft.bank_account_id])
    allocation = _lock(FloatAllocation, allocation_id, label)
    if allocation.posting_status == PostingStatus.POSTED:
        return _existing(SourceType.FLOAT_ALLOCATION, allocation.pk), False
    _refuse_reversed(allocation, label)
    refuse_signed_off_balances(allocation.bank_account_id, allocation.allocation_date)
    check_segregation(user=user, makers=_makers(FloatAllocation, allocation, user), action=SOD_POST_FLOAT)
    posting, created = _post_once(
        source_type=SourceType.FLOAT_ALLOCATION,
        document=allocation,
        entry_date=allocation.allocation_date,
        lines=float_allocation_lines(allocation, rules, bank_gl),
        user=user,
        description=f"Float allocation {allocation.pk} to {allocation.branch_id}",
    )
    if created:
        _mark_posted(
            FloatAllocation, allocation.pk, user=user, reference=posting.reference, now=posting.posted_at
        )
    return posting, created


# --- Float returns ------------------------------------------------------------------
#
# A branch hands its float back in one go or in instalments. Each instalment is a
# ``FloatReturn`` with its own posting (source ``float_return``, source id = the
# return's id) and is reversed on its own; the float allocation keeps the summary
# of the instalments not reversed. Callers (the API, the admin) say the TOTAL that
# has come back to date, as the float's ``returned_amount`` always meant: the part
# not yet posted is the new instalment, and a repeat of the same total is a retry
# that posts nothing.


def _live_returns(allocation_id):
    """Return the float's returns not reversed, the latest first (by date, then by number)."""
    return FloatReturn.objects.filter(
        allocation_id=allocation_id, posting_status=PostingStatus.POSTED
    ).order_by("-return_date", "-number")


def _returned_so_far(allocation_id):
    """Return what has come back of the float so far (its returns not reversed) and the latest of them."""
    live = _live_returns(allocation_id)
    total = live.aggregate(total=Sum("amount"))["total"]
    # SQLite sums to "300" where MariaDB says "300.00": to the cent either way, as messages show it.
    return (ZERO if total is None else total.quantize(ZERO)), live.first()


def _float_summary(allocation, total, latest):
    """Return the float's summary columns for ``total`` back so far, ``latest`` the last return."""
    return {
        "returned_amount": total,
        "return_date": latest.return_date if latest else None,
        "return_gl_reference": latest.gl_reference if latest else "",
        "status": float_status(allocation.amount, total),
    }


def _retried_return(allocation_id):
    """A repeat of a total already posted answers the posting of the return recorded last (the
    highest number, whatever its date: an instalment may be dated before an earlier one), which is
    what the request being repeated posted. Nothing new came back."""
    last = _live_returns(allocation_id).order_by("-number").first()
    return _existing(SourceType.FLOAT_RETURN, last.pk), False


def float_posted_accounts(allocation_id):
    """Return (branch float, bank) GL accounts as the float's own posting used them, or None.

    A return clears the float account its float was posted to: asking the rules again sent an
    instalment to a float account a rule named since (the float read "returned" while its own
    account still held the money, and the new one was overdrawn by as much).
    """
    branch_float, bank = _posted_accounts(SourceType.FLOAT_ALLOCATION, allocation_id)
    return None if branch_float is None or bank is None else (branch_float, bank)


def _posted_accounts(source_type, source_id):
    """Return ``(debited, credited)``: the first GL account each side of a source's posting used
    (``None`` for a side it has not, or when it was never posted)."""
    lines = (
        JournalEntry.objects.filter(
            source_type=source_type, source_id=source_id, posting__purpose=PostingPurpose.POST
        )
        .order_by("line_number")
        .values_list("account_id", "debit")
    )
    debited = credited = None
    for account, debit in lines:
        if debit and debited is None:
            debited = account
        elif not debit and credited is None:
            credited = account
    return debited, credited


def _new_return_id(allocation, number):
    # The first return takes the float's id, so its posting reads FR-<float> as before
    # instalments and as the returns carried over by banking 0011 do; a later one (or a
    # first one whose id some other float's return already took) gets a key of its own.
    if number == 1 and not FloatReturn.objects.filter(pk=allocation.pk).exists():
        return allocation.pk
    return FloatReturn._meta.pk.default()


@locks.atomic_with_retry
def float_return_post(*, allocation_id, user, returned_amount=None, return_date=None):
    """Record and post what came back of a posted float (bank debited, branch float credited).

    ``returned_amount`` is the total returned to date (default: the amount
    recorded on the float). More than the returns not reversed already say is
    posted as a new instalment dated ``return_date`` (default, for a float
    with no return yet: the date recorded on it); the same total is a retry and
    answers the latest return's posting; less is refused (409): a return is
    taken back by reversing it. Return ``(posting, created)``.
    """
    label = "float allocation"
    draft = _get(FloatAllocation, allocation_id, label)
    total = draft.returned_amount if returned_amount is None else returned_amount
    already, latest = _returned_so_far(draft.pk)
    if latest is not None and total == already:
        return _retried_return(draft.pk)  # a retry takes no lock and writes nothing
    # A later instalment needs its own date: the one on the float is the last instalment's.
    day = return_date or (draft.return_date if latest is None else None)
    if day is None:
        raise DomainError("Give the date the float came back.", field="return_date")
    rules = RuleBook.load()
    bank_gl = dict(BankAccount.objects.filter(pk=draft.bank_account_id).values_list("id", "gl_account_id"))
    accounts = float_posted_accounts(draft.pk)
    _prelock([day], float_allocation_lines(draft, rules, bank_gl, returning=True, accounts=accounts))
    bank_accounts_lock_shared([draft.bank_account_id])
    # Under the float's lock a concurrent call with the same total waits here, then finds the
    # instalment posted and answers it: one instalment, one posting.
    allocation = _lock(FloatAllocation, allocation_id, label)
    already, latest = _returned_so_far(allocation.pk)
    if allocation.posting_status != PostingStatus.POSTED:
        state = allocation.get_posting_status_display().lower()
        raise ConflictError(
            f'Float allocation "{allocation.pk}" is {state}; only a posted float can come back.',
            code=f"document_{allocation.posting_status}",
        )
    if returned_amount is None and latest is None:
        total = allocation.returned_amount  # as recorded when the lock was taken
    if total is None:
        raise DomainError("Give the amount that came back; it must be positive.", field="returned_amount")
    if total > allocation.amount:
        raise DomainError(
            f"More cannot come back than was allocated ({allocation.amount}).", field="returned_amount"
        )
    if latest is not None and total == already:
        return _retried_return(allocation.pk)
    if total < already:
        raise ConflictError(
            f'{already} of float allocation "{allocation.pk}" has come back already (returns not reversed); '
            f"returned_amount is the total returned to date, so {total} would take {already - total} back. "
            "To correct a return, reverse it (float-returns/{id}/reverse, or the float's "
            '"Reverse one of its returns" in the admin), then post the right total.',
            code="returned_amount_below_returned",
        )
    if total <= 0:
        raise DomainError("Give the amount that came back; it must be positive.", field="returned_amount")
    if day < allocation.allocation_date:
        raise DomainError("The float cannot come back before it was given.", field="return_date")
    not_after_today(day, "return_date", "A float cannot have come back")
    refuse_signed_off_balances(allocation.bank_account_id, day)
    check_segregation(
        user=user, makers=_makers(FloatAllocation, allocation, user), action=SOD_POST_FLOAT_RETURN
    )
    instalment = total - already
    number = (allocation.returns.aggregate(last=Max("number"))["last"] or 0) + 1
    return_id = _new_return_id(allocation, number)
    description = f"Float return {allocation.pk} from {allocation.branch_id}"
    if number > 1:
        description += f", instalment {number}"
    posting = journal_posting_create(
        source_type=SourceType.FLOAT_RETURN,
        source_id=return_id,
        entry_date=day,
        lines=float_allocation_lines(
            allocation, rules, bank_gl, amount=instalment, returning=True, accounts=accounts
        ),
        posted_by=user,
        description=description,
    )
    try:
        with transaction.atomic():
            returned = FloatReturn.objects.create(
                id=return_id,
                allocation=allocation,
                number=number,
                return_date=day,
                amount=instalment,
                posting_status=PostingStatus.POSTED,
                posted_at=posting.posted_at,
                posted_by=user,
                gl_reference=posting.reference,
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        # Only without the float's lock could another instalment take this number: the whole
        # posting goes back, nothing is half written.
        raise ConflictError(
            f'Another return of float allocation "{allocation.pk}" was recorded at the same moment; '
            "look at its returns, then try again.",
            code="lock_conflict",
        ) from None
    now_back, latest = _returned_so_far(allocation.pk)
    FloatAllocation.objects.filter(pk=allocation.pk).update(
        **_float_summary(allocation, now_back, latest), updated_at=posting.posted_at, updated_by=user
    )
    audit.record(
        "float return",
        FloatAllocation,
        [allocation.pk],
        user=user,
        new={"returned_amount": total, "return_gl_reference": posting.reference},
        details={"instalment": returned.pk, "amount": instalment},
    )
    return posting, True


@locks.atomic_with_retry
def float_return_reverse(*, return_id, user, reversal_date, reason):
    """Reverse one posted return of a float on ``reversal_date``; return the reversal posting.

    The mirror posting puts the instalment back on the branch float and takes it
    off the bank; the float's summary (returned amount, date, status) is worked
    out again from the returns still standing, so the right total can be posted
    anew. The date must fall in an open period, not in a signed-off month of the
    float's bank account, and not before the return.
    """
    if not hasattr(reversal_date, "year"):
        raise DomainError("Give the reversal date as YYYY-MM-DD.", field="reversal_date")
    found = (
        FloatReturn.objects.filter(pk=return_id)
        .values_list("allocation_id", "allocation__bank_account_id")
        .first()
    )
    if found is None:
        raise NotFoundError(f'No float return has the id "{return_id}".')
    allocation_id, bank_account_id = found
    periods_open([reversal_date])
    bank_accounts_lock_shared([bank_account_id])
    # The float before its return, as posting a return takes them: a return posted or
    # reversed meanwhile waits, and the summary below counts it.
    allocation = _lock(FloatAllocation, allocation_id, "float allocation")
    returned = _lock(FloatReturn, return_id, "float return")
    if returned.posting_status == PostingStatus.REVERSED:
        raise ConflictError(
            f'Float return "{returned.pk}" ({returned.gl_reference}) has already been reversed '
            f"({returned.reversal_gl_reference}).",
            code="already_reversed",
        )
    # The reversal's bank line lands in the month of its date, and in the later months' balances.
    refuse_signed_off_balances(allocation.bank_account_id, reversal_date)
    reversal = journal_posting_reverse(
        posting=_existing(SourceType.FLOAT_RETURN, returned.pk),
        reversal_date=reversal_date,
        reason=reason,
        posted_by=user,
    )
    FloatReturn.objects.filter(pk=returned.pk).update(
        posting_status=PostingStatus.REVERSED,
        reversal_date=reversal_date,
        reversal_reason=reversal.reason,
        reversal_gl_reference=reversal.reference,
        reversed_at=reversal.posted_at,
        reversed_by=user,
        updated_at=reversal.posted_at,
        updated_by=user,
    )
    total, latest = _returned_so_far(allocation.pk)
    summary = _float_summary(allocation, total, latest)
    FloatAllocation.objects.filter(pk=allocation.pk).update(
        **summary, updated_at=reversal.posted_at, updated_by=user
    )
    audit.record(
        "reverse",
        FloatReturn,
        [returned.pk],
        user=user,
        old={"posting_status": "posted"},
        new={"posting_status": "reversed"},
        details={"reversal": reversal.reference, "reason": reversal.reason},
    )
    audit.record(
        "float return reversed",
        FloatAllocation,
        [allocation.pk],
        user=user,
        old={"returned_amount": allocation.returned_amount, "status": allocation.status},
        new={"returned_amount": total, "status": summary["status"]},
        details={"reversal": reversal.reference, "instalment": returned.pk},
    )
    return reversal


@locks.atomic_with_retry
def float_allocation_reverse(*, allocation_id, user, reversal_date, reason):
    """Reverse a posted float allocation none of whose returns stands; return the reversal."""
    return _reverse_document(
        model=FloatAllocation,
        source_type=SourceType.FLOAT_ALLOCATION,
        label="float allocation",
        document_id=allocation_id,
        user=user,
        reversal_date=reversal_date,
        reason=reason,
        refuse=_refuse_returned,
    )


def _refuse_returned(allocation):
    # Asked under the float's lock: a return posted meanwhile waited for it, or is seen here.
    standing = list(_live_returns(allocation.pk).order_by("number").values_list("gl_reference", flat=True))
    if standing:
        returns = "a posted return" if len(standing) == 1 else f"{len(standing)} posted returns"
        raise ConflictError(
            f'Float allocation "{allocation.pk}" has {returns} ({", ".join(standing)}); it cannot be '
            "reversed while cash is recorded as back from it. Reverse its returns first "
            '(float-returns/{id}/reverse, or "Reverse one of its returns" in the admin), then the float.',
            code="float_returned",
        )
