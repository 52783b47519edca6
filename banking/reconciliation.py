"""The bank reconciliation of one account for one month, its snapshot and its sign-off.

The *book* balance of a bank account is what the general ledger says: the sum
of debit minus credit of every GL line on the account's GL account, before the
period starts (opening) and up to its last day (closing). The *statement*
balance is what the bank says: the opening balance of the first statement of
the period and the closing balance of the last one. Their difference at the
close is the **variance** (statement minus book), judged against
``BANKING_RECONCILIATION_THRESHOLD``: zero is *balanced*, up to the threshold
*within threshold*, beyond it *out of balance*; without a statement there is
nothing to compare (*no statement*).

The unmatched items explain a variance: a statement line with no book item (a
bank fee nobody recorded yet) and a book item the bank has not shown yet (a
cheque not cashed). Everything is broken down by cost centre, project and
department; a GL line or transaction without one is counted under
``unassigned``, and statement lines count under the dimensions of the
transactions they are matched to (unmatched lines are unassigned).

A **snapshot** (``bank_reconciliations``) stores these numbers per account and
period; a controller's sign-off (*finalize*) locks it: the matched transactions
become *reconciled* and no match of the period may change afterwards.
Every sum here is computed by the database (``aggregate``, ``values().annotate()``).
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, Count, DecimalField, F, Q, Sum, When
from django.utils import timezone

from accounting import locks
from accounting.choices import PostingPurpose, SourceType
from accounting.models import AccountingPeriod, JournalEntry, JournalPosting
from accounting.services import is_service_account
from banking.choices import (
    BalanceStatus,
    Direction,
    LineMatchStatus,
    MatchStatus,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    StatementFormat,
)
from banking.matching import (
    bank_account_get,
    finalized_refusal,
    match_run,
    period_bounds,
    scope_lock,
)
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    ReconciliationMatch,
    StatementLine,
)
from cnperp import audit
from cnperp.duties import check_segregation, segregation_enforced
from cnperp.exceptions import ConflictError, DomainError, NotFoundError
from cnperp.fields import money_limit
from dimensions.models import CostCenter, Department, Project

ZERO = Decimal("0.00")
UNASSIGNED = "unassigned"
ITEM_LIMIT = 100  # unmatched items listed in a result; counts and totals cover them all
DIMENSIONS = (("cost_center", CostCenter), ("project", Project), ("department", Department))
MONEY = DecimalField(max_digits=20, decimal_places=2)


def _cents(value):
    # SQLite returns sums without their scale ("150"); every total leaves with two places.
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def balance_status(variance, threshold=None):
    """Return the :class:`BalanceStatus` of ``variance`` (``None``: no statement)."""
    if variance is None:
        return BalanceStatus.NO_STATEMENT
    threshold = settings.BANKING_RECONCILIATION_THRESHOLD if threshold is None else threshold
    if variance == 0:
        return BalanceStatus.BALANCED
    if abs(variance) <= threshold:
        return BalanceStatus.WITHIN_THRESHOLD
    return BalanceStatus.OUT_OF_BALANCE


def _signed_amount():
    return Case(When(direction=Direction.IN, then=F("amount")), default=-F("amount"), output_field=MONEY)


# --- What was open at a month's end --------------------------------------------------------------
#
# A month's reconciliation and variance report describe the books and the bank as they stood on
# its last day, as a bank reconciliation statement does: a deposit of 30 October that the bank
# credited on 3 November was in transit on 31 October even though it is matched today, and a
# deposit reversed in November was still in October's books. Reading today's statuses instead
# changed a past month's figures with every later match or reversal, and left October's
# variance unexplained by its own lists.


# Each set is read apart, as a short list of ids, from an index that holds its dates: as a
# correlated EXISTS, MariaDB turns the subquery into one materialized scan of every posting
# (or every match) of the whole history.


def reversed_after_ids(source_type, end):
    """Ids of the documents of ``source_type`` whose reversal is dated after ``end`` (on it they stood)."""
    return set(
        # A range of posting_purpose_date_idx, read from the index alone.
        JournalPosting.objects.filter(
            purpose=PostingPurpose.REVERSE, source_type=source_type, entry_date__gt=end
        )
        .values_list("source_id", flat=True)
        .order_by()  # the model's ordering (by posted_at) would make it read the rows to sort them
    )


def in_books_at(end):
    """Transactions in the books at ``end``: drafts, posted ones, and ones reversed only after ``end``."""
    live = Q(posting_status__in=[PostingStatus.DRAFT, PostingStatus.POSTED])
    later = reversed_after_ids(SourceType.BANK_TRANSACTION, end)
    return live | Q(posting_status=PostingStatus.REVERSED, pk__in=sorted(later)) if later else live


def _confirmed():
    return ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED)


def _only_after(candidates, own, other_date, end):
    """The ``own`` ids of ``candidates`` (confirmed matches) with no confirmed match whose ``other_date``
    is on or before ``end``: matched, but on the other side only after the month."""
    ids = set(candidates.values_list(own, flat=True))
    if ids:
        by_then = _confirmed().filter(**{f"{own}__in": sorted(ids), f"{other_date}__lte": end})
        ids -= set(by_then.values_list(own, flat=True))
    return ids


def cleared_after_ids(account_ids, end):
    """Ids of transactions dated by ``end`` matched, but only to statement lines booked after it."""
    # Driven by the lines booked after ``end`` (stmt_line_account_date): few for a recent month.
    candidates = _confirmed().filter(
        statement_line__bank_account_id__in=account_ids,
        statement_line__booking_date__gt=end,
        bank_transaction__transaction_date__lte=end,
    )
    return _only_after(candidates, "bank_transaction_id", "statement_line__booking_date", end)


def booked_after_ids(account_id, start, end):
    """Ids of the month's matched lines whose transactions all come after ``end`` (not in the books then)."""
    # Driven by the matched transactions dated after ``end`` (idx_bt_account_date): few for a recent month.
    later_books = (
        BankTransaction.objects.filter(bank_account_id=account_id, transaction_date__gt=end)
        .exclude(reconciliation_status=ReconciliationStatus.UNRECONCILED)
        .values("pk")
    )
    candidates = _confirmed().filter(
        bank_transaction__in=later_books,
        statement_line__booking_date__gte=start,
        statement_line__booking_date__lte=end,
    )
    return _only_after(candidates, "statement_line_id", "bank_transaction__transaction_date", end)


