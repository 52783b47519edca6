"""Query parameters and response bodies of the report endpoints.

The query serializers are strict: an unknown parameter, a period that is not
``YYYY-MM`` or a ``group_by`` naming something other than a dimension is a 400
naming the parameter. The response serializers describe the JSON (amounts as
strings with two places) for the OpenAPI schema; the tests check that they give
exactly what the endpoints answer.
"""

from rest_framework import serializers

from banking import reports
from banking.choices import TransferStatus
from banking.matching import period_bounds
from cnperp.api import StrictCharField
from cnperp.exceptions import DomainError

# DRF's URL_FORMAT_OVERRIDE: ``?format=csv`` picks the renderer, it is not a report option.
FORMAT_PARAMETER = "format"
EXPORT_FORMATS = ("json", "csv", "xlsx")


# --- Queries ------------------------------------------------------------------------------


ATTENTION_REASONS = (
    "received_amount_differs",
    "in_transit_too_long",
    "not_sent_too_long",
    "failed_not_reversed",
)


def attention_reasons_field():
    return serializers.ListField(
        child=serializers.ChoiceField(choices=ATTENTION_REASONS),
        help_text="received_amount_differs; in_transit_too_long (its sending leg posted); "
        "not_sent_too_long (its sending leg still a draft); failed_not_reversed (failed, its "
        "sending leg still posted: the money sits in transit until the leg is reversed).",
    )


class ReportQuerySerializer(serializers.Serializer):
    bank_account_id = StrictCharField(
        required=False,
        max_length=64,
        help_text="The bank account, such as ba-op; all accounts when left out.",
    )
    period = StrictCharField(max_length=7, help_text="The month, YYYY-MM, such as 2025-10.")

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields) - {FORMAT_PARAMETER})
        if unknown:
            raise serializers.ValidationError({name: ["Unknown parameter."] for name in unknown})
        return super().to_internal_value(data)

    def validate_period(self, value):
        try:
            period_bounds(value)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from None
        return value


class AccountsQuerySerializer(ReportQuerySerializer):
    """A report over one account or all of them: ``currency`` chooses among accounts in several."""

    currency = StrictCharField(
        required=False,
        min_length=3,
        max_length=3,
        help_text="All accounts kept in this currency (ISO 4217, such as USD); needed when the accounts "
        "are kept in several currencies and bank_account_id is left out.",
    )

    def validate_currency(self, value):
        if not value.isalpha():
            raise serializers.ValidationError("Use a three-letter ISO 4217 code, such as USD.")
        return value.upper()


class DimensionalQuerySerializer(AccountsQuerySerializer):
    group_by = StrictCharField(
        required=False,
        help_text="Dimensions of the combination rows, comma-separated: cost_center, project, department "
        "(default all three).",
    )

    def validate_group_by(self, value):
        try:
            reports.parse_group_by(value)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from None
        return value


class TransferQuerySerializer(ReportQuerySerializer):
    bank_account_id = StrictCharField(max_length=64, help_text="The bank account, such as ba-op.")
    period = StrictCharField(
        required=False, max_length=7, help_text="The month, YYYY-MM (default: the current month)."
    )


# --- Responses ----------------------------------------------------------------------------


def money(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True, **kwargs)


def nullable_money():
    return money(allow_null=True)


class ReportHeaderSerializer(serializers.Serializer):
    bank_account_id = serializers.CharField(allow_null=True, help_text="Null: every bank account.")
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    currency = serializers.CharField(allow_null=True, help_text="The accounts' currency (null: no account).")
    generated_at = serializers.DateTimeField()


def dimension_row_serializer(name, metrics, extra=None):
    """Return a serializer class for one row of a dimension table with ``metrics`` (own and ``total_*``)."""
    fields = {
        "key": serializers.CharField(help_text='The value\'s id, or "unassigned".'),
        "code": serializers.CharField(allow_blank=True),
        "name": serializers.CharField(),
        "parent": serializers.CharField(allow_null=True),
        "level": serializers.IntegerField(help_text="Depth in the hierarchy, 0 for a root."),
    }
    for metric, zero in metrics.items():
        for field_name in (metric, f"total_{metric}"):
            fields[field_name] = serializers.IntegerField() if isinstance(zero, int) else money()
    fields.update(extra or {})
    return type(name, (serializers.Serializer,), fields)


def by_dimension_serializer(name, row_serializer):
    fields = {dimension: row_serializer(many=True) for dimension in reports.DIMENSIONS}
    return type(name, (serializers.Serializer,), fields)


