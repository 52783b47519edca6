"""The controller's reports on cash: cash position, dimensional analysis, variance report
and transfer tracking. Reads only.

Books. A bank account's money in the books is the GL lines on its GL account
(``BankAccount.gl_account``): a debit is money in (an *inflow*), a credit money
out (an *outflow*). The *opening balance* of a month is debit less credit of
every line dated before its first day; the *closing balance* adds the month's
inflows and less its outflows. A reversal is an ordinary GL line on the other
side, so a reversed deposit shows as an inflow and an equal outflow and nets to
nothing, exactly as the ledger holds it.

Dimensions. Each GL line carries its cost centre, project and department (NULL:
*unassigned*, reported as its own bucket so that every line is accounted for).
The database groups the lines once by the three columns together; the much
smaller grouped result is folded here into one table per dimension, and each
parent value is *rolled up* from its children: ``inflow`` is the value's own
lines, ``total_inflow`` its own plus every descendant's. Summing the own
amounts of one dimension gives the month's total; so does summing the roots'
totals.

Statements. The bank's view is the closing balance of the last statement
covering the month. *Variance* is statement less book; a line whose variance
exceeds ``BANKING_VARIANCE_ALERT_THRESHOLD`` (in absolute value) is *flagged*.
Branch cash submissions have their own variance: deposited less expected, for
the submissions the bank has credited.

Speed. Every sum is computed by the database (``aggregate``,
``values().annotate()``) with the period as a plain range on an indexed date
column (``entry_date >= start``), so an index bounds what is read. Rows are
loaded into Python only where they are listed anyway (transfers and their
allocations); their totals are then added up from those rows rather than asked
of the database a second time.
"""

import datetime
import hashlib
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, DecimalField, F, Func, Q, Sum, Value, When
from django.utils import timezone

from accounting.choices import PeriodStatus, PostingPurpose, SourceType
from accounting.models import AccountingPeriod, JournalEntry, JournalPosting
from banking.choices import (
    CashSubmissionStatus,
    Direction,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    TransferStatus,
)
from banking.matching import bank_account_get, period_bounds
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
)
from banking.reconciliation import (
    STATEMENT_BALANCE_FIELDS,
    balance_status,
    cleared_after_ids,
    in_books_at,
    reversed_after_ids,
    statement_closing,
)
from banking.splits import allocation_shares
from cnperp.exceptions import DomainError
from dimensions.models import UNASSIGNED_KEY, Branch, CostCenter, Department, Project

ZERO = Decimal("0.00")
UNASSIGNED = UNASSIGNED_KEY  # the key of lines without a value (no dimension may take it)
DIMENSIONS = ("cost_center", "project", "department")
DIMENSION_MODELS = {"cost_center": CostCenter, "project": Project, "department": Department}
DIMENSION_COLUMNS = tuple(f"{name}_id" for name in DIMENSIONS)
MONEY = DecimalField(max_digits=20, decimal_places=2)
# Ages of unreconciled items at the month's last day, in days: (label, youngest, oldest).
AGE_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
OPEN_TRANSFER = (TransferStatus.INITIATED, TransferStatus.IN_TRANSIT)
FLOW_METRICS = {"inflow": ZERO, "outflow": ZERO, "count": 0}


def _cents(value):
    # SQLite returns sums without their scale ("150"); every amount leaves with two places.
    if value is None:
        return ZERO
    return (value if type(value) is Decimal else Decimal(value)).quantize(ZERO)


def alert_threshold():
    """Return ``BANKING_VARIANCE_ALERT_THRESHOLD`` as a two-place ``Decimal``."""
    return _cents(getattr(settings, "BANKING_VARIANCE_ALERT_THRESHOLD", Decimal("5000.00")))


def transfer_attention_days():
    """Return when a transfer in transit needs attention, in days (``BANKING_TRANSFER_ATTENTION_DAYS``)."""
    return int(getattr(settings, "BANKING_TRANSFER_ATTENTION_DAYS", 3))


def _flagged(variance, threshold):
    return variance is not None and abs(variance) > threshold


def parse_group_by(value):
    """Return the dimensions named in ``value`` (``"cost_center,project"``), or raise on ``group_by``."""
    if value is None or value == "":
        return list(DIMENSIONS)
    names = [part.strip() for part in value.split(",")]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown or not all(names):
        raise DomainError(
            f'group_by "{value}" is not a list of dimensions; use a comma-separated list of '
            + ", ".join(DIMENSIONS)
            + ".",
            field="group_by",
        )
    if len(set(names)) != len(names):
        raise DomainError(f'group_by "{value}" names a dimension twice.', field="group_by")
    return names


def account_currencies():
    """Return the currencies the bank accounts are kept in, sorted."""
    return sorted(set(BankAccount.objects.values_list("currency", flat=True)))


def report_accounts(bank_account_id=None, currency=None):
    """Return the bank account named (404 when unknown), or every bank account (of ``currency``).

    Totals add amounts, so every account of a report is kept in one currency:
    with accounts in several currencies and no ``currency`` named, the report is
    refused (400 naming ``currency``) rather than adding euros to dollars.
    """
    if bank_account_id is not None:
        account = bank_account_get(bank_account_id)
        if currency is not None and account.currency != currency:
            raise DomainError(
                f'Bank account "{account.pk}" is kept in {account.currency}, not {currency}.',
                field="currency",
            )
        return [account]
    accounts = list(BankAccount.objects.order_by("pk"))
    currencies = sorted({account.currency for account in accounts})
    if currency is not None:
        if currency not in currencies:
            raise DomainError(
                f"No bank account is kept in {currency}; they are kept in {', '.join(currencies) or 'none'}.",
                field="currency",
            )
        return [account for account in accounts if account.currency == currency]
    if len(currencies) > 1:
        raise DomainError(
            f"The bank accounts are kept in {', '.join(currencies)}: name one with currency= (its accounts "
            "are reported together), or one account with bank_account_id=.",
            field="currency",
        )
    return accounts


def _header(accounts, bank_account_id, period, start, end):
    currencies = {account.currency for account in accounts}
    return {
        "bank_account_id": bank_account_id,
        "period": period,
        "period_start": start,
        "period_end": end,
        # One currency (report_accounts): null only without any bank account.
        "currency": currencies.pop() if len(currencies) == 1 else None,
        "generated_at": timezone.now(),
    }


# --- Dimensions: fold grouped rows, roll parents up -----------------------------------------


def _hierarchy(name, cache=None):
    """Return ``{id: (parent id, code, name)}`` of a dimension (a small table), once per ``cache``."""
    if cache is not None and name in cache:
        return cache[name]
    model = DIMENSION_MODELS[name]
    nodes = {
        pk: (parent, code, label)
        for pk, parent, code, label in model.objects.values_list("pk", "parent_id", "code", "name")
    }
    if cache is not None:
        cache[name] = nodes
    return nodes


def _add(target, values, metrics):
    for metric in metrics:
        target[metric] += values[metric]


def _zeros(metrics):
    return dict(metrics)


def _derive(row, metrics):
    if "inflow" in metrics:
        row["net"] = row["inflow"] - row["outflow"]
        row["total_net"] = row["total_inflow"] - row["total_outflow"]
    return row