STATEMENT_BALANCE_FIELDS = (
    "id",
    "from_date",
    "to_date",
    "opening_balance",
    "closing_balance",
    "statement_number",
    "later_lines_total",
    "format",
)

# Interim reports of a day still under way (camt.052, MT942): their balance is the day's so far,
# so a statement of the whole day (camt.053, MT940) ending on the same day is taken before them.
INTRADAY_FORMATS = frozenset({StatementFormat.CAMT052, StatementFormat.MT942})


def _interim(row):
    return row["format"] in INTRADAY_FORMATS


def _statement_balances(account_id, start, end):
    """Return ``(opening, closing, count)`` from the statements covering ``start``..``end``.

    A month's statement balances are those of its first and last days, wherever
    the banks' statements begin and end (a bank that runs them from the 25th to
    the 24th). The opening is, by preference: the opening of a statement that
    begins on the month's first day; that of the latest statement begun before
    the month, plus the account's lines booked from its start to the month's;
    that of the earliest statement begun later in the month, less the lines
    booked in the month before it. The closing likewise, see
    :func:`statement_closing`. Statements of one day (the pages of an MT940
    statement) are put in order by their balances: the first is the one whose
    opening no other closes at, the last the one whose closing no other opens
    from; then by statement number.
    """
    covering = list(
        BankStatement.objects.filter(bank_account_id=account_id, from_date__lte=end, to_date__gte=start)
        .order_by("pk")
        .values(*STATEMENT_BALANCE_FIELDS)
    )
    with_opening = [row for row in covering if row["opening_balance"] is not None]
    on_start = [row for row in with_opening if row["from_date"] == start]
    before = [row for row in with_opening if row["from_date"] < start]
    opening = None
    if on_start or before:
        # From the statement begun last, on the day or before it: the fewest lines to add.
        first = _first(
            on_start or before,
            day="from_date",
            own="opening_balance",
            other="closing_balance",
            last=bool(before and not on_start),
        )
        began = first["from_date"]
        opening = (
            first["opening_balance"]
            + _lines_sum(account_id, began, start, before=True, leaving_out_late_before=began)
            - _late_lines_sum(account_id, began, start, end)
        )
    elif with_opening:
        first = _first(with_opening, day="from_date", own="opening_balance", other="closing_balance")
        began = first["from_date"]
        opening = (
            first["opening_balance"]
            - _lines_sum(account_id, start, began, before=True)
            - _late_lines_sum(account_id, began, began, end)
        )
    closing = statement_closing(covering, end, account_id)
    return (
        None if opening is None else _cents(opening),
        None if closing is None else _cents(closing),
        len(covering),
    )


