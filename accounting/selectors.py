"""Reads of the general ledger: balance checks and the trial balance.

Every sum is computed by the database (``values().annotate()`` or the guide's
own SQL), never by loading GL lines into Python.
"""

from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Round

from accounting.models import DimensionAssignment, JournalEntry, JournalPosting
from dimensions.models import DimensionType

ZERO = Decimal("0.00")

# The deployment guide's "Verify GL balancing" query (Post-Deployment
# Verification, step 1.3), exactly as written there. It tolerates a cent; the
# exact check below does not.
GUIDE_GL_BALANCE_SQL = """SELECT
    reference,
    SUM(debit) as total_debit,
    SUM(credit) as total_credit,
    ABS(SUM(debit) - SUM(credit)) as imbalance
FROM journal_entries
GROUP BY reference
HAVING imbalance > 0.01;"""


def _cents(value):
    # SQLite sums decimals without their scale ("150"); present every total with two places.
    return Decimal(value).quantize(ZERO)


def _money_sum(field):
    return Coalesce(Sum(field), Value(ZERO), output_field=DecimalField(max_digits=20, decimal_places=2))


def gl_unbalanced_references_guide():
    """Run the guide's balancing query as written; return ``[(reference, debit, credit, imbalance)]``."""
    sql = GUIDE_GL_BALANCE_SQL.rstrip().rstrip(";")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [(ref, Decimal(d), Decimal(c), Decimal(i)) for ref, d, c, i in cursor.fetchall()]


def gl_unbalanced_references():
    """Return ``[{reference, debit, credit}]`` for each reference whose debits and credits differ."""
    rows = (
        JournalEntry.objects.values("reference")
        .annotate(debit=_money_sum("debit"), credit=_money_sum("credit"))
        .order_by("reference")
    )
    if connection.vendor != "sqlite":
        rows = rows.filter(~Q(debit=F("credit")))
    # SQLite adds decimals as binary floats (1115.36 may come back as 1115.3600000000001),
    # so there the comparison is made on the totals rounded to the cent.
    totals = ({**row, "debit": _cents(row["debit"]), "credit": _cents(row["credit"])} for row in rows)
    return [row for row in totals if row["debit"] != row["credit"]]


def lines_off_the_cent():
    """GL lines whose debit or credit is not a whole number of cents (none, unless written in SQL).

    MariaDB's DECIMAL(..., 2) columns hold cents only; SQLite stores any number, and Django reads it
    back rounded to the cent, so there a line changed by 0.004 in SQL would balance and keep its
    seal. Those lines are found here, on the stored value itself.
    """
    if connection.vendor != "sqlite":
        return JournalEntry.objects.none()
    return JournalEntry.objects.annotate(
        debit_cents=Round("debit", 2), credit_cents=Round("credit", 2)
    ).exclude(debit_cents=F("debit"), credit_cents=F("credit"))


def trial_balance(*, period=None):
    """Return per period ``{period, debit, credit, difference}``; all lines of one period must net to zero."""
    rows = JournalEntry.objects.all()
    if period:
        rows = rows.filter(period_id=period)
    result = []
    for row in (
        rows.values("period_id")
        .annotate(debit=_money_sum("debit"), credit=_money_sum("credit"))
        .order_by("period_id")
    ):
        debit, credit = _cents(row["debit"]), _cents(row["credit"])
        result.append(
            {"period": row["period_id"], "debit": debit, "credit": credit, "difference": debit - credit}
        )
    return result


def trial_balance_by_account(*, period=None):
    """Return per account ``{account_id, account__code, debit, credit}``, in code order."""
    rows = JournalEntry.objects.all()
    if period:
        rows = rows.filter(period_id=period)
    return list(
        rows.values("account_id", "account__code")
        .annotate(debit=_money_sum("debit"), credit=_money_sum("credit"))
        .order_by("account__code")
    )


def dimension_totals(*, dimension_type, account_id=None):
    """Return ``{value_id or None: debit - credit}`` over the assignments of one dimension type.

    ``None`` is the "unassigned" bucket: a line without a value is still counted.
    """
    rows = DimensionAssignment.objects.filter(dimension_type=dimension_type)
    if account_id:
        rows = rows.filter(journal_entry__account_id=account_id)
    column = f"{dimension_type}_id"
    totals = (
        rows.values(column)
        .annotate(debit=_money_sum("journal_entry__debit"), credit=_money_sum("journal_entry__credit"))
        .order_by(column)
    )
    return {row[column]: _cents(row["debit"] - row["credit"]) for row in totals}


def postings_without_assignments():
    """Return the references of GL lines that lack one of their three dimension assignments."""
    return list(
        JournalEntry.objects.annotate(n=Count("dimension_assignments"))
        .exclude(n=len(DimensionType.values))
        .values_list("reference", flat=True)
        .distinct()
    )


def posting_get(*, posting_id):
    """Return one posting with its lines, accounts and assignments loaded for display."""
    return (
        JournalPosting.objects.select_related("period", "posted_by", "reverses")
        .prefetch_related("lines__account", "lines__dimension_assignments")
        .get(pk=posting_id)
    )