def dimension_table(groups, name, metrics, nodes):
    """Return the rows of dimension ``name`` from ``groups`` (rows grouped by the three dimension columns).

    Own amounts first, then ``total_*`` with every descendant's added; the
    values form a tree (parents before children, by code), ``unassigned`` last.
    """
    own = defaultdict(lambda: _zeros(metrics))
    for group in groups:
        _add(own[group[f"{name}_id"] or UNASSIGNED], group, metrics)
    totals = defaultdict(lambda: _zeros(metrics))
    on_loop = set()
    for key, values in own.items():
        if key == UNASSIGNED:
            continue
        node, chain = key, []
        # The model refuses loops (Dimension.clean); a chain written around it stops where it
        # comes back, and the values on the loop are noted.
        while node is not None and node not in chain:
            chain.append(node)
            _add(totals[node], values, metrics)
            node = nodes.get(node, (None,))[0]
        if node is not None:
            on_loop.update(chain[chain.index(node) :])
    children = defaultdict(list)
    for key in totals:
        parent = nodes.get(key, (None,))[0]
        # A loop has no root: each value on it stands as a root of its own, rather than
        # vanishing from the table.
        children[parent if parent in totals and key not in on_loop else None].append(key)

    def by_code(keys):
        return sorted(keys, key=lambda k: nodes.get(k, (None, k))[1])

    rows = []
    # Depth first, parents before children, with a stack of its own: a hierarchy deeper than
    # Python's recursion limit (written before the depth cap, or by hand) still reports.
    stack = [(root, 0) for root in reversed(by_code(children[None]))]
    while stack:
        key, level = stack.pop()
        parent, code, label = nodes.get(key, (None, key, key))
        row = {"key": key, "code": code, "name": label, "parent": parent, "level": level}
        row.update(own.get(key, _zeros(metrics)))
        row.update({f"total_{metric}": value for metric, value in totals[key].items()})
        rows.append(_derive(row, metrics))
        stack.extend((child, level + 1) for child in reversed(by_code(children[key])))
    if UNASSIGNED in own:
        row = {"key": UNASSIGNED, "code": "", "name": "Unassigned", "parent": None, "level": 0}
        row.update(own[UNASSIGNED])
        row.update({f"total_{metric}": value for metric, value in own[UNASSIGNED].items()})
        rows.append(_derive(row, metrics))
    return rows


def dimension_tables(groups, metrics, names=DIMENSIONS, cache=None):
    """Return ``{dimension: rows}`` for each of ``names`` (see :func:`dimension_table`)."""
    groups = list(groups)
    return {name: dimension_table(groups, name, metrics, _hierarchy(name, cache)) for name in names}


def combination_rows(groups, names, metrics, cache=None):
    """Return one row per combination of the values of ``names`` (no roll-up), unassigned last."""
    own = defaultdict(lambda: _zeros(metrics))
    for group in groups:
        key = tuple(group[f"{name}_id"] or UNASSIGNED for name in names)
        _add(own[key], group, metrics)
    labels = {name: _hierarchy(name, cache) for name in names}
    rows = []
    for key in sorted(own, key=lambda k: tuple((part == UNASSIGNED, part) for part in k)):
        row = {}
        for name, value in zip(names, key, strict=True):
            row[name] = value
            row[f"{name}_name"] = (
                "Unassigned" if value == UNASSIGNED else labels[name].get(value, (None, value, value))[2]
            )
        row.update(own[key])
        if "inflow" in metrics:
            row["net"] = row["inflow"] - row["outflow"]
        rows.append(row)
    return rows


def _money_groups(queryset, metrics):
    """Return grouped rows with every money metric at two places."""
    rows = []
    for row in queryset:
        for metric, zero in metrics.items():
            row[metric] = _cents(row[metric]) if isinstance(zero, Decimal) else (row[metric] or 0)
        rows.append(row)
    return rows


# --- Books and statements ---------------------------------------------------------------------


def _gl_lines(accounts):
    return JournalEntry.objects.filter(account_id__in=sorted({a.gl_account_id for a in accounts}))


def _month_runs(periods):
    """Merge ``(start, end)`` month ranges into runs of consecutive months."""
    runs = []
    for first, last in sorted(periods):
        if runs and runs[-1][1] + datetime.timedelta(days=1) == first:
            runs[-1] = (runs[-1][0], last)
        else:
            runs.append((first, last))
    return runs


CLOSED_MONTHS_CACHE_KEY = "cnperp:reports:closed-month-nets:{}"


def _closed_month_nets(gl_ids, closed):
    """Return ``{(gl_account_id, period_id): debit - credit}`` of closed months, cached while closed.

    A closed period takes no posting (rule 4), so its movement on an account is
    final for as long as it stays closed. Each cached month carries the moment
    it was closed: a month reopened and closed again no longer matches and is
    summed afresh, never answered stale. What the cache lacks is summed by the
    database per account and day on the covering index, and folded into months
    here. One cache entry per GL account: ``{period_id: [closed_at, net]}``.
    """
    stamps = {period_id: closed_at.isoformat() for period_id, (_f, _l, closed_at) in closed.items()}
    stored = cache.get_many([CLOSED_MONTHS_CACHE_KEY.format(gl) for gl in gl_ids])
    nets, missing = {}, set()
    for gl in gl_ids:
        months = stored.get(CLOSED_MONTHS_CACHE_KEY.format(gl), {})
        for period_id, stamp in stamps.items():
            entry = months.get(period_id)
            if entry and entry[0] == stamp:
                nets[(gl, period_id)] = Decimal(entry[1])
            else:
                missing.add(period_id)
    if not missing:
        return nets
    window = Q()
    for first, last in _month_runs([closed[period_id][:2] for period_id in missing]):
        window |= Q(entry_date__gte=first, entry_date__lte=last)
    computed = {(gl, period_id): ZERO for gl in gl_ids for period_id in missing}
    month_of = {closed[period_id][0]: period_id for period_id in missing}
    rows = (
        JournalEntry.objects.filter(window, account_id__in=gl_ids)
        .values("account_id", "entry_date")
        .order_by()
        .annotate(net=Sum(F("debit") - F("credit"), output_field=MONEY))
    )
    for row in rows:
        period_id = month_of.get(row["entry_date"].replace(day=1))
        if period_id is not None:
            computed[(row["account_id"], period_id)] += _cents(row["net"])
    nets.update(computed)
    updates = {}
    for gl in gl_ids:
        # Other months stay: a stale one is told apart by its closing moment when read.
        months = dict(stored.get(CLOSED_MONTHS_CACHE_KEY.format(gl), {}))
        months.update(
            {period_id: [stamps[period_id], str(computed[(gl, period_id)])] for period_id in missing}
        )
        updates[CLOSED_MONTHS_CACHE_KEY.format(gl)] = months
    cache.set_many(updates, timeout=None)
    return nets