def statement_closing(covering, end, account_id):
    """Return the month's statement closing balance from ``covering`` (rows of the statements overlapping it).

    By preference: the closing of a statement ending on the month's last day; of
    the earliest one ending after it, less the account's lines booked after the
    month up to its end date; of the latest ending earlier in the month, plus
    the other statements' lines booked after it up to the month's end. Either way
    less the statement's own lines booked after the month, which its closing
    includes: those after the month of its end date (``later_lines_total``, which
    counts lines stored under an earlier statement too) and those within that
    month after this one's end. An interim report of a day (``INTRADAY_FORMATS``) closes before the
    day's later lines, so a whole statement, ending then or later, is taken
    before it, and else the opening of a statement begun the next day. The
    reports take it from here too.
    """
    with_closing = [row for row in covering if row["closing_balance"] is not None]
    on_end = [row for row in with_closing if row["to_date"] == end]
    after = [row for row in with_closing if row["to_date"] > end]
    if not all(map(_interim, (*on_end, *after))):
        on_end = [row for row in on_end if not _interim(row)]
        after = [row for row in after if not _interim(row)]
    if on_end or after:
        # From the statement ending first, on the day or after it: the fewest lines to take off.
        row = _first(
            on_end or after, day="to_date", own="closing_balance", other="opening_balance", last=bool(on_end)
        )
        if _interim(row):
            # An interim report's balance is the day's so far; a statement begun the next day opens
            # at the day's end.
            following = _opening_after(account_id, end)
            if following is not None:
                return following
        adjustment = -_lines_sum(account_id, end, row["to_date"])
    elif with_closing:
        row = _first(with_closing, day="to_date", own="closing_balance", other="opening_balance", last=True)
        # Its own lines booked after its end date are in its closing already, and so are those an
        # earlier statement booked late (its opening holds them).
        adjustment = _lines_sum(
            account_id, row["to_date"], end, leaving_out=row["id"], leaving_out_late_before=row["from_date"]
        )
    else:
        return None
    # Lines an earlier statement booked late, after the month: its opening holds them, so its
    # closing does, but they belong to the month they are booked in (as for the opening).
    after_month = max(row["to_date"], end) + datetime.timedelta(days=1)
    adjustment -= _late_lines_sum(account_id, row["from_date"], after_month, end)
    # Its own lines booked after the month but within the month of its end date: in its closing,
    # not in the month's (those booked in the month itself belong to it).
    month_end = AccountingPeriod.bounds(AccountingPeriod.code_for(row["to_date"]))[1]
    own_later = _lines_sum(account_id, max(row["to_date"], end), month_end, statement=row["id"])
    return row["closing_balance"] - (row["later_lines_total"] or ZERO) - own_later + adjustment


def _opening_after(account_id, end):
    """The balance at the end of ``end`` as the opening of a statement begun the day after says it,
    less the lines it holds that are booked later (:func:`_late_before`); ``None`` without one."""
    day = end + datetime.timedelta(days=1)
    rows = list(
        BankStatement.objects.filter(bank_account_id=account_id, from_date=day, opening_balance__isnull=False)
        .order_by("pk")
        .values(*STATEMENT_BALANCE_FIELDS)
    )
    first = _first(rows, day="from_date", own="opening_balance", other="closing_balance")
    if first is None:
        return None
    return first["opening_balance"] - _late_lines_sum(account_id, day, day, end)


# How long after its stated end a statement's own lines are looked for (the SIX sample books some
# four weeks after): a bound that keeps the query to a few months of lines for an old month.
LATE_LINES_REACH = datetime.timedelta(days=92)


def _late_before(began):
    """Lines of a statement that ended before ``began``, booked after that end: its closing holds
    them, and so does the opening of a statement begun ``began``, which opens where it closed."""
    return Q(statement__to_date__lt=began, booking_date__gt=F("statement__to_date"))


def _late_lines_sum(account_id, began, since, end):
    """The lines, booked from ``since`` on, that a statement begun ``began`` has in its opening
    already (:func:`_late_before`): they belong to the month of their booking date, not before it."""
    lines = StatementLine.objects.filter(
        _late_before(began),
        bank_account_id=account_id,
        booking_date__gte=since,
        booking_date__lte=end + LATE_LINES_REACH,
    )
    return lines.aggregate(total=Sum("amount"))["total"] or ZERO


