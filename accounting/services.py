"""Writes to the general ledger: postings, reversals, period close and reopen.

A posting is a set of GL lines whose debits equal its credits to the cent. The
services here take the lines a caller (banking) wants, check them, and write
the posting header, its lines and their dimension assignments in one
transaction, so a failure at any step leaves nothing behind.

Periods. A posting lands in the calendar month of its date (``YYYY-MM``). A month
with no period row yet gets one, *open*, on first use: periods are a calendar,
not a set-up step, and finance staff close a month when they are done with it.
A closed period refuses postings and reversals (409 naming the period) until it
is reopened.

References. The lines of one posting share one ``reference`` that contains the
source's id: ``BT-smoke-test-1`` for bank transaction ``smoke-test-1``, and
``BT-smoke-test-1-REV`` for its reversal, so the deployment guide's
``reference LIKE '%smoke-test-1%'`` finds both and its balancing query, grouped by
reference, sees each balance on its own.

Locks follow ``accounting.locks``: period, then account, then document.
"""

import dataclasses
import datetime
import functools
import gc
import secrets
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from accounting import ledger_chain, locks
from accounting.choices import PeriodStatus, PostingPurpose, SourceType
from accounting.models import (
    FIRST_BOOK_YEAR,
    LAST_BOOK_YEAR,
    AccountingPeriod,
    DimensionAssignment,
    JournalEntry,
    JournalPosting,
    in_books,
)
from cnperp import audit
from cnperp.bulk_sql import rows_insert
from cnperp.exceptions import ConflictError, DomainError, NotFoundError
from dimensions.models import DimensionType

ZERO = Decimal("0.00")
CENT_EXPONENT = -2
REVERSAL_SUFFIX = "-REV"

REFERENCE_PREFIX = {
    SourceType.BANK_TRANSACTION: "BT",
    SourceType.CASH_SUBMISSION: "CS",
    SourceType.CASH_DEPOSIT: "CD",
    SourceType.FLOAT_ALLOCATION: "FA",
    SourceType.FLOAT_RETURN: "FR",
    SourceType.MANUAL: "MJ",
}

DIMENSIONS = (DimensionType.COST_CENTER, DimensionType.PROJECT, DimensionType.DEPARTMENT)

# Rows per INSERT statement: large enough to amortise the round trip, small
# enough to stay far below max_allowed_packet and SQLite's variable limit.
INSERT_BATCH_SIZE = 2000


@dataclasses.dataclass(frozen=True)
class Line:
    """One GL line a caller wants posted: an account, one side, and its dimensions."""

    account_id: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str = ""
    cost_center_id: str | None = None
    project_id: str | None = None
    department_id: str | None = None
    reversal_of_id: str | None = None


@dataclasses.dataclass
class PostingRequest:
    """Everything one posting needs; the batch service takes many of these."""

    source_type: str
    source_id: str
    entry_date: datetime.date
    lines: list
    description: str = ""
    purpose: str = PostingPurpose.POST
    reverses: JournalPosting | None = None
    reason: str = ""
    reference: str = ""

    def __post_init__(self):
        if not self.reference:
            self.reference = posting_reference(self.source_type, self.source_id, self.purpose)


def posting_reference(source_type, source_id, purpose=PostingPurpose.POST):
    """Return the reference the lines of a source's posting (or reversal) share."""
    reference = f"{REFERENCE_PREFIX.get(source_type, 'GL')}-{source_id}"
    if purpose == PostingPurpose.REVERSE:
        reference += REVERSAL_SUFFIX
    return reference


# --- Checks ------------------------------------------------------------------