def _gl_balances(accounts, start, end, month_sums=None):
    """Return ``{gl_account_id: {opening, inflow, outflow, count}}`` up to ``end``.

    The opening balance is the sum of every line before ``start``: closed months
    come from :func:`_closed_month_nets`, open months are summed now, with the
    month itself, in one query on the covering index (account, entry_date,
    debit, credit). So once the books are closed month by month, the cost
    follows the open months' rows, not the size of the history.

    ``month_sums`` (``{gl_account_id: {inflow, outflow, count}}``) is the month
    already summed by the caller (the cash position sums it day by day): then
    only the days before it that no closed month covers are read (open months,
    and any line dated before the first period), an empty range of the index
    when every earlier month is closed.
    """
    gl_ids = sorted({a.gl_account_id for a in accounts})
    before = AccountingPeriod.objects.filter(end_date__lt=start).values_list(
        "pk", "start_date", "end_date", "status", "closed_at"
    )
    closed = {
        period_id: (first, last, closed_at)
        for period_id, first, last, status, closed_at in before
        if status == PeriodStatus.CLOSED and closed_at is not None
    }
    # Everything before the month that no closed month covers is summed now: open months, and
    # also lines dated before the first period or in a month without a period row.
    history, day = Q(), None
    for first, last in _month_runs([value[:2] for value in closed.values()]):
        history |= Q(entry_date__lt=first) if day is None else Q(entry_date__gte=day, entry_date__lt=first)
        day = last + datetime.timedelta(days=1)
    history |= Q(entry_date__lt=start) if day is None else Q(entry_date__gte=day, entry_date__lt=start)
    balances = {gl: {"opening": ZERO, "inflow": ZERO, "outflow": ZERO, "count": 0} for gl in gl_ids}
    if month_sums is None:
        read = history | Q(entry_date__gte=start, entry_date__lte=end)
    else:
        for gl in gl_ids:
            balances[gl].update(month_sums.get(gl, {}))
        read = history
    rows = (
        JournalEntry.objects.filter(read, account_id__in=gl_ids)
        .values("account_id")
        .order_by()
        .annotate(
            opening=Sum(F("debit") - F("credit"), filter=Q(entry_date__lt=start), output_field=MONEY),
            inflow=Sum("debit", filter=Q(entry_date__gte=start)),
            outflow=Sum("credit", filter=Q(entry_date__gte=start)),
            count=Count("pk", filter=Q(entry_date__gte=start)),
        )
    )
    for row in rows:
        balance = balances[row["account_id"]]
        balance["opening"] = _cents(row["opening"])
        if month_sums is None:
            balance.update(inflow=_cents(row["inflow"]), outflow=_cents(row["outflow"]), count=row["count"])
    if closed:
        for (gl, _period_id), net in _closed_month_nets(gl_ids, closed).items():
            balances[gl]["opening"] += net
    return balances


def _statement_closings(accounts, start, end):
    """Return ``{bank_account_id: closing balance}``: the month's, chosen as the reconciliation chooses it."""
    covering = defaultdict(list)
    for row in (
        BankStatement.objects.filter(
            bank_account_id__in=[a.pk for a in accounts], from_date__lte=end, to_date__gte=start
        )
        .exclude(closing_balance=None)
        .order_by("pk")
        .values("bank_account_id", *STATEMENT_BALANCE_FIELDS)
    ):
        covering[row["bank_account_id"]].append(row)
    return {
        account_id: _cents(statement_closing(rows, end, account_id)) for account_id, rows in covering.items()
    }


def _account_rows(accounts, start, end, month_sums=None):
    """Return per-account book and statement balances, and the totals over distinct GL accounts."""
    balances = _gl_balances(accounts, start, end, month_sums)
    statements = _statement_closings(accounts, start, end)
    empty = {"opening": ZERO, "inflow": ZERO, "outflow": ZERO, "count": 0}
    rows = []
    for account in accounts:
        book = balances.get(account.gl_account_id, empty)
        closing = book["opening"] + book["inflow"] - book["outflow"]
        statement = statements.get(account.pk)
        rows.append(
            {
                "bank_account_id": account.pk,
                "name": account.name,
                "currency": account.currency,
                "gl_account_id": account.gl_account_id,
                "opening_balance": book["opening"],
                "inflow": book["inflow"],
                "outflow": book["outflow"],
                "net": book["inflow"] - book["outflow"],
                "closing_balance": closing,
                "line_count": book["count"],
                "statement_closing_balance": statement,
                "statement_difference": None if statement is None else statement - closing,
            }
        )
    # Two bank accounts on one GL account share its lines: count them once.
    distinct = [balances.get(gl, empty) for gl in sorted({a.gl_account_id for a in accounts})]
    opening = sum((b["opening"] for b in distinct), ZERO)
    inflow = sum((b["inflow"] for b in distinct), ZERO)
    outflow = sum((b["outflow"] for b in distinct), ZERO)
    has_statements = bool(rows) and all(row["statement_closing_balance"] is not None for row in rows)
    statement_total = (
        sum((row["statement_closing_balance"] for row in rows), ZERO) if has_statements else None
    )
    closing = opening + inflow - outflow
    totals = {
        "opening_balance": opening,
        "inflow": inflow,
        "outflow": outflow,
        "net": inflow - outflow,
        "closing_balance": closing,
        "line_count": sum(b["count"] for b in distinct),
        "statement_closing_balance": statement_total,
        "statement_difference": None if statement_total is None else statement_total - closing,
    }
    return rows, totals


CLOSED_MONTH_GROUPS_CACHE_KEY = "cnperp:reports:closed-month-groups:{}"


def _period_flow_groups(accounts, start, end, line_count=None):
    """Return the month's GL lines of ``accounts`` grouped by the three dimension columns.

    The grouping reads the month's range of the covering index
    ``gl_account_date_idx`` (account, date, the three dimension columns, debit,
    credit), never the rows themselves (about 1 ms per 1,000 lines). A closed
    month takes no posting (rule 4): its groups are kept in the cache under
    the moment it was closed and the number of its lines, counted on the
    covering index each time (a few ms), so a month
    reopened, changed and closed again, or changed in any other way that adds
    or removes a line, is grouped afresh, never answered stale. ``line_count``
    is that count when the caller has just read it (the cash position's days).
    """
    month = _gl_lines(accounts).filter(entry_date__gte=start, entry_date__lte=end)
    closed_at = (
        AccountingPeriod.objects.filter(start_date=start, end_date=end, status=PeriodStatus.CLOSED)
        .values_list("closed_at", flat=True)
        .first()
    )
    key = None
    if closed_at is not None:
        gl_ids = ",".join(sorted({a.gl_account_id for a in accounts}))
        if line_count is None:
            line_count = month.count()
        stamp = f"{gl_ids}|{start:%Y-%m}|{closed_at.isoformat()}|{line_count}"
        key = CLOSED_MONTH_GROUPS_CACHE_KEY.format(hashlib.sha256(stamp.encode()).hexdigest())
        groups = cache.get(key)
        if groups is not None:
            return groups
    queryset = (
        month.values(*DIMENSION_COLUMNS)
        .order_by()
        .annotate(inflow=Sum("debit"), outflow=Sum("credit"), count=Count("pk"))
    )
    groups = _money_groups(queryset, FLOW_METRICS)
    if key is not None:
        # A month is reopened rarely; a week bounds what stale keys keep in a shared cache.
        cache.set(key, groups, timeout=7 * 24 * 3600)
    return groups


def _days(accounts, start, end):
    """Return the month's GL lines of ``accounts`` summed per GL account and day, on the covering index."""
    rows = (
        _gl_lines(accounts)
        .filter(entry_date__gte=start, entry_date__lte=end)
        .values("account_id", "entry_date")
        .order_by()
        .annotate(inflow=Sum("debit"), outflow=Sum("credit"), count=Count("pk"))
    )
    return _money_groups(rows, FLOW_METRICS)