FlowRowSerializer = dimension_row_serializer(
    "FlowDimensionRowSerializer",
    reports.FLOW_METRICS,
    {"net": money(), "total_net": money()},
)
FlowByDimensionSerializer = by_dimension_serializer("FlowByDimensionSerializer", FlowRowSerializer)


class CashTotalsSerializer(serializers.Serializer):
    opening_balance = money()
    inflow = money()
    outflow = money()
    net = money()
    closing_balance = money()
    line_count = serializers.IntegerField()
    statement_closing_balance = nullable_money()
    statement_difference = nullable_money()


class CashAccountSerializer(CashTotalsSerializer):
    bank_account_id = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    gl_account_id = serializers.CharField()


class CashDailySerializer(serializers.Serializer):
    date = serializers.DateField()
    inflow = money()
    outflow = money()
    net = money()
    count = serializers.IntegerField()
    closing_balance = money()


class CashPositionSerializer(ReportHeaderSerializer):
    totals = CashTotalsSerializer()
    accounts = CashAccountSerializer(many=True)
    daily = CashDailySerializer(many=True)
    by_dimension = FlowByDimensionSerializer()


class FlowTotalsSerializer(serializers.Serializer):
    inflow = money()
    outflow = money()
    net = money()
    count = serializers.IntegerField()


class DimensionCombinationSerializer(serializers.Serializer):
    """One combination; only the dimensions named in ``group_by`` appear."""

    cost_center = serializers.CharField(required=False)
    cost_center_name = serializers.CharField(required=False)
    project = serializers.CharField(required=False)
    project_name = serializers.CharField(required=False)
    department = serializers.CharField(required=False)
    department_name = serializers.CharField(required=False)
    inflow = money()
    outflow = money()
    net = money()
    count = serializers.IntegerField()


class DimensionalAnalysisSerializer(ReportHeaderSerializer):
    group_by = serializers.ListField(child=serializers.CharField())
    totals = FlowTotalsSerializer()
    by_dimension = FlowByDimensionSerializer()
    combinations = DimensionCombinationSerializer(many=True)


def _unreconciled_metrics():
    metrics = {}
    for label, _youngest, _oldest in reports.AGE_BUCKETS:
        suffix = reports.bucket_metric(label)
        metrics[f"count_{suffix}"] = 0
        metrics[f"amount_{suffix}"] = reports.ZERO
    return metrics


UnreconciledRowSerializer = dimension_row_serializer(
    "UnreconciledDimensionRowSerializer",
    _unreconciled_metrics(),
    {"count": serializers.IntegerField(), "amount": money(), "flagged": serializers.BooleanField()},
)


class UnreconciledAgeSerializer(serializers.Serializer):
    bucket = serializers.CharField(help_text="0-30, 31-60, 61-90 or 90+ days old at the month's end.")
    from_date = serializers.DateField(allow_null=True)
    to_date = serializers.DateField()
    count = serializers.IntegerField()
    amount = money()
    flagged = serializers.BooleanField()


class UnreconciledSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = money()
    buckets = UnreconciledAgeSerializer(many=True)
    by_dimension = by_dimension_serializer("UnreconciledByDimensionSerializer", UnreconciledRowSerializer)()


class SubmissionTotalsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    expected = money()
    deposited = money()
    deposited_expected = money(help_text="What the credited submissions expected.")
    pending_count = serializers.IntegerField()
    pending_expected = money()
    variance = money(help_text="Deposited less deposited_expected.")
    flagged = serializers.BooleanField()


class SubmissionBranchSerializer(SubmissionTotalsSerializer):
    bank_account_id = serializers.CharField(
        help_text="The account the cash went to: one row per account and branch."
    )
    branch_id = serializers.CharField()
    branch_name = serializers.CharField()


SubmissionRowSerializer = dimension_row_serializer(
    "SubmissionDimensionRowSerializer",
    reports.SUBMISSION_METRICS,
    {"variance": money(), "total_variance": money(), "flagged": serializers.BooleanField()},
)


class CashSubmissionsSerializer(serializers.Serializer):
    totals = SubmissionTotalsSerializer()
    by_branch = SubmissionBranchSerializer(many=True)
    by_dimension = by_dimension_serializer("SubmissionByDimensionSerializer", SubmissionRowSerializer)()


