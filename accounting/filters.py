"""List filters for the chart of accounts, periods and GL lines.

``PeriodFilter`` is shared with banking: ``period=YYYY-MM`` becomes a range on a
date column (``>= first day AND <= last day``), which the date indexes serve; a
malformed period is a 400 naming ``period``.
"""

import django_filters

from accounting.choices import AccountType, PeriodStatus, SourceType
from accounting.models import AccountingPeriod, GLAccount, JournalEntry, period_code_validator


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


class GLAccountFilterSet(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(choices=AccountType.choices)
    is_active = django_filters.BooleanFilter()
    parent_id = django_filters.CharFilter(field_name="parent_id")
    code = django_filters.CharFilter()

    class Meta:
        model = GLAccount
        fields = ["account_type", "is_active", "parent_id", "code"]


class AccountingPeriodFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PeriodStatus.choices)
    year = django_filters.NumberFilter(field_name="start_date", lookup_expr="year")

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