def _month_sums(days):
    """Return ``{gl_account_id: {inflow, outflow, count}}`` from :func:`_days`."""
    sums = defaultdict(lambda: _zeros(FLOW_METRICS))
    for row in days:
        _add(sums[row["account_id"]], row, FLOW_METRICS)
    return sums


def _daily(days, start, end, opening):
    """Return every day of the month with its movements (over all the accounts) and closing balance."""
    by_day = defaultdict(lambda: _zeros(FLOW_METRICS))
    for row in days:
        _add(by_day[row["entry_date"]], row, FLOW_METRICS)
    series, balance, day = [], opening, start
    while day <= end:
        row = by_day.get(day) or _zeros(FLOW_METRICS)
        inflow, outflow = row["inflow"], row["outflow"]
        balance += inflow - outflow
        series.append(
            {
                "date": day,
                "inflow": inflow,
                "outflow": outflow,
                "net": inflow - outflow,
                "count": row["count"],
                "closing_balance": balance,
            }
        )
        day += datetime.timedelta(days=1)
    return series


# --- Cash position ------------------------------------------------------------------------------


def cash_position_get(*, period, bank_account_id=None, currency=None):
    """Return the cash position of one bank account (all when ``bank_account_id`` is ``None``) for ``period``.

    Opening, inflows, outflows and closing from the books; the statement's
    closing balance where a statement covers the month; a series with every day
    of the month; the month's movements per cost centre, project and department.
    """
    start, end = period_bounds(period)
    accounts = report_accounts(bank_account_id, currency)
    # The month is read once, per account and day: the daily series, the month's totals and the
    # line count that keeps the closed month's dimensional groups valid all come from it.
    days = _days(accounts, start, end)
    account_rows, totals = _account_rows(accounts, start, end, _month_sums(days))
    groups = _period_flow_groups(accounts, start, end, line_count=sum(row["count"] for row in days))
    return {
        **_header(accounts, bank_account_id, period, start, end),
        "totals": totals,
        "accounts": account_rows,
        "daily": _daily(days, start, end, totals["opening_balance"]),
        "by_dimension": dimension_tables(groups, FLOW_METRICS),
    }


# --- Dimensional analysis -------------------------------------------------------------------


def dimensional_analysis_get(*, period, bank_account_id=None, group_by=None, currency=None):
    """Return inflow, outflow, net and count of the month per dimension, rolled up, and per combination.

    ``group_by`` (``"cost_center,project"``) chooses the dimensions of the
    combination rows; by default all three. ``count`` counts GL lines.
    """
    names = parse_group_by(group_by)
    start, end = period_bounds(period)
    accounts = report_accounts(bank_account_id, currency)
    groups = _period_flow_groups(accounts, start, end)
    inflow = sum((g["inflow"] for g in groups), ZERO)
    outflow = sum((g["outflow"] for g in groups), ZERO)
    cache = {}
    return {
        **_header(accounts, bank_account_id, period, start, end),
        "group_by": names,
        "totals": {
            "inflow": inflow,
            "outflow": outflow,
            "net": inflow - outflow,
            "count": sum(g["count"] for g in groups),
        },
        "by_dimension": dimension_tables(groups, FLOW_METRICS, cache=cache),
        "combinations": combination_rows(groups, names, FLOW_METRICS, cache=cache),
    }


# --- Variance report -------------------------------------------------------------------------


class _Negated(Func):
    """``-amount``: Django writes ``-F()`` as ``amount * -1``, one operation more on every open item."""

    template = "(-%(expressions)s)"


def _signed_amount():
    return Case(
        When(direction=Direction.IN, then=F("amount")), default=_Negated(F("amount")), output_field=MONEY
    )


def _age_ranges(end):
    """Return ``{label: (first date, last date)}``: an item dated ``end`` is 0 days old."""
    ranges = {}
    for label, youngest, oldest in AGE_BUCKETS:
        last = end - datetime.timedelta(days=youngest)
        first = None if oldest is None else end - datetime.timedelta(days=oldest)
        ranges[label] = (first, last)
    return ranges


def bucket_metric(label):
    return label.replace("-", "_").replace("+", "_plus")


def _unreconciled(accounts, end, threshold, cache):
    """Return the book items not yet reconciled at ``end``, by age and by dimension."""
    ranges = _age_ranges(end)
    annotations = {}
    metrics = {}
    # Written for the server's sake: these sums run once per open item (tens of thousands), and
    # BETWEEN, COUNT(1) and -amount evaluate faster there than the ORM's two comparisons, COUNT(id)
    # and amount * -1 (same plan; 42 -> 37 ms for 39,000 open items, docs/benchmarks.md).
    for label, (first, last) in ranges.items():
        window = Q(transaction_date__lte=last) if first is None else Q(transaction_date__range=(first, last))
        suffix = bucket_metric(label)
        annotations[f"count_{suffix}"] = Count(Case(When(window, then=Value(1))))
        annotations[f"amount_{suffix}"] = Sum(_signed_amount(), filter=window)
        metrics[f"count_{suffix}"] = 0
        metrics[f"amount_{suffix}"] = ZERO
    account_ids = [a.pk for a in accounts]
    in_books = BankTransaction.objects.filter(
        in_books_at(end), bank_account_id__in=account_ids, transaction_date__lte=end
    )
    # Open today: one range of idx_bt_recon. Then those matched since to lines the bank booked
    # after ``end``, apart so that the range stays one (none at all for the current month).
    parts = [in_books.filter(reconciliation_status=ReconciliationStatus.UNRECONCILED)]
    cleared_later = cleared_after_ids(account_ids, end)
    if cleared_later:
        parts.append(
            in_books.filter(pk__in=sorted(cleared_later)).exclude(
                reconciliation_status=ReconciliationStatus.UNRECONCILED
            )
        )
    groups = []
    for part in parts:
        groups += _money_groups(part.values(*DIMENSION_COLUMNS).order_by().annotate(**annotations), metrics)
    buckets = []
    for label, (first, last) in ranges.items():
        suffix = bucket_metric(label)
        amount = sum((g[f"amount_{suffix}"] for g in groups), ZERO)
        buckets.append(
            {
                "bucket": label,
                "from_date": first,
                "to_date": last,
                "count": sum(g[f"count_{suffix}"] for g in groups),
                "amount": amount,
                "flagged": _flagged(amount, threshold),
            }
        )
    by_dimension = dimension_tables(groups, metrics, cache=cache)
    for rows in by_dimension.values():
        for row in rows:
            row["amount"] = sum((row[f"amount_{bucket_metric(label)}"] for label in ranges), ZERO)
            row["count"] = sum(row[f"count_{bucket_metric(label)}"] for label in ranges)
            rolled_up = sum((row[f"total_amount_{bucket_metric(label)}"] for label in ranges), ZERO)
            # As for branch cash: a parent can cross the threshold on its children's sum alone.
            row["flagged"] = _flagged(row["amount"], threshold) or _flagged(rolled_up, threshold)
    return {
        "count": sum(b["count"] for b in buckets),
        "amount": sum((b["amount"] for b in buckets), ZERO),
        "buckets": buckets,
        "by_dimension": by_dimension,
    }