def _lines_sum(
    account_id, after, until, *, before=False, statement=None, leaving_out=None, leaving_out_late_before=None
):
    """The account's statement lines booked after ``after`` up to ``until`` (or, ``before``, from
    ``after`` up to the day before ``until``), only those of ``statement`` or leaving out those of
    ``leaving_out``; no query for an empty range."""
    if before:
        dates = {"booking_date__gte": after, "booking_date__lt": until}
        empty = after >= until
    else:
        dates = {"booking_date__gt": after, "booking_date__lte": until}
        empty = until <= after
    if empty:
        return ZERO
    lines = StatementLine.objects.filter(bank_account_id=account_id, **dates)
    if statement is not None:
        lines = lines.filter(statement_id=statement)
    if leaving_out is not None:
        lines = lines.exclude(statement_id=leaving_out)
    if leaving_out_late_before is not None:
        lines = lines.exclude(_late_before(leaving_out_late_before))
    return lines.aggregate(total=Sum("amount"))["total"] or ZERO


def _first(rows, *, day, own, other, last=False):
    """Return the first (or ``last``) of ``rows`` by ``day``; ties by the chain of their balances.

    Among statements of that day, a whole day's statement comes before an interim
    report of it (``INTRADAY_FORMATS``); then the first page opens at a balance no
    other page closes at (the last closes at one none opens from); then by number.
    """
    if not rows:
        return None
    edge = (max if last else min)(row[day] for row in rows)
    tied = [row for row in rows if row[day] == edge]
    tied = [row for row in tied if not _interim(row)] or tied
    linked = {row[other] for row in tied}
    ends = [row for row in tied if row[own] not in linked] or tied
    ends.sort(key=lambda row: row["statement_number"], reverse=last)
    return ends[0]


def _bucket():
    return {
        "book_opening_balance": ZERO,
        "book_closing_balance": ZERO,
        "matched_count": 0,
        "matched_amount": ZERO,
        "unmatched_book_count": 0,
        "unmatched_book_amount": ZERO,
        "unmatched_statement_count": 0,
        "unmatched_statement_amount": ZERO,
    }


class Breakdown:
    """Sums per value of each dimension, ``unassigned`` included, from grouped rows."""

    def __init__(self):
        self.buckets = {name: defaultdict(_bucket) for name, _model in DIMENSIONS}

    def add(self, dims, **amounts):
        for name, _model in DIMENSIONS:
            bucket = self.buckets[name][dims.get(name) or UNASSIGNED]
            for key, value in amounts.items():
                bucket[key] += value

    def as_lists(self):
        result = {}
        for name, model in DIMENSIONS:
            buckets = self.buckets[name]
            names = dict(
                model.objects.filter(pk__in=[key for key in buckets if key != UNASSIGNED]).values_list(
                    "pk", "name"
                )
            )
            rows = []
            for key in sorted(buckets, key=lambda k: (k == UNASSIGNED, k)):
                bucket = buckets[key]
                movement = bucket["book_closing_balance"] - bucket["book_opening_balance"]
                statement = bucket["matched_amount"] + bucket["unmatched_statement_amount"]
                rows.append(
                    {
                        "key": key,
                        "name": "Unassigned" if key == UNASSIGNED else names.get(key, key),
                        **bucket,
                        "book_movement": movement,
                        "statement_movement": statement,
                        "movement_difference": statement - movement,
                    }
                )
            result[name] = rows
        return result


def _dims(row, prefix=""):
    """Map a grouped row's ``<prefix><dimension>_id`` columns to dimension names."""
    return {name: row[f"{prefix}{name}_id"] for name, _model in DIMENSIONS}


