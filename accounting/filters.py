"""List filters for the chart of accounts, periods and GL lines.

``PeriodFilter`` is shared with banking: ``period=YYYY-MM`` becomes a range on a
date column (``>= first day AND <= last day``), which the date indexes serve; a
malformed period is a 400 naming ``period``; so is a ``year`` outside the books'
years or not a whole number.
"""

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.utils import extend_schema_field

from accounting.choices import AccountType, PeriodStatus, SourceType
from accounting.models import (
    FIRST_BOOK_YEAR,
    LAST_BOOK_YEAR,
    AccountingPeriod,
    GLAccount,
    JournalEntry,
    period_code_validator,
)
from cnperp.filters import StrictBooleanFilter


class PeriodFilter(django_filters.CharFilter):
    """``YYYY-MM``: the rows whose ``field_name`` date falls in that month."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [period_code_validator])
        kwargs.setdefault("help_text", "A month, YYYY-MM.")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        start, end = AccountingPeriod.bounds(value)
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lte": end})


YEAR_MESSAGE = f"Give a year from {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}, as a whole number."
YEAR_HELP = f"A year, {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}."


# The schema states the bounds; an override there drops the help text, so it carries it too.
@extend_schema_field(
    {"type": "integer", "minimum": FIRST_BOOK_YEAR, "maximum": LAST_BOOK_YEAR, "description": YEAR_HELP}
)
class YearFilter(django_filters.NumberFilter):
    """A year of the books: the rows whose ``field_name`` date falls in it.

    Django turns ``__year`` into 1 January and 31 December of the year with
    ``datetime.date``, which raises (a 500) outside years 1..9999; the bounds make
    such a year a 400 naming the filter before any query is built. An integer
    field, not NumberFilter's decimal one, so ``2025.5`` or ``1e10`` is refused too.
    """

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "year")
        kwargs.setdefault("help_text", YEAR_HELP)
        kwargs.setdefault("error_messages", {"invalid": YEAR_MESSAGE})
        kwargs.setdefault(
            "validators",
            [
                MinValueValidator(FIRST_BOOK_YEAR, message=YEAR_MESSAGE),
                MaxValueValidator(LAST_BOOK_YEAR, message=YEAR_MESSAGE),
            ],
        )
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None  # the books' last year bounds it already


class GLAccountFilterSet(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(choices=AccountType.choices)
    is_active = StrictBooleanFilter()
    parent_id = django_filters.CharFilter(field_name="parent_id")
    code = django_filters.CharFilter()

    class Meta:
        model = GLAccount
        fields = ["account_type", "is_active", "parent_id", "code"]


class AccountingPeriodFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PeriodStatus.choices)
    year = YearFilter(field_name="start_date")

    class Meta:
        model = AccountingPeriod
        fields = ["status", "year"]


class JournalEntryFilterSet(django_filters.FilterSet):
    account_id = django_filters.CharFilter(field_name="account_id")
    # GL lines carry their period as a column; filtering on it uses its index.
    period = django_filters.CharFilter(
        field_name="period_id", validators=[period_code_validator], help_text="A month, YYYY-MM."
    )
    date_from = django_filters.DateFilter(field_name="entry_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="entry_date", lookup_expr="lte")
    reference = django_filters.CharFilter()
    posting_id = django_filters.CharFilter(field_name="posting_id")
    source_type = django_filters.ChoiceFilter(choices=SourceType.choices)
    source_id = django_filters.CharFilter()
    cost_center_id = django_filters.CharFilter(field_name="cost_center_id")
    project_id = django_filters.CharFilter(field_name="project_id")
    department_id = django_filters.CharFilter(field_name="department_id")

    class Meta:
        model = JournalEntry
        fields = [
            "account_id",
            "period",
            "date_from",
            "date_to",
            "reference",
            "posting_id",
            "source_type",
            "source_id",
            "cost_center_id",
            "project_id",
            "department_id",
        ]