SUBMISSION_METRICS = {
    "count": 0,
    "expected": ZERO,
    "deposited": ZERO,
    "deposited_expected": ZERO,
    "pending_count": 0,
    "pending_expected": ZERO,
}


def _submission_row(row, threshold):
    row["variance"] = row["deposited"] - row["deposited_expected"]
    row["flagged"] = _flagged(row["variance"], threshold)
    return row


def _cash_submissions(accounts, start, end, threshold, cache):
    """Return the month's branch cash submissions: expected against deposited, per branch and dimension.

    The variance counts only what the bank has credited (deposited less what
    those submissions expected); submissions still on their way are pending.
    """
    # Credited by the month's end; a later credit leaves it pending in its own month (as the cron
    # of the 1st saw it) and brings it, with its variance, into the month of the deposit.
    # (Without a deposit date the amount counts from the submission's date, as its posting does.)
    credited = Q(deposited_amount__isnull=False) & (Q(deposit_date__isnull=True) | Q(deposit_date__lte=end))
    queryset = (
        CashSubmission.objects.filter(
            Q(submission_date__gte=start)
            | Q(deposit_date__gte=start, deposit_date__lte=end, deposited_amount__isnull=False),
            bank_account_id__in=[a.pk for a in accounts],
            submission_date__lte=end,
        )
        .exclude(status=CashSubmissionStatus.CANCELLED)
        # A submission reversed by then (keyed in wrong, say) is out of the branch's cash.
        .exclude(
            Q(posting_status=PostingStatus.REVERSED)
            & ~Q(pk__in=sorted(reversed_after_ids(SourceType.CASH_SUBMISSION, end)))
        )
        .values("bank_account_id", "branch_id", *DIMENSION_COLUMNS)
        .order_by()
        .annotate(
            count=Count("pk"),
            expected=Sum("expected_amount"),
            deposited=Sum("deposited_amount", filter=credited),
            deposited_expected=Sum("expected_amount", filter=credited),
            pending_count=Count("pk", filter=~credited),
            pending_expected=Sum("expected_amount", filter=~credited),
        )
    )
    groups = _money_groups(queryset, SUBMISSION_METRICS)
    # Per account and branch: a branch short on one account and over on another has two
    # variances to explain, not one that nets to nothing.
    branches = defaultdict(lambda: _zeros(SUBMISSION_METRICS))
    for group in groups:
        _add(branches[group["bank_account_id"], group["branch_id"]], group, SUBMISSION_METRICS)
    names = dict(
        Branch.objects.filter(pk__in={branch for _account, branch in branches}).values_list("pk", "name")
    )
    by_branch = [
        _submission_row(
            {
                "bank_account_id": account,
                "branch_id": branch,
                "branch_name": names.get(branch, branch),
                **branches[account, branch],
            },
            threshold,
        )
        for account, branch in sorted(branches)
    ]
    total = _zeros(SUBMISSION_METRICS)
    for group in groups:
        _add(total, group, SUBMISSION_METRICS)
    by_dimension = dimension_tables(groups, SUBMISSION_METRICS, cache=cache)
    for rows in by_dimension.values():
        for row in rows:
            _submission_row(row, threshold)
            row["total_variance"] = row["total_deposited"] - row["total_deposited_expected"]
            # A parent can cross the threshold on its children's sum alone.
            row["flagged"] = row["flagged"] or _flagged(row["total_variance"], threshold)
    return {"totals": _submission_row(total, threshold), "by_branch": by_branch, "by_dimension": by_dimension}


def _reconciliation_states(accounts, period):
    snapshots = BankReconciliation.objects.filter(
        bank_account_id__in=[a.pk for a in accounts], period_id=period, scope_key=""
    ).values("bank_account_id", "id", "status", "balance_status", "variance")
    return {row["bank_account_id"]: row for row in snapshots}


def variance_report_get(*, period, bank_account_id=None, currency=None):
    """Return book against statement per account, unreconciled items by age, and branch cash variances.

    Every variance line whose absolute value exceeds
    ``BANKING_VARIANCE_ALERT_THRESHOLD`` is flagged and listed in ``alerts``.
    """
    start, end = period_bounds(period)
    accounts = report_accounts(bank_account_id, currency)
    threshold = alert_threshold()
    account_rows, totals = _account_rows(accounts, start, end)
    states = _reconciliation_states(accounts, period)
    lines, alerts = [], []
    for row in account_rows:
        variance = row["statement_difference"]
        snapshot = states.get(row["bank_account_id"])
        line = {
            "bank_account_id": row["bank_account_id"],
            "name": row["name"],
            "currency": row["currency"],
            "book_closing_balance": row["closing_balance"],
            "statement_closing_balance": row["statement_closing_balance"],
            "variance": variance,
            # Judged on the variance beside it, as the live reconciliation judges it: a saved
            # snapshot's verdict could contradict today's variance (a fee booked since).
            "balance_status": balance_status(variance),
            "reconciliation_status": snapshot["status"] if snapshot else "not_started",
            "reconciliation_id": snapshot["id"] if snapshot else None,
            "flagged": _flagged(variance, threshold),
        }
        lines.append(line)
        if line["flagged"]:
            alerts.append(
                {
                    "kind": "book_vs_statement",
                    "bank_account_id": line["bank_account_id"],
                    "branch_id": None,
                    "variance": variance,
                }
            )
    cache = {}
    submissions = _cash_submissions(accounts, start, end, threshold, cache)
    for row in submissions["by_branch"]:
        if row["flagged"]:
            alerts.append(
                {
                    "kind": "cash_submission",
                    "bank_account_id": row["bank_account_id"],
                    "branch_id": row["branch_id"],
                    "variance": row["variance"],
                }
            )
    unreconciled = _unreconciled(accounts, end, threshold, cache)
    return {
        **_header(accounts, bank_account_id, period, start, end),
        "threshold": threshold,
        "totals": {
            "book_closing_balance": totals["closing_balance"],
            "statement_closing_balance": totals["statement_closing_balance"],
            "variance": totals["statement_difference"],
            "unreconciled_count": unreconciled["count"],
            "unreconciled_amount": unreconciled["amount"],
            "cash_expected": submissions["totals"]["expected"],
            "cash_deposited": submissions["totals"]["deposited"],
            "cash_variance": submissions["totals"]["variance"],
            "alert_count": len(alerts),
        },
        "accounts": lines,
        "unreconciled": unreconciled,
        "cash_submissions": submissions,
        "alerts": alerts,
    }


# --- Transfer tracking ----------------------------------------------------------------------

ALLOCATION_METRICS = {"amount": ZERO, "received_amount": ZERO, "count": 0}
ATTENTION_FIELDS = (
    "id",
    "direction",
    "counterparty_bank_account_id",
    "status",
    "initiated_date",
    "amount",
    "received_amount",
    "days_in_transit",
    "attention_reasons",
)
TRANSFER_FIELDS = (
    "id",
    "from_bank_account_id",
    "to_bank_account_id",
    "amount",
    "received_amount",
    "status",
    "initiated_date",
    "received_date",
    "reference",
    "failed_date",
)