def reconcile_banking_by_dimension(bank_account_id, period, *, item_limit=ITEM_LIMIT):
    """Return the reconciliation of ``bank_account_id`` for ``period`` (``YYYY-MM``) as a plain dict.

    Amounts are ``Decimal`` with two places, dates ``date``; the API turns them
    into strings. Raises ``DomainError`` (``period``) and ``NotFoundError``
    (``bank_account_id``).
    """
    start, end = period_bounds(period)
    account = bank_account_get(bank_account_id)
    breakdown = Breakdown()
    names = [f"{name}_id" for name, _model in DIMENSIONS]

    net = F("debit") - F("credit")
    gl = JournalEntry.objects.filter(account_id=account.gl_account_id, entry_date__lte=end)
    book_opening = book_closing = ZERO
    for row in (
        gl.values(*names)
        .order_by()
        .annotate(
            opening=Sum(net, filter=Q(entry_date__lt=start), output_field=MONEY),
            closing=Sum(net, output_field=MONEY),
        )
    ):
        opening, closing = _cents(row["opening"]), _cents(row["closing"])
        book_opening += opening
        book_closing += closing
        breakdown.add(_dims(row), book_opening_balance=opening, book_closing_balance=closing)

    statement_opening, statement_closing, statement_count = _statement_balances(account.pk, start, end)

    lines = StatementLine.objects.filter(
        bank_account_id=account.pk, booking_date__gte=start, booking_date__lte=end
    )
    # A line the bank booked in another currency is not the account's money: it is counted among
    # the open lines but kept out of their total, and its amounts are given per currency.
    by_status, other_currencies = defaultdict(lambda: (0, ZERO)), defaultdict(lambda: (0, ZERO))

    def add(table, key, count, total):
        table[key] = (table[key][0] + count, table[key][1] + total)

    grouped = lines.values("match_status", "currency").order_by()
    for row in grouped.annotate(count=Count("pk"), total=Sum("amount")):
        currency, total = (row["currency"] or account.currency).upper(), _cents(row["total"])
        own = currency == account.currency.upper()
        add(by_status, row["match_status"], row["count"], total if own else ZERO)
        if not own:
            add(other_currencies, currency, row["count"], total)
    # A line matched to a transaction dated after the month was not yet in the books at its end.
    early_ids = sorted(booked_after_ids(account.pk, start, end))
    early = lines.filter(pk__in=early_ids).aggregate(count=Count("pk"), total=Sum("amount"))
    early_count, early_total = early["count"], _cents(early["total"] or ZERO)
    matched_count, matched_amount = by_status.get(LineMatchStatus.MATCHED, (0, ZERO))
    matched_count, matched_amount = matched_count - early_count, matched_amount - early_total
    open_statuses = (LineMatchStatus.UNMATCHED, LineMatchStatus.SUGGESTED)
    unmatched_lines_count = early_count + sum(by_status.get(status, (0, ZERO))[0] for status in open_statuses)
    unmatched_lines_total = early_total + sum(
        (by_status.get(status, (0, ZERO))[1] for status in open_statuses), ZERO
    )
    breakdown.add(
        {}, unmatched_statement_count=unmatched_lines_count, unmatched_statement_amount=unmatched_lines_total
    )

    confirmed = ReconciliationMatch.objects.filter(
        bank_account_id=account.pk,
        status=MatchStatus.CONFIRMED,
        statement_line__booking_date__gte=start,
        statement_line__booking_date__lte=end,
    ).exclude(statement_line_id__in=early_ids)
    # A transaction has one set of dimensions, so its distinct count per group adds up to the total.
    matched_transactions = counted_lines = 0
    dimension_columns = [f"bank_transaction__{name}" for name in names]
    for row in (
        confirmed.values(*dimension_columns)
        .order_by()
        .annotate(
            count=Count("statement_line_id", distinct=True),
            transactions=Count("bank_transaction_id", distinct=True),
            total=Sum("amount"),
        )
    ):
        matched_transactions += row["transactions"]
        counted_lines += row["count"]
        breakdown.add(
            _dims(row, "bank_transaction__"), matched_count=row["count"], matched_amount=_cents(row["total"])
        )
    if counted_lines > matched_count:
        # A line matched to transactions of different dimensions (a deposit of two cost centres'
        # cash) was counted in each group: it stays one line, counted where most of it went.
        _count_split_lines_once(confirmed, dimension_columns, breakdown)

    open_books = BankTransaction.objects.filter(
        Q(reconciliation_status=ReconciliationStatus.UNRECONCILED)
        | Q(pk__in=sorted(cleared_after_ids([account.pk], end))),
        in_books_at(end),
        bank_account_id=account.pk,
        transaction_date__gte=start,
        transaction_date__lte=end,
    )
    unmatched_books_count, unmatched_books_total = 0, ZERO
    for row in open_books.values(*names).order_by().annotate(count=Count("pk"), total=Sum(_signed_amount())):
        total = _cents(row["total"])
        unmatched_books_count += row["count"]
        unmatched_books_total += total
        breakdown.add(_dims(row), unmatched_book_count=row["count"], unmatched_book_amount=total)

    variance = None if statement_closing is None else statement_closing - book_closing
    threshold = _cents(settings.BANKING_RECONCILIATION_THRESHOLD)
    snapshot = (
        BankReconciliation.objects.filter(bank_account_id=account.pk, period_id=period, scope_key="")
        .select_related("prepared_by", "approved_by")
        .first()
    )
    return {
        "bank_account_id": account.pk,
        "bank_account_name": account.name,
        "currency": account.currency,
        "gl_account_id": account.gl_account_id,
        "period": period,
        "period_start": start,
        "period_end": end,
        "book_opening_balance": book_opening,
        "book_closing_balance": book_closing,
        "statement_opening_balance": statement_opening,
        "statement_closing_balance": statement_closing,
        "statement_count": statement_count,
        "matched_count": matched_count,
        "matched_amount": matched_amount,
        "matched_transaction_count": matched_transactions,
        "suggested_count": by_status.get(LineMatchStatus.SUGGESTED, (0, ZERO))[0],
        "unmatched_book_items": {
            "count": unmatched_books_count,
            "total": unmatched_books_total,
            "items": _book_items(open_books, item_limit),
        },
        "unmatched_statement_lines": {
            "count": unmatched_lines_count,
            "total": unmatched_lines_total,
            "other_currencies": [
                {"currency": currency, "count": count, "total": total}
                for currency, (count, total) in sorted(other_currencies.items())
            ],
            "items": _line_items(
                lines.filter(Q(match_status__in=open_statuses) | Q(pk__in=early_ids)),
                item_limit,
                account.currency,
            ),
        },
        "variance": variance,
        "threshold": threshold,
        "status": balance_status(variance, threshold),
        "reconciliation": _snapshot_state(snapshot),
        "dimensions": breakdown.as_lists(),
    }