def _amount(value, *, position, side):
    """Return ``value`` as a Decimal of at most two places, refusing floats and nonsense."""
    if type(value) is Decimal and value.as_tuple().exponent == CENT_EXPONENT:
        # The common case (amounts read from a money column): already exact cents.
        return value
    if isinstance(value, (bool, float)):
        # A float has already lost cents (0.1 + 0.2); money arrives as Decimal or str.
        raise DomainError(
            f"Line {position}: the {side} must be a Decimal, not {type(value).__name__}.", field="lines"
        )
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(f"Line {position}: the {side} {value!r} is not an amount.", field="lines") from None
    if not amount.is_finite():
        raise DomainError(f"Line {position}: the {side} must be a finite amount.", field="lines")
    if amount.as_tuple().exponent < CENT_EXPONENT and amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            f"Line {position}: the {side} {amount} has more than two decimal places.", field="lines"
        )
    return amount.quantize(Decimal("0.01"))


def lines_check(lines):
    """Return the lines with their amounts checked; raise ``DomainError`` unless they balance exactly.

    Each line is a debit or a credit, positive, never both; at least two lines;
    total debit equals total credit to the cent.
    """
    if not lines or len(lines) < 2:
        raise DomainError("A posting needs at least two lines, a debit and a credit.", field="lines")
    checked, debit_total, credit_total = [], ZERO, ZERO
    for position, line in enumerate(lines, start=1):
        if not line.account_id:
            raise DomainError(f"Line {position}: give the GL account.", field="lines")
        debit = _amount(line.debit, position=position, side="debit")
        credit = _amount(line.credit, position=position, side="credit")
        if debit < 0 or credit < 0:
            raise DomainError(f"Line {position}: amounts cannot be negative.", field="lines")
        if (debit > 0) == (credit > 0):
            raise DomainError(
                f"Line {position}: a line is a debit or a credit, never both and never zero.", field="lines"
            )
        debit_total += debit
        credit_total += credit
        if debit is not line.debit or credit is not line.credit:
            line = dataclasses.replace(line, debit=debit, credit=credit)
        checked.append(line)
    if debit_total != credit_total:
        raise DomainError(
            f"The lines do not balance: debits {debit_total}, credits {credit_total}.", field="lines"
        )
    return checked


def periods_open(days):
    """Share-lock the periods of ``days``, creating missing ones as open; return ``{code: status}``.

    A period that two postings create at once is created by one of them; the
    other finds it through the unique key and locks it like any other.
    """
    outside = sorted(day for day in set(days) if not in_books(day))
    if outside:
        # Dates are refused where they are typed; one saved before that rule, or written by hand,
        # would otherwise surface as the period pattern's message, naming no date.
        raise DomainError(
            f"{outside[0].isoformat()} lies outside the books' years {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}: "
            "there is no period to post it in. Correct the document's date.",
            field="date",
        )
    codes = sorted({AccountingPeriod.code_for(day) for day in days})
    statuses = locks.periods_lock_shared(codes)
    for code in codes:
        if code in statuses:
            continue
        start, end = AccountingPeriod.bounds(code)
        try:
            with transaction.atomic():
                AccountingPeriod.objects.create(id=code, start_date=start, end_date=end)
        except IntegrityError:
            pass
        statuses.update(locks.periods_lock_shared([code]))
    return statuses


def closed_after(codes):
    """Share-lock the periods after the earliest of ``codes``; return ``{code: refusal}`` for each code
    a closed month follows.

    A closed month's balances hold every line dated before it (its opening balance, the reports'
    cached figures of closed months), so a posting dated before it would change a closed month as
    surely as one dated in it: closing a month closes the books up to its end.
    """
    codes = sorted(set(codes))
    if not codes:
        return {}
    closed = [pk for pk, status in locks.periods_after_lock_shared(codes[0]) if status == PeriodStatus.CLOSED]
    refusals = {}
    for code in codes:
        later = [pk for pk in closed if pk > code]
        if later:
            months = later[0] if len(later) == 1 else f"the closed months from {later[0]} to {later[-1]}"
            refusals[code] = (
                f"Period {later[0]} is closed and comes after {code}: a posting dated in {code} would "
                f"change the balances of the closed month. Choose a date after {later[-1]}, the last "
                f"closed month, or reopen {months} first."
            )
    return refusals