# An id no transfer has: the queries below run whatever the month holds, so that a report costs the
# same number of queries for a quiet month and a busy one.
NO_TRANSFER = ""


def _stranded(account_id, start, end, failed_at_end):
    """Return ``(still_sent, rows)``: of the transfers failed by ``end`` (``failed_at_end``, listed
    already, and the account's failures before ``start``) the ids whose sending leg was in the books
    on ``end`` (posted, or reversed only after it), and the rows of ``TRANSFER_FIELDS`` of those that
    failed before ``start``, to be listed too. Four queries, always.

    Failing a transfer posts nothing: until someone reverses its sending leg, the money it took out
    of the bank sits in the transfers-in-transit account with nothing on its way to clear it.
    """
    earlier = [
        BankTransfer.objects.filter(**{side: account_id}, status=TransferStatus.FAILED, failed_date__lt=start)
        .values_list("pk", flat=True)
        .order_by()
        for side in ("from_bank_account_id", "to_bank_account_id")
    ]
    # One range of transfer_from_failed / transfer_to_failed each, joined by UNION (an OR of the
    # sides reads the whole table).
    earlier = set(earlier[0].union(earlier[1], all=True))
    legs = BankTransaction.objects.filter(
        transfer_id__in=sorted(earlier | set(failed_at_end)) or [NO_TRANSFER],
        direction=Direction.OUT,
        posting_status__in=(PostingStatus.POSTED, PostingStatus.REVERSED),
    ).values_list("pk", "transfer_id", "posting_status")
    later = _reversals_after(end)
    still_sent = frozenset(
        transfer
        for leg, transfer, status in legs.order_by()
        if status == PostingStatus.POSTED or leg in later
    )
    rows = BankTransfer.objects.filter(pk__in=sorted(still_sent & earlier) or [NO_TRANSFER])
    return still_sent, list(rows.values_list(*TRANSFER_FIELDS).order_by())


def _transfers(rows, account_id, today, attention_days, until=None, still_sent=frozenset()):
    """Return the listed transfers from ``rows`` (tuples of ``TRANSFER_FIELDS``), allocations empty.

    An open transfer's days in transit run to ``until[id]`` (the end of a transit that was
    still running at the month's end, settled since), or else to ``today``. A failed transfer
    among ``still_sent`` (its sending leg not reversed) needs attention: its money is stranded.
    """
    items = []
    until = until or {}
    received_status, out, incoming = TransferStatus.RECEIVED, Direction.OUT, Direction.IN
    for row in rows:
        transfer_id, from_id, to_id, amount, received, status, initiated, received_date, reference, _ = row
        outgoing = from_id == account_id
        amount = _cents(amount)
        received = None if received is None else _cents(received)
        if status == received_status and received_date:
            days = (received_date - initiated).days
        elif status in OPEN_TRANSFER:
            days = (until.get(transfer_id, today) - initiated).days
        else:
            days = None
        reasons = []
        if received is not None and received != amount:
            reasons.append("received_amount_differs")
        if status in OPEN_TRANSFER and days is not None and days > attention_days:
            # Not sent at all (its sending leg still a draft) is a different chase from money
            # the banks hold: the first is ours to post, the second the bank's to explain.
            sent = status == TransferStatus.IN_TRANSIT
            reasons.append("in_transit_too_long" if sent else "not_sent_too_long")
        if status == TransferStatus.FAILED and transfer_id in still_sent:
            reasons.append("failed_not_reversed")
        items.append(
            {
                "id": transfer_id,
                "from_bank_account_id": from_id,
                "to_bank_account_id": to_id,
                "amount": amount,
                "received_amount": received,
                "status": status,
                "initiated_date": initiated,
                "received_date": received_date,
                "reference": reference,
                "direction": out if outgoing else incoming,
                "counterparty_bank_account_id": to_id if outgoing else from_id,
                "difference": None if received is None else received - amount,
                "days_in_transit": days,
                "needs_attention": bool(reasons),
                "attention_reasons": reasons,
                "allocations": [],
            }
        )
    return items


def _transfers_in_view(account_id, start, end):
    """Return the transfers of ``account_id`` tracked in ``start``..``end``, tuples of ``TRANSFER_FIELDS``.

    A transfer is tracked in the month when it was initiated by ``end`` and
    initiated, received, failed or still open since ``start``. The plain ``OR`` of
    those conditions reads every transfer the account ever made; here they are
    disjoint parts joined by ``UNION ALL``, each a range of one index
    (``BankTransfer.Meta``): initiated in the month, per side; initiated before
    it and received in or after it, per side; initiated before it and still
    open; initiated before it and failed in or after it (a failed transfer has
    no receipt). A transfer never goes to its own account, so none is in two parts.
    """
    sides = ("from_bank_account_id", "to_bank_account_id")
    earlier = Q(initiated_date__lt=start)
    parts = [Q(**{side: account_id}, initiated_date__gte=start, initiated_date__lte=end) for side in sides]
    parts += [earlier & Q(**{side: account_id}, received_date__gte=start) for side in sides]
    either_side = Q(**{sides[0]: account_id}) | Q(**{sides[1]: account_id})
    parts.append(earlier & either_side & Q(status__in=OPEN_TRANSFER) & ~Q(received_date__gte=start))
    # Failed in the month (its news), or after it (open at its end): a range of the same index.
    parts.append(earlier & either_side & Q(status=TransferStatus.FAILED, failed_date__gte=start))
    columns = TRANSFER_FIELDS
    first, *rest = (BankTransfer.objects.filter(part).values_list(*columns).order_by() for part in parts)
    return first.union(*rest, all=True)


# --- Transfers as they stood at a month's end ---------------------------------------------------
#
# A month's tracking describes each transfer as it stood on the month's last day, as the variance
# report does its transactions (banking.reconciliation): a transfer sent on 30 October and received
# on 2 November was in transit on 31 October (its money in the transfers-in-transit account), and a
# receipt reversed in November was still a receipt then. The transfer's row holds today's state
# only (undoing a receipt clears its date and amount; a failure keeps its date, ``failed_date``).
# What happened after the month is read from that date, the transfer's legs and their reversals:
#
# - received then: the row's receipt if dated by the month's end, or a receiving leg dated by
#   then whose reversal is dated after it (on its date, for its amount);
# - otherwise still open then when today's receipt is dated after the month's end, when it failed
#   after it (or, failed before banking 0014 dated failures, its sending leg was reversed after
#   it), or when its sending leg was reversed after it and it is open again: ``in_transit`` if
#   its sending leg was in the books then (posted, or reversed only later), else ``initiated``, the rule
#   ``bank_transfer_receipt_reversed`` applies when it puts a transfer back;
# - otherwise as today (nothing dated after the month changed it: the current month is today's).
#
# Only transfers something happened to after the month are read again: the reversals dated after
# it (an index range, empty for the current month), then the legs of those and of the transfers
# received after it, with their transfers (a failed transfer sent before the month and open at its
# end is not among the month's rows): two more queries, the second only when there is any.

LEG_FIELDS = ("pk", "direction", "posting_status", "transaction_date", "amount")
LEG_TRANSFER_FIELDS = tuple(f"transfer__{name}" for name in TRANSFER_FIELDS)