class VarianceAccountSerializer(serializers.Serializer):
    bank_account_id = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    book_closing_balance = money()
    statement_closing_balance = nullable_money()
    variance = nullable_money()
    balance_status = serializers.CharField()
    reconciliation_status = serializers.CharField(help_text="draft, finalized or not_started.")
    reconciliation_id = serializers.CharField(allow_null=True)
    flagged = serializers.BooleanField()


class VarianceAlertSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["book_vs_statement", "cash_submission"])
    bank_account_id = serializers.CharField(allow_null=True)
    branch_id = serializers.CharField(allow_null=True)
    variance = money()


class VarianceTotalsSerializer(serializers.Serializer):
    book_closing_balance = money()
    statement_closing_balance = nullable_money()
    variance = nullable_money()
    unreconciled_count = serializers.IntegerField()
    unreconciled_amount = money()
    cash_expected = money()
    cash_deposited = money()
    cash_variance = money()
    alert_count = serializers.IntegerField()


class VarianceReportSerializer(ReportHeaderSerializer):
    threshold = money()
    totals = VarianceTotalsSerializer()
    accounts = VarianceAccountSerializer(many=True)
    unreconciled = UnreconciledSerializer()
    cash_submissions = CashSubmissionsSerializer()
    alerts = VarianceAlertSerializer(many=True)


class TrackedAllocationSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    amount = money()
    received_amount = nullable_money()
    cost_center = serializers.CharField()
    project = serializers.CharField()
    department = serializers.CharField()


class TrackedTransferSerializer(serializers.Serializer):
    id = serializers.CharField()
    direction = serializers.CharField(help_text="out: from this account; in: into it.")
    from_bank_account_id = serializers.CharField()
    to_bank_account_id = serializers.CharField()
    counterparty_bank_account_id = serializers.CharField()
    amount = money()
    received_amount = nullable_money()
    difference = nullable_money()
    status = serializers.CharField()
    initiated_date = serializers.DateField()
    received_date = serializers.DateField(allow_null=True)
    reference = serializers.CharField(allow_blank=True)
    days_in_transit = serializers.IntegerField(allow_null=True)
    needs_attention = serializers.BooleanField()
    attention_reasons = attention_reasons_field()
    allocations = TrackedAllocationSerializer(many=True)


class TransferAttentionSerializer(serializers.Serializer):
    id = serializers.CharField()
    direction = serializers.CharField()
    counterparty_bank_account_id = serializers.CharField()
    status = serializers.CharField()
    initiated_date = serializers.DateField()
    amount = money()
    received_amount = nullable_money()
    days_in_transit = serializers.IntegerField(allow_null=True)
    attention_reasons = attention_reasons_field()


class TransferTotalsSerializer(serializers.Serializer):
    outgoing_count = serializers.IntegerField()
    outgoing_amount = money()
    outgoing_received_amount = money()
    incoming_count = serializers.IntegerField()
    incoming_amount = money()
    incoming_received_amount = money()
    in_transit_count = serializers.IntegerField(help_text="Sent (sending leg posted), not received.")
    in_transit_amount = money(help_text="What they sent: the transfers-in-transit account's share for them.")
    attention_count = serializers.IntegerField()


class TransferStatusTotalsSerializer(serializers.Serializer):
    outgoing_count = serializers.IntegerField()
    outgoing_amount = money()
    incoming_count = serializers.IntegerField()
    incoming_amount = money()


ByStatusSerializer = type(
    "TransferByStatusSerializer",
    (serializers.Serializer,),
    {status: TransferStatusTotalsSerializer() for status in TransferStatus.values},
)
AllocationRowSerializer = dimension_row_serializer(
    "AllocationDimensionRowSerializer", reports.ALLOCATION_METRICS
)
AllocationByDimensionSerializer = by_dimension_serializer(
    "AllocationByDimensionSerializer", AllocationRowSerializer
)


class TransferByDimensionSerializer(serializers.Serializer):
    outgoing = AllocationByDimensionSerializer()
    incoming = AllocationByDimensionSerializer()


class TransferTrackingSerializer(ReportHeaderSerializer):
    attention_days = serializers.IntegerField(help_text="BANKING_TRANSFER_ATTENTION_DAYS")
    totals = TransferTotalsSerializer()
    by_status = ByStatusSerializer()
    outgoing = TrackedTransferSerializer(many=True)
    incoming = TrackedTransferSerializer(many=True)
    attention = TransferAttentionSerializer(many=True)
    by_dimension = TransferByDimensionSerializer()