def _count_split_lines_once(confirmed, dimension_columns, breakdown):
    split = (
        confirmed.values("statement_line_id")
        .order_by()
        .annotate(groups=Count("bank_transaction_id"))
        .filter(groups__gt=1)
        .values_list("statement_line_id", flat=True)
    )
    shares = defaultdict(lambda: defaultdict(Decimal))
    for line_id, *dims, amount in confirmed.filter(statement_line_id__in=list(split)).values_list(
        "statement_line_id", *dimension_columns, "amount"
    ):
        shares[line_id][tuple(dims)] += abs(amount)
    names = [name for name, _model in DIMENSIONS]
    for groups in shares.values():
        if len(groups) < 2:
            continue
        keep = max(groups, key=lambda dims: (groups[dims], tuple(value or "" for value in dims)))
        for dims in groups:
            if dims != keep:
                breakdown.add(dict(zip(names, dims, strict=True)), matched_count=-1)


def _book_items(queryset, limit):
    rows = queryset.order_by("transaction_date", "pk").values(
        "id",
        "transaction_date",
        "transaction_type",
        "direction",
        "amount",
        "reference",
        "counterparty_name",
        "posting_status",
        "cost_center_id",
        "project_id",
        "department_id",
    )[:limit]
    return [
        {**row, "amount": _cents(row["amount"] if row["direction"] == Direction.IN else -row["amount"])}
        for row in rows
    ]


def _line_items(queryset, limit, currency):
    """The first ``limit`` lines by date; a line that names no currency is in the account's."""
    rows = queryset.order_by("booking_date", "pk").values(
        "id",
        "booking_date",
        "amount",
        "currency",
        "counterparty_name",
        "bank_reference",
        "narrative",
        "match_status",
    )[:limit]
    return [
        {
            **row,
            "amount": _cents(row["amount"]),
            "currency": (row["currency"] or currency).upper(),
            "narrative": row["narrative"][:140],
        }
        for row in rows
    ]


def _snapshot_state(snapshot):
    if snapshot is None:
        return None
    return {
        "id": snapshot.pk,
        "status": snapshot.status,
        "prepared_by": snapshot.prepared_by.get_username() if snapshot.prepared_by_id else None,
        "approved_by": snapshot.approved_by.get_username() if snapshot.approved_by_id else None,
        "approved_at": snapshot.approved_at,
        "updated_at": snapshot.updated_at,
    }