def _reversals_after(end):
    """``{bank transaction id: reversal date}`` for the reversals dated after ``end``."""
    # A range of posting_purpose_date_idx, read from the index alone.
    return dict(
        JournalPosting.objects.filter(
            purpose=PostingPurpose.REVERSE, source_type=SourceType.BANK_TRANSACTION, entry_date__gt=end
        )
        .values_list("source_id", "entry_date")
        .order_by()  # the model's ordering would read every row for its sort, not the index alone
    )


def _legs(reversed_ids, settled_after):
    """Rows of ``LEG_FIELDS`` + ``LEG_TRANSFER_FIELDS``: the transfer legs among ``reversed_ids``
    and the sending legs of ``settled_after``."""
    parts = []
    if reversed_ids:
        parts.append(Q(pk__in=sorted(reversed_ids), transfer_id__isnull=False))
    if settled_after:
        parts.append(Q(transfer_id__in=sorted(settled_after), direction=Direction.OUT))
    if not parts:
        return []
    # Each part a range of one index (the primary key, the transfer's), joined by UNION rather than
    # one OR that MariaDB may read as a scan of every transaction; the join reads one transfer per leg.
    columns = LEG_FIELDS + LEG_TRANSFER_FIELDS
    first, *rest = (BankTransaction.objects.filter(part).values_list(*columns).order_by() for part in parts)
    return list(first.union(*rest)) if rest else list(first)


def _transfers_at_end(rows, account_id, start, end):
    """Return ``(rows, until, received)``: ``rows`` (tuples of ``TRANSFER_FIELDS``) as the transfers
    stood at ``end`` (see above), those open then but settled since listed too.

    ``until`` holds the end of the transit of each transfer open at ``end`` but settled since (its
    receipt, or its sending leg's reversal), for its days in transit; ``received`` what had been
    received at ``end`` of each transfer whose received amount differs from today's (``None``:
    nothing), as ``(amount, receiving leg id)``, for the allocations' shares.
    """
    received_status, failed_status, out = TransferStatus.RECEIVED, TransferStatus.FAILED, Direction.OUT
    later = _reversals_after(end)
    received_after = {
        row[0] for row in rows if row[5] == received_status and row[7] is not None and row[7] > end
    }
    failed_after = {row[0]: row[9] for row in rows if row[5] == failed_status and row[9] and row[9] > end}
    if not later and not received_after and not failed_after:
        return rows, {}, {}
    sent, receipts, sending_reversed, found = set(), {}, {}, {}
    settled_after = received_after | set(failed_after)  # whose sending leg says whether it was sent
    for pk, direction, posting_status, day, amount, *transfer in _legs(later, settled_after):
        reversed_on = later.get(pk)
        if day > end:
            continue  # not in the books at the end
        transfer_id = transfer[0]
        found[transfer_id] = tuple(transfer)
        if direction == out:
            if posting_status == PostingStatus.POSTED or reversed_on:
                sent.add(transfer_id)
            if reversed_on:
                sending_reversed[transfer_id] = reversed_on
        elif reversed_on and (transfer_id not in receipts or receipts[transfer_id][0] < day):
            # The receipt standing at the end (a transfer has one live receiving leg at a time).
            receipts[transfer_id] = (day, _cents(amount), pk)
    listed_ids = {row[0] for row in rows}
    missing = [
        row
        for transfer_id, row in found.items()
        if transfer_id not in listed_ids
        # (one failed after the month is listed already; one failed before it was not open then)
        and (transfer_id in receipts or (transfer_id in sending_reversed and row[9] is None))
        and account_id in (row[1], row[2])
        and row[6] <= end
    ]
    until, received, at_end = {}, {}, []
    for row in rows + missing:
        transfer_id, _from, _to, _amount, _received, status, initiated, received_date, reference, failed = row
        # A failure recorded before banking 0014 has no date: its sending leg's reversal dates it.
        undated_failure = status == failed_status and failed is None and transfer_id in sending_reversed
        # Sent, then called back by reversing its sending leg after the month: initiated today
        # (bank_transfer_sending_reversed), in transit then.
        recalled = status == TransferStatus.INITIATED and transfer_id in sending_reversed
        if transfer_id in receipts:
            received_date, received_amount, leg = receipts[transfer_id]
            status, received[transfer_id] = received_status, (received_amount, leg)
        elif transfer_id in received_after or transfer_id in failed_after or undated_failure or recalled:
            if transfer_id in received_after:
                until[transfer_id] = received_date
            else:
                until[transfer_id] = failed_after.get(transfer_id) or sending_reversed[transfer_id]
            status = TransferStatus.IN_TRANSIT if transfer_id in sent else TransferStatus.INITIATED
            received_date = received_amount = received[transfer_id] = None
        else:
            at_end.append(row)
            continue
        # Tracked in the month as it stood: sent in it, received in it, or open at its end.
        if initiated >= start or status in OPEN_TRANSFER or received_date >= start:
            at_end.append((*row[:4], received_amount, status, initiated, received_date, reference, failed))
    if missing:
        at_end.sort(key=lambda row: (row[6], row[0]))
    return at_end, until, received


def _received_shares(allocation_rows, received):
    """``{(transfer id, line number): share}`` of what ``received`` says had arrived, as its leg posted it.

    The shares a receipt recorded on the allocations were cleared when it was undone, so they
    are read from the bank lines the (since reversed) receiving leg posted, by the allocation's
    dimensions (no two allocations of a transfer share them): a split recorded by hand (the
    charge taken off one allocation) stays as it was booked. A leg with no such lines is split
    anew, as a receiving leg splits its amount.
    """
    posted = _posted_bank_lines([leg for _amount, leg in filter(None, received.values())])
    lines = defaultdict(list)
    for transfer_id, line_number, _from_id, amount, _received, *dimensions in allocation_rows:
        if received.get(transfer_id) is not None:
            lines[transfer_id].append(
                (line_number, tuple(dimensions), SimpleNamespace(amount=_cents(amount), received_amount=None))
            )
    shares = {}
    for transfer_id, numbered in lines.items():
        amount, leg = received[transfer_id]
        booked = posted.get(leg)
        if booked:
            split = [booked.get(dimensions, ZERO) for _number, dimensions, _share in numbered]
        else:
            split = allocation_shares(amount, [share for _number, _dimensions, share in numbered])
        shares.update(
            ((transfer_id, number), value)
            for (number, _dimensions, _share), value in zip(numbered, split, strict=True)
        )
    return shares


def _posted_bank_lines(leg_ids):
    """``{leg id: {(cost centre, project, department): amount}}``: the bank debits each receiving
    leg's own posting made (its other side credits money in transit)."""
    if not leg_ids:
        return {}
    lines = JournalEntry.objects.filter(
        posting__source_type=SourceType.BANK_TRANSACTION,
        posting__source_id__in=sorted(leg_ids),
        posting__purpose=PostingPurpose.POST,
        debit__gt=0,
    ).values_list("posting__source_id", "cost_center_id", "project_id", "department_id", "debit")
    booked = defaultdict(lambda: defaultdict(lambda: ZERO))
    for leg, cost_center, project, department, debit in lines.order_by():
        booked[leg][(cost_center, project, department)] += _cents(debit)
    return booked


