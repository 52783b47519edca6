"""List filters for banking documents.

Every document list filters the same way: by bank account, branch and each
dimension (``<name>_id``), by status, by a date range (``date_from``/``date_to``)
or a month (``period=YYYY-MM``) on the document's own date, and by an amount
range (``amount_min``/``amount_max``). Ranges are written as ``>=``/``<=`` on the
bare column so the date indexes serve them.
"""

import django_filters
from django.db.models import Q

from accounting.filters import PeriodFilter
from accounting.models import period_code_validator
from banking.choices import (
    AmountMode,
    BalanceStatus,
    CashSubmissionStatus,
    Direction,
    FloatStatus,
    PostingDocument,
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
    CashSubmission,
    FloatAllocation,
    PostingRule,
    StatementCsvProfile,
)
from cnperp.filters import StrictBooleanFilter


def _ref(name):
    return django_filters.CharFilter(field_name=f"{name}_id", help_text=f"The {name.replace('_', ' ')}'s id.")


def _dated(date_field, amount_field):
    """The date range, month and amount range filters on a document's own columns."""
    return {
        "date_from": django_filters.DateFilter(field_name=date_field, lookup_expr="gte"),
        "date_to": django_filters.DateFilter(field_name=date_field, lookup_expr="lte"),
        "period": PeriodFilter(field_name=date_field),
        "amount_min": django_filters.NumberFilter(field_name=amount_field, lookup_expr="gte"),
        "amount_max": django_filters.NumberFilter(field_name=amount_field, lookup_expr="lte"),
    }


def _filterset(name, model, filters):
    """Build a FilterSet class whose query parameters are exactly ``filters``."""
    meta = type("Meta", (), {"model": model, "fields": list(filters)})
    return type(name, (django_filters.FilterSet,), {**filters, "Meta": meta})


BankAccountFilterSet = _filterset(
    "BankAccountFilterSet",
    BankAccount,
    {
        "branch_id": _ref("branch"),
        "gl_account_id": _ref("gl_account"),
        "currency": django_filters.CharFilter(),
        "is_active": StrictBooleanFilter(),
    },
)

BankTransactionFilterSet = _filterset(
    "BankTransactionFilterSet",
    BankTransaction,
    {
        "bank_account_id": _ref("bank_account"),
        "branch_id": _ref("branch"),
        "cost_center_id": _ref("cost_center"),
        "project_id": _ref("project"),
        "department_id": _ref("department"),
        "transfer_id": _ref("transfer"),
        "transaction_type": django_filters.ChoiceFilter(choices=TransactionType.choices),
        "direction": django_filters.ChoiceFilter(choices=Direction.choices),
        "posting_status": django_filters.ChoiceFilter(choices=PostingStatus.choices),
        "reconciliation_status": django_filters.ChoiceFilter(choices=ReconciliationStatus.choices),
        "reference": django_filters.CharFilter(),
        **_dated("transaction_date", "amount"),
    },
)

CashSubmissionFilterSet = _filterset(
    "CashSubmissionFilterSet",
    CashSubmission,
    {
        "bank_account_id": _ref("bank_account"),
        "branch_id": _ref("branch"),
        "cost_center_id": _ref("cost_center"),
        "project_id": _ref("project"),
        "department_id": _ref("department"),
        "status": django_filters.ChoiceFilter(choices=CashSubmissionStatus.choices),
        "posting_status": django_filters.ChoiceFilter(choices=PostingStatus.choices),
        "reference": django_filters.CharFilter(),
        **_dated("submission_date", "expected_amount"),
    },
)

FloatAllocationFilterSet = _filterset(
    "FloatAllocationFilterSet",
    FloatAllocation,
    {
        "bank_account_id": _ref("bank_account"),
        "branch_id": _ref("branch"),
        "cost_center_id": _ref("cost_center"),
        "department_id": _ref("department"),
        "status": django_filters.ChoiceFilter(choices=FloatStatus.choices),
        "posting_status": django_filters.ChoiceFilter(choices=PostingStatus.choices),
        **_dated("allocation_date", "amount"),
    },
)


class BankTransferFilterSet(
    _filterset(
        "BankTransferFilterSetBase",
        BankTransfer,
        {
            "from_bank_account_id": _ref("from_bank_account"),
            "to_bank_account_id": _ref("to_bank_account"),
            "branch_id": _ref("branch"),
            "cost_center_id": _ref("cost_center"),
            "project_id": _ref("project"),
            "department_id": _ref("department"),
            "status": django_filters.ChoiceFilter(choices=TransferStatus.choices),
            "reference": django_filters.CharFilter(),
            **_dated("initiated_date", "amount"),
        },
    )
):
    bank_account_id = django_filters.CharFilter(
        method="filter_either_account", help_text="Transfers out of or into this bank account."
    )

    class Meta:
        model = BankTransfer
        fields = ["bank_account_id"]

    def filter_either_account(self, queryset, name, value: str):
        return queryset.filter(Q(from_bank_account_id=value) | Q(to_bank_account_id=value))


PostingRuleFilterSet = _filterset(
    "PostingRuleFilterSet",
    PostingRule,
    {
        "document_type": django_filters.ChoiceFilter(choices=PostingDocument.choices),
        "bank_account_id": _ref("bank_account"),
        "branch_id": _ref("branch"),
        "contra_account_id": _ref("contra_account"),
        "is_active": StrictBooleanFilter(),
    },
)

StatementCsvProfileFilterSet = _filterset(
    "StatementCsvProfileFilterSet",
    StatementCsvProfile,
    {"amount_mode": django_filters.ChoiceFilter(choices=AmountMode.choices)},
)

BankReconciliationFilterSet = _filterset(
    "BankReconciliationFilterSet",
    BankReconciliation,
    {
        "bank_account_id": _ref("bank_account"),
        "period": django_filters.CharFilter(
            field_name="period_id", validators=[period_code_validator], help_text="A month, YYYY-MM."
        ),
        "status": django_filters.ChoiceFilter(choices=ReconciliationState.choices),
        "balance_status": django_filters.ChoiceFilter(choices=BalanceStatus.choices),
        "cost_center_id": _ref("cost_center"),
        "project_id": _ref("project"),
        "department_id": _ref("department"),
    },
)