def jsonable(value):
    """Return ``value`` with Decimals and dates as strings, for the snapshot's JSON column."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime.datetime):
        # As DRF writes it, so that the command's JSON and the API's are the same text.
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


# --- Snapshots and sign-off -----------------------------------------------------------


def _store(result, snapshot, *, account, period, user):
    """Write ``result`` into ``snapshot`` (or a new whole-account snapshot) and return it."""
    if snapshot is None:
        snapshot = BankReconciliation(bank_account=account, period_id=period, scope_key="", created_by=user)
    variance = result["variance"]
    snapshot.reconciliation_date = result["period_end"]
    snapshot.book_opening_balance = result["book_opening_balance"]
    snapshot.book_closing_balance = result["book_closing_balance"]
    snapshot.statement_opening_balance = result["statement_opening_balance"]
    snapshot.statement_closing_balance = result["statement_closing_balance"]
    snapshot.variance = variance
    snapshot.balance_status = result["status"]
    snapshot.matched_count = result["matched_count"]
    snapshot.matched_amount = result["matched_amount"]
    snapshot.unmatched_book_count = result["unmatched_book_items"]["count"]
    snapshot.unmatched_book_amount = result["unmatched_book_items"]["total"]
    snapshot.unmatched_statement_count = result["unmatched_statement_lines"]["count"]
    snapshot.unmatched_statement_amount = result["unmatched_statement_lines"]["total"]
    snapshot.dimension_breakdown = jsonable(result["dimensions"])
    if snapshot.prepared_by_id is None or not is_service_account(user):
        # The nightly refresh (the service account) keeps the person who prepared the month:
        # taking their name off would let them sign off their own work.
        snapshot.prepared_by = user
    snapshot.updated_by = user
    _refuse_beyond_columns(snapshot, period)
    snapshot.save()
    return snapshot


SNAPSHOT_MONEY_FIELDS = (
    "book_opening_balance",
    "book_closing_balance",
    "statement_opening_balance",
    "statement_closing_balance",
    "variance",
    "matched_amount",
    "unmatched_book_amount",
    "unmatched_statement_amount",
)


def _refuse_beyond_columns(snapshot, period):
    """Refuse a month whose totals no stored amount can hold, naming it, before the database fails."""
    limit = money_limit()
    for name in SNAPSHOT_MONEY_FIELDS:
        value = getattr(snapshot, name)
        if value is not None and abs(value) >= limit:
            label = name.replace("_", " ")
            raise ConflictError(
                f"The {label} of {snapshot.bank_account_id} for {period} ({value}) is beyond what a "
                f"stored amount can hold ({settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES} "
                "digits before the point); the reconciliation cannot be saved.",
                code="amount_too_large",
            )


def _save_locked(*, account, period, snapshots, user):
    result = reconcile_banking_by_dimension(account.pk, period)
    snapshot = _store(result, snapshots.get(period), account=account, period=period, user=user)
    result["reconciliation"] = _snapshot_state(snapshot)
    return snapshot, result


@locks.atomic_with_retry
def reconciliation_snapshot_save(*, bank_account_id, period, user):
    """Store (or refresh) the snapshot of ``bank_account_id`` for ``period``; return ``(snapshot, result)``.

    Refused (409) once the period's reconciliation is finalized.
    """
    period_bounds(period)
    bank_account_get(bank_account_id)
    # A refresh, as a nightly job runs it, is told why it stops: nothing in it asked to match.
    account, snapshots = scope_lock(
        bank_account_id=bank_account_id,
        periods=[period],
        refused="its snapshot stays as signed off (GET /api/v1/banking/reconciliation reads it)",
    )
    return _save_locked(account=account, period=period, snapshots=snapshots, user=user)


@locks.atomic_with_retry
def reconciliation_run(*, bank_account_id, period, user, match=True):
    """Run the matcher (unless ``match`` is false), then save the snapshot.

    Returns ``(snapshot, result, run)``; ``run`` is ``None`` without matching.
    """
    period_bounds(period)
    bank_account_get(bank_account_id)
    run = match_run(bank_account_id=bank_account_id, period=period, user=user) if match else None
    snapshot, result = reconciliation_snapshot_save(bank_account_id=bank_account_id, period=period, user=user)
    return snapshot, result, run


# Sign-off rules: each receives the freshly saved snapshot, the signing user and
# their note, and raises to refuse. Segregation of duties (issue 7) adds its rule
# (preparer and approver differ, the approver holds the sign-off permission) here.


def sign_off_requires_statement(snapshot, *, user, note):
    if snapshot.balance_status == BalanceStatus.NO_STATEMENT:
        raise ConflictError(
            f"No bank statement covers {snapshot.period_id} for account {snapshot.bank_account_id}; "
            "import it before signing off.",
            code="no_statement",
        )


def sign_off_explains_variance(snapshot, *, user, note):
    if snapshot.balance_status == BalanceStatus.OUT_OF_BALANCE and not (note or "").strip():
        raise DomainError(
            f"The variance of {snapshot.variance:.2f} is beyond the threshold; explain it in a note "
            "to sign off anyway.",
            field="note",
        )


SIGN_OFF_RULES = [sign_off_requires_statement, sign_off_explains_variance]


def _resolve(reconciliation_id, bank_account_id, period):
    if reconciliation_id is not None:
        found = (
            BankReconciliation.objects.filter(pk=reconciliation_id, scope_key="")
            .values_list("bank_account_id", "period_id")
            .first()
            if isinstance(reconciliation_id, str)
            else None
        )
        if found is None:
            raise NotFoundError(
                f'No reconciliation has the id "{reconciliation_id}".', field="reconciliation_id"
            )
        return found
    if bank_account_id is None or period is None:
        raise DomainError(
            "Name the reconciliation: its id, or the bank account and the period.", field="reconciliation_id"
        )
    period_bounds(period)
    bank_account_get(bank_account_id)
    return bank_account_id, period


def _helped_prepare(user, account, period, snapshot):
    """Whether ``user`` had a hand in the month: ran its matcher, saved its snapshot, or decided a match.

    The snapshot names only its latest preparer; the audit trail remembers everyone who ran
    the month before a refresh by someone else (or by the nightly job) took its place.
    """
    if not segregation_enforced():
        return False
    start, end = period_bounds(period)
    decided = ReconciliationMatch.objects.filter(
        bank_account_id=account.pk,
        statement_line__booking_date__gte=start,
        statement_line__booking_date__lte=end,
        decided_by=user,
    ).exclude(status=MatchStatus.SUGGESTED)
    ran = Q(
        content_type=ContentType.objects.get_for_model(BankAccount),
        object_pk=str(account.pk),
        additional_data__event="auto-match",
        additional_data__period=period,
    )
    if snapshot is not None:
        snapshot_type = ContentType.objects.get_for_model(BankReconciliation)
        ran |= Q(content_type=snapshot_type, object_pk=str(snapshot.pk), changes__has_key="prepared_by")
    return decided.exists() or LogEntry.objects.filter(ran, actor_id=user.pk).exists()


# The longest sign-off note, whichever door it comes through (API, workbench, command).
SIGN_OFF_NOTE_MAX = 2000


@locks.atomic_with_retry
def reconciliation_finalize(*, user, reconciliation_id=None, bank_account_id=None, period=None, note=""):
    """Sign off a reconciliation: refresh its numbers, lock it, mark its matched transactions reconciled.

    Returns ``(snapshot, result)``. Refused (409) when already finalized or
    when a sign-off rule says so (no statement; an unexplained variance beyond
    the threshold is a 400 on ``note``).
    """
    if not isinstance(note, str) or len(note) > SIGN_OFF_NOTE_MAX:
        raise DomainError(f"The note is text of at most {SIGN_OFF_NOTE_MAX} characters.", field="note")
    bank_account_id, period = _resolve(reconciliation_id, bank_account_id, period)
    start, end = period_bounds(period)
    finalized = BankReconciliation.objects.filter(
        bank_account_id=bank_account_id, period_id=period, status=ReconciliationState.FINALIZED
    ).first()
    if finalized is not None:
        raise finalized_refusal(finalized, "it is signed off once")
    account, snapshots = scope_lock(bank_account_id=bank_account_id, periods=[period])
    if period not in snapshots and segregation_enforced():
        # Without a snapshot yet, the signer would prepare it themselves: say so, rather than
        # tell a controller who never touched the month that they prepared it.
        raise ConflictError(
            f"Nobody has reconciled bank account {account.pk} for {period} yet, and the signer may not "
            "prepare what they sign off (segregation of duties): someone else runs it first (the "
            "workbench's Run matcher, manage.py reconcile, or POST /api/v1/banking/reconciliation/run).",
            code="not_prepared",
        )
    snapshot = snapshots.get(period)
    preparer_id = getattr(snapshot, "prepared_by_id", user.pk)
    makers = (preparer_id, user.pk) if _helped_prepare(user, account, period, snapshot) else (preparer_id,)
    check_segregation(user=user, makers=makers, action="finalize_bankreconciliation")
    snapshot, result = _save_locked(account=account, period=period, snapshots=snapshots, user=user)
    for rule in SIGN_OFF_RULES:
        rule(snapshot, user=user, note=note)
    now = timezone.now()
    snapshot.status = ReconciliationState.FINALIZED
    snapshot.approved_by = user
    snapshot.prepared_by_id = preparer_id  # the refresh above is the signer's; the preparation is not
    snapshot.approved_at = now
    if note:
        snapshot.notes = f"{snapshot.notes}\n{note}".strip()
    snapshot.updated_by = user
    snapshot.save()
    matched_ids = (
        ReconciliationMatch.objects.filter(
            bank_account_id=account.pk,
            status=MatchStatus.CONFIRMED,
            statement_line__booking_date__gte=start,
            statement_line__booking_date__lte=end,
        )
        .values_list("bank_transaction_id", flat=True)
        .distinct()
    )
    BankTransaction.objects.filter(
        pk__in=list(matched_ids), reconciliation_status=ReconciliationStatus.MATCHED
    ).update(
        reconciliation_status=ReconciliationStatus.RECONCILED,
        reconciled_at=now,
        updated_at=now,
        updated_by=user,
    )
    audit.record(
        "finalize reconciliation",
        BankTransaction,
        matched_ids,
        user=user,
        old={"reconciliation_status": "matched"},
        new={"reconciliation_status": "reconciled"},
        details={"reconciliation": snapshot.pk},
    )
    result["reconciliation"] = _snapshot_state(snapshot)
    return snapshot, result