def _allocation_rows(transfer_ids):
    """Return the allocations of ``transfer_ids`` by transfer and line, as tuples.

    Plain SQL: the ORM would prepare each id of the list on every request (a
    month lists several hundred transfers), and the values need no conversion.
    """
    if not transfer_ids:
        return []
    names = ("transfer_id", "line_number", "from_bank_account_id", "amount", "received_amount")
    if connection.vendor != "mysql":
        # SQLite hands an amount back as a float: read through the ORM, whose converter turns it
        # into the same Decimal as the transfer's own amount (plain SQL gave 12345678901234.56
        # on the allocation against 12345678901234.60 on its transfer).
        allocations = BankTransferAllocation.objects.filter(transfer_id__in=sorted(transfer_ids))
        return list(
            allocations.order_by("transfer_id", "line_number").values_list(*names, *DIMENSION_COLUMNS)
        )
    columns = ", ".join(names)
    table, marks = BankTransferAllocation._meta.db_table, ", ".join(["%s"] * len(transfer_ids))
    sql = (
        f"SELECT {columns}, {', '.join(DIMENSION_COLUMNS)} FROM {table} "  # noqa: S608 (placeholders only)
        f"WHERE transfer_id IN ({marks}) ORDER BY transfer_id, line_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(transfer_ids))
        return cursor.fetchall()


def transfer_tracking_get(*, bank_account_id, period=None, today=None):
    """Return the transfers out of and into ``bank_account_id``, with allocations and an attention list.

    The month (``period``, by default the current one) selects the transfers
    initiated in it, received in it, failed in it, or still open (initiated or in transit)
    at its end, each as it stood at the end (see ``_transfers_at_end``). Days in
    transit run to the receipt, or to ``today`` while open; for one open at the
    month's end but settled since, to the receipt, the failure or its sending leg's reversal.
    """
    today = today or timezone.localdate()
    period = period or AccountingPeriod.code_for(today)
    start, end = period_bounds(period)
    account = bank_account_get(bank_account_id)
    attention_days = transfer_attention_days()
    rows = list(_transfers_in_view(account.pk, start, end).order_by("initiated_date", "id"))
    rows, until, received_at_end = _transfers_at_end(rows, account.pk, start, end)
    failed_at_end = [row[0] for row in rows if row[5] == TransferStatus.FAILED]
    still_sent, stranded = _stranded(account.pk, start, end, failed_at_end)
    rows = sorted(rows + stranded, key=lambda row: (row[6], row[0]))  # initiated date, id
    listed = _transfers(rows, account.pk, today, attention_days, until, still_sent)
    outgoing = [item for item in listed if item["direction"] == Direction.OUT]
    incoming = [item for item in listed if item["direction"] == Direction.IN]
    by_id = {item["id"]: item for item in listed}
    # The transfers and their allocations are read once; every sum below is made from those rows
    # (a month has a few hundred transfers at most), not by asking the database again.
    grouped = {"outgoing": {}, "incoming": {}}
    allocation_rows = _allocation_rows(by_id)
    # The allocations' received shares as they stood at the end, where the receipt differs from today's.
    shares = _received_shares(allocation_rows, received_at_end) if received_at_end else {}
    for transfer_id, line_number, from_id, amount, received, *dimensions in allocation_rows:
        amount = _cents(amount)
        if transfer_id in received_at_end:
            received = shares.get((transfer_id, line_number))
        else:
            received = None if received is None else _cents(received)
        cost_center, project, department = dimensions
        by_id[transfer_id]["allocations"].append(
            {
                "line_number": line_number,
                "amount": amount,
                "received_amount": received,
                "cost_center": cost_center or UNASSIGNED,
                "project": project or UNASSIGNED,
                "department": department or UNASSIGNED,
            }
        )
        groups = grouped["outgoing" if from_id == account.pk else "incoming"]
        key = (from_id, cost_center, project, department)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "from_bank_account_id": from_id,
                "cost_center_id": cost_center,
                "project_id": project,
                "department_id": department,
                **ALLOCATION_METRICS,
            }
        group["amount"] += amount
        group["received_amount"] += received or ZERO
        group["count"] += 1
    cache = {}
    by_dimension = {
        direction: dimension_tables(list(groups.values()), ALLOCATION_METRICS, cache=cache)
        for direction, groups in grouped.items()
    }
    by_status = {
        status: {"outgoing_count": 0, "outgoing_amount": ZERO, "incoming_count": 0, "incoming_amount": ZERO}
        for status in TransferStatus.values
    }
    totals = {"in_transit_count": 0, "in_transit_amount": ZERO}
    for direction in ("outgoing", "incoming"):
        totals.update(
            {f"{direction}_count": 0, f"{direction}_amount": ZERO, f"{direction}_received_amount": ZERO}
        )
    for item in listed:
        direction = "outgoing" if item["direction"] == Direction.OUT else "incoming"
        amount = item["amount"]
        by_status[item["status"]][f"{direction}_count"] += 1
        by_status[item["status"]][f"{direction}_amount"] += amount
        totals[f"{direction}_count"] += 1
        totals[f"{direction}_amount"] += amount
        totals[f"{direction}_received_amount"] += item["received_amount"] or ZERO
        if item["status"] == TransferStatus.IN_TRANSIT:  # sent, not received: in the transit account
            totals["in_transit_count"] += 1
            totals["in_transit_amount"] += amount
    attention = [item for item in outgoing + incoming if item["needs_attention"]]
    totals["attention_count"] = len(attention)
    return {
        **_header([account], bank_account_id, period, start, end),
        "attention_days": attention_days,
        "totals": totals,
        "by_status": by_status,
        "outgoing": outgoing,
        "incoming": incoming,
        "attention": [{key: item[key] for key in ATTENTION_FIELDS} for item in attention],
        "by_dimension": by_dimension,
    }


# --- Alerts ---------------------------------------------------------------------------------


def variance_alerts_get(*, period):
    """Return every variance of ``period`` above the alert threshold, account by account.

    Book against statement per bank account, and branch cash submissions
    (deposited against expected) per account and branch; each alert says what,
    where, how much and the threshold it crossed, and ``signed_off_by`` who
    accepted a book-against-statement variance by signing its month off with that
    same variance (else ``None``).
    """
    threshold = alert_threshold()
    # A month signed off with its variance explained (a note is required beyond the threshold)
    # was accepted by a controller: that variance is said, not alerted. One that differs from
    # what was signed off (the books or statements changed since) is alerted as any other.
    signed_off = {
        account_id: (variance, signer or "a controller no longer in the system")
        for account_id, variance, signer in BankReconciliation.objects.filter(
            period_id=period, scope_key="", status=ReconciliationState.FINALIZED
        ).values_list("bank_account_id", "variance", "approved_by__username")
    }
    alerts = []
    for account in BankAccount.objects.order_by("pk"):
        report = variance_report_get(period=period, bank_account_id=account.pk)
        for alert in report["alerts"]:
            accepted_variance, signer = signed_off.get(account.pk, (None, None))
            accepted = alert["kind"] == "book_vs_statement" and accepted_variance == alert["variance"]
            alerts.append(
                {
                    **alert,
                    "bank_account_id": account.pk,
                    "bank_account_name": account.name,
                    "currency": account.currency,
                    "period": period,
                    "threshold": threshold,
                    "signed_off_by": signer if accepted else None,
                }
            )
    return alerts