def _check_periods_open(statuses, codes):
    for code in sorted(set(codes)):
        if statuses.get(code) != PeriodStatus.OPEN:
            raise ConflictError(
                f"Period {code} is closed; nothing can be posted into it. "
                "Reopen it or choose a date in an open period.",
                code="period_closed",
            )
    refusals = closed_after(codes)
    if refusals:
        raise ConflictError(refusals[min(refusals)], code="period_closed")


def _check_accounts(account_ids):
    found = locks.accounts_lock_shared(account_ids)
    for account_id in sorted(set(account_ids)):
        if account_id not in found:
            raise DomainError(f'GL account "{account_id}" does not exist.', field="lines")
        if not found[account_id][1]:
            # The account's state refuses the posting, not the request: a 409 naming the
            # account (a posting rule's contra account is no field the client sent).
            raise ConflictError(
                f'GL account "{account_id}" ({found[account_id][0]}) is inactive; '
                "nothing can be posted to it. Reactivate it or change the posting rule.",
                code="account_inactive",
            )


# --- Building and writing ----------------------------------------------------
#
# Batch posting writes tens of thousands of rows a second, so GL lines and
# dimension assignments go to the database as prepared tuples in multi-row
# INSERTs (``cnperp.bulk_sql``: escaped by the driver's C code on MariaDB): a
# model instance per row, compiled field by field by ``bulk_create``, and then
# ``executemany`` escaping each value in Python, cost more than the database did. Headers stay model
# instances, one per posting: callers return them, and a hook may set columns on
# them before ``_postings_write`` writes every concrete field they have.

LINE_COLUMNS = (
    "id",
    "posting_id",
    "line_number",
    "reference",
    "entry_date",
    "period_id",
    "account_id",
    "debit",
    "credit",
    "description",
    "source_type",
    "source_id",
    "posted_by_id",
    "posted_at",
    "reversal_of_id",
    "cost_center_id",
    "project_id",
    "department_id",
)
ASSIGNMENT_COLUMNS = (
    "id",
    "journal_entry_id",
    "dimension_type",
    "cost_center_id",
    "project_id",
    "department_id",
)
KEY_DIGITS = 20


def new_keys(prefix, count):
    """Return ``count`` new keys shaped like the ORM's (``je-`` and 20 hex digits), counting up.

    One random stem per call and a counter after it: as unique as a uuid4 per
    key (the stem keeps two calls apart), without a random draw per row, and
    the keys of one batch sit next to each other in the primary-key index
    instead of scattering inserts across it.
    """
    width = max(6, len(f"{count:x}"))
    # 14 random hex digits (56 bits) for up to 16 million keys a call.
    stem = f"{prefix}-{secrets.token_hex(KEY_DIGITS // 2)[: KEY_DIGITS - width]}"
    return [f"{stem}{n:0{width}x}" for n in range(count)]


def _header(request, *, posting_id, posted_by_id, posted_at):
    """Return the unsaved ``JournalPosting`` of ``request``."""
    return JournalPosting(
        id=posting_id,
        reference=request.reference,
        source_type=request.source_type,
        source_id=request.source_id,
        purpose=request.purpose,
        entry_date=request.entry_date,
        period_id=AccountingPeriod.code_for(request.entry_date),
        description=request.description[:255],
        reverses=request.reverses,
        reason=request.reason[:255],
        posted_by_id=posted_by_id,
        posted_at=posted_at,
    )


def _rows(requests, postings):
    """Return the GL line and dimension-assignment rows of ``requests``, as tuples in column order.

    One assignment row per line and dimension type, an empty value being an
    explicit "unassigned".
    """
    count = sum(len(request.lines) for request in requests)
    line_ids = iter(new_keys("je", count))
    assignment_ids = iter(new_keys("da", len(DIMENSIONS) * count))
    cost_center, project, department = DIMENSIONS
    posted_at_field = JournalEntry._meta.get_field("posted_at")
    moments = {}  # the postings of one call share one moment: prepare it once
    lines, assignments = [], []
    for request, posting in zip(requests, postings, strict=True):
        if posting.posted_at not in moments:
            moments[posting.posted_at] = posted_at_field.get_db_prep_save(posting.posted_at, connection)
        head = (request.reference, request.entry_date, posting.period_id)
        tail = (request.source_type, request.source_id, posting.posted_by_id, moments[posting.posted_at])
        for number, line in enumerate(request.lines, start=1):
            line_id = next(line_ids)
            lines.append(
                (line_id, posting.pk, number, *head, line.account_id, line.debit, line.credit,
                 (line.description or request.description)[:255], *tail, line.reversal_of_id,
                 line.cost_center_id, line.project_id, line.department_id)
            )  # fmt: skip
            assignments.append((next(assignment_ids), line_id, cost_center, line.cost_center_id, None, None))
            assignments.append((next(assignment_ids), line_id, project, None, line.project_id, None))
            assignments.append((next(assignment_ids), line_id, department, None, None, line.department_id))
    return lines, assignments


def _insert_many(model, columns, rows, *, repeated=()):
    """INSERT ``rows`` (tuples in the order of ``columns``) into ``model``'s table in multi-row statements."""
    rows_insert(model._meta.db_table, columns, rows, repeated=repeated, chunk_rows=INSERT_BATCH_SIZE)


def _db_value(field):
    """Return how a header's value of ``field`` becomes a query parameter: as it is, or prepared."""
    if isinstance(field, models.DateTimeField) or not isinstance(
        field, (models.CharField, models.TextField, models.DateField, models.ForeignKey)
    ):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def _postings_write(postings):
    fields = JournalPosting._meta.concrete_fields
    prepare = [(index, _db_value(field)) for index, field in enumerate(fields)]
    prepare = [(index, convert) for index, convert in prepare if convert is not None]
    rows = []
    for posting in postings:
        row = [getattr(posting, field.attname) for field in fields]
        for index, convert in prepare:
            row[index] = convert(row[index])
        rows.append(row)
    _insert_many(JournalPosting, [field.column for field in fields], rows)
    for posting in postings:
        posting._state.adding = False
        posting._state.db = connection.alias


# Columns whose few values recur on every row of a batch: their literals are made once.
LINE_REPEATED = tuple(
    LINE_COLUMNS.index(name)
    for name in ("entry_date", "period_id", "account_id", "source_type", "posted_by_id", "posted_at")
)
ASSIGNMENT_REPEATED = tuple(
    ASSIGNMENT_COLUMNS.index(name)
    for name in ("dimension_type", "cost_center_id", "project_id", "department_id")
)


def _lines_write(lines):
    _insert_many(JournalEntry, LINE_COLUMNS, lines, repeated=LINE_REPEATED)


def _assignments_write(assignments):
    _insert_many(DimensionAssignment, ASSIGNMENT_COLUMNS, assignments, repeated=ASSIGNMENT_REPEATED)


def cyclic_gc_paused(func):
    """Run ``func`` with Python's cyclic garbage collector paused, for bulk row building.

    A batch builds tens of thousands of row tuples; the collector runs every
    700 new container objects and walks every live object each time, which
    tripled the time of building the rows. Rows of strings, numbers and dates
    form no reference cycles, so pausing the collector leaves nothing
    uncollected: it resumes when the outermost paused call returns (a nested
    call finds it paused and leaves it so).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


@cyclic_gc_paused
def _write(requests, *, posted_by):
    """Check and write ``requests`` (inside the caller's transaction); return the headers.

    The single place where postings, GL lines and dimension assignments are
    inserted: every posting, batch or single, reversal or not, comes through here.
    """
    requests = [dataclasses.replace(r, lines=lines_check(r.lines)) for r in requests]
    statuses = periods_open([r.entry_date for r in requests])
    _check_periods_open(statuses, [AccountingPeriod.code_for(r.entry_date) for r in requests])
    _check_accounts({line.account_id for r in requests for line in r.lines})
    posted_at = timezone.now()
    posting_ids = new_keys("jp", len(requests))
    postings = [
        _header(request, posting_id=posting_id, posted_by_id=posted_by.pk, posted_at=posted_at)
        for request, posting_id in zip(requests, posting_ids, strict=True)
    ]
    lines, assignments = _rows(requests, postings)
    ledger_chain.seal(postings, lines, assignments, columns=(LINE_COLUMNS, ASSIGNMENT_COLUMNS))
    _postings_write(postings)
    _lines_write(lines)
    _assignments_write(assignments)
    return postings


# --- Services ----------------------------------------------------------------


@transaction.atomic
def journal_posting_create(
    *,
    source_type,
    source_id,
    entry_date,
    lines,
    posted_by,
    description="",
    purpose=PostingPurpose.POST,
    reverses=None,
    reason="",
    reference="",
):
    """Post ``lines`` for one source document and return the ``JournalPosting``.

    Refuses (``DomainError``, nothing written) lines that don't balance exactly,
    zero or negative amounts, unknown or inactive accounts; refuses a closed
    period (``ConflictError`` naming it). A second posting of the same source and
    purpose breaks the database's unique constraint (``IntegrityError``): the
    caller holds the source's row lock and decides what a repeat means.
    """
    request = PostingRequest(
        source_type=source_type,
        source_id=source_id,
        entry_date=entry_date,
        lines=list(lines),
        description=description,
        purpose=purpose,
        reverses=reverses,
        reason=reason,
        reference=reference,
    )
    return _write([request], posted_by=posted_by)[0]


@transaction.atomic
def journal_postings_create_many(*, requests, posted_by):
    """Post many sources at once (batch posting): the same checks, a few multi-row INSERTs.

    All or nothing: one bad request refuses the whole batch, so callers filter
    out what they know will fail (closed periods, missing rules) beforehand.
    """
    if not requests:
        return []
    return _write(list(requests), posted_by=posted_by)


def _check_reversal(posting, *, reversal_date, reason):
    if not isinstance(reversal_date, datetime.date):
        raise DomainError("Give the reversal date as YYYY-MM-DD.", field="reversal_date")
    if not reason or not reason.strip():
        raise DomainError("Say why the posting is reversed.", field="reason")
    if posting.purpose != PostingPurpose.POST:
        raise ConflictError(f"{posting.reference} is itself a reversal; post a new document instead.")
    if reversal_date < posting.entry_date:
        raise DomainError(
            f"The reversal cannot be dated before the posting it reverses ({posting.entry_date}).",
            field="reversal_date",
        )
    if JournalPosting.objects.filter(reverses=posting).exists():
        raise ConflictError(f"{posting.reference} has already been reversed.", code="already_reversed")


@transaction.atomic
def journal_posting_reverse(*, posting, reversal_date, reason, posted_by, description=""):
    """Write the mirror of ``posting`` dated ``reversal_date`` and return it; the original stays as it was.

    Each reversal line swaps the original line's debit and credit, keeps its
    account and dimensions, and points back to it (``reversal_of``).
    """
    _check_reversal(posting, reversal_date=reversal_date, reason=reason)
    mirrored = [
        Line(
            account_id=line.account_id,
            debit=line.credit,
            credit=line.debit,
            description=line.description,
            cost_center_id=line.cost_center_id,
            project_id=line.project_id,
            department_id=line.department_id,
            reversal_of_id=line.pk,
        )
        for line in posting.lines.order_by("line_number")
    ]
    try:
        with transaction.atomic():
            return journal_posting_create(
                source_type=posting.source_type,
                source_id=posting.source_id,
                entry_date=reversal_date,
                lines=mirrored,
                posted_by=posted_by,
                description=description or f"Reversal of {posting.reference}: {reason.strip()}",
                purpose=PostingPurpose.REVERSE,
                reverses=posting,
                reason=reason.strip(),
                reference=posting.reference + REVERSAL_SUFFIX,
            )
    except IntegrityError:
        # A concurrent reversal of the same posting won the unique constraint.
        raise ConflictError(
            f"{posting.reference} has already been reversed.", code="already_reversed"
        ) from None


def posting_for_source(*, source_type, source_id, purpose=PostingPurpose.POST):
    """Return the posting of a source, or ``None``."""
    return JournalPosting.objects.filter(
        source_type=source_type, source_id=source_id, purpose=purpose
    ).first()


# --- Periods -----------------------------------------------------------------


def _period_code(period_id):
    try:
        return AccountingPeriod.bounds(period_id), period_id
    except ValidationError:
        raise DomainError(
            f'"{period_id}" is not a period; use YYYY-MM, for example 2025-10.', field="period"
        ) from None


@locks.atomic_with_retry
def accounting_period_close(*, period_id, user):
    """Close the month ``period_id`` (``YYYY-MM``) so that nothing posts into it; return the period.

    The exclusive lock waits for postings already under way in the period
    (they hold a shared lock on it), so none slips in after the close.
    A month without a period row is created closed.
    """
    (start, end), code = _period_code(period_id)
    today = timezone.localdate()
    if end >= today:
        # Closing a month closes the books up to its end (closed_after): a month not over yet,
        # closed by a slip of the year, would stop every posting of the ledger.
        raise ConflictError(
            f"Period {code} has not ended (it ends on {end}; today is {today}): a month is closed once "
            "it is over.",
            code="period_not_ended",
        )
    locks.periods_before_lock(code)
    period = locks.period_lock(code)
    if period is None:
        try:
            with transaction.atomic():
                period = AccountingPeriod.objects.create(id=code, start_date=start, end_date=end)
        except IntegrityError:
            pass
        period = locks.period_lock(code)
        if period is None:
            # Not a concurrent close: another row holds the month's dates under another id
            # (written by hand, or before period ids were checked to the end).
            other = AccountingPeriod.objects.filter(start_date=start).values_list("pk", flat=True).first()
            raise ConflictError(
                f"Period {code} cannot be created: the row {other!r} already holds its dates. "
                "Correct or remove that row first.",
                code="period_conflict",
            )
    if period.status == PeriodStatus.CLOSED:
        raise ConflictError(f"Period {code} is already closed.", code="period_closed")
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = user
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit.record(
        "close period",
        AccountingPeriod,
        [period],
        user=user,
        old={"status": "open"},
        new={"status": "closed"},
    )
    return period


@locks.atomic_with_retry
def accounting_period_reopen(*, period_id, user):
    """Reopen the closed month ``period_id`` so that postings and reversals may be dated in it again."""
    _bounds, code = _period_code(period_id)
    period = locks.period_lock(code)
    if period is None:
        raise NotFoundError(f"Period {code} does not exist.")
    if period.status == PeriodStatus.OPEN:
        raise ConflictError(f"Period {code} is already open.", code="period_open")
    later = list(
        AccountingPeriod.objects.filter(pk__gt=code, status=PeriodStatus.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if later:
        # Nothing could be posted into it while a later month stays closed (closed_after).
        months = later[0] if len(later) == 1 else f"the closed months from {later[-1]} back to {later[0]}"
        raise ConflictError(
            f"Period {later[-1]} after {code} is closed too: postings dated in {code} would change its "
            f"balances, so {code} would stay shut. Reopen {months} first.",
            code="period_closed",
        )
    period.status = PeriodStatus.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit.record(
        "reopen period",
        AccountingPeriod,
        [period],
        user=user,
        old={"status": "closed"},
        new={"status": "open"},
    )
    return period


SYSTEM_USERNAME = "system-posting"


def is_service_account(user):
    """Whether ``user`` is the account commands act as when no ``--user`` is given (no person)."""
    return user is not None and user.get_username() == SYSTEM_USERNAME


def command_user_get(*, username=None):
    """Return the user a command acts as: ``username``, or the dedicated ``system-posting`` account.

    Every posting records who made it (rule 8); a command run from cron has no
    person behind it, so it posts as a named service account that cannot sign in.
    """
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if username is not None:
        # An empty --user (a shell variable that was not set) must not fall back to the
        # service account, which skips the caller's permission check.
        if not username.strip():
            raise DomainError("--user is empty; give a username, or leave the option out.", field="user")
        user = users.filter(username=username).first()
        if user is None:
            raise NotFoundError(f'No user is called "{username}".')
        return user
    user, created = users.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
