"""Request and response bodies of the reconciliation endpoints.

Requests are strict (an unknown field is a 400 naming it); responses carry
amounts as strings with two places, as everywhere in this API.
"""

from rest_framework import serializers

from banking.api.posting_serializers import StrictSerializer
from banking.choices import MatchStatus, TransactionType
from banking.models import ReconciliationMatch
from banking.reconciliation import SIGN_OFF_NOTE_MAX
from cnperp.api import StrictCharField, money_out, ref_field
from dimensions.models import Branch, CostCenter, Department, Project


def _money(**kwargs):
    return money_out(**kwargs)


# --- Requests -------------------------------------------------------------------


class ReconciliationQuerySerializer(StrictSerializer):
    bank_account_id = StrictCharField(max_length=64, help_text="The bank account, such as ba-op.")
    period = StrictCharField(max_length=7, help_text="The month, YYYY-MM.")


class MatchListQuerySerializer(ReconciliationQuerySerializer):
    status = serializers.ChoiceField(choices=MatchStatus.choices, required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=1000)


class RunRequestSerializer(ReconciliationQuerySerializer):
    match = serializers.BooleanField(
        default=True, help_text="Run the matcher before saving the snapshot (default true)."
    )


class FinalizeRequestSerializer(StrictSerializer):
    reconciliation_id = StrictCharField(required=False, max_length=64, help_text="The snapshot's id, or:")
    bank_account_id = StrictCharField(required=False, max_length=64)
    period = StrictCharField(required=False, max_length=7, help_text="YYYY-MM")
    note = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=SIGN_OFF_NOTE_MAX,
        help_text="Needed to sign off a variance beyond the threshold.",
    )


class ManualMatchRequestSerializer(StrictSerializer):
    statement_line_ids = serializers.ListField(child=StrictCharField(max_length=64), allow_empty=False)
    transaction_ids = serializers.ListField(child=StrictCharField(max_length=64), allow_empty=False)
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=200)


class UnmatchRequestSerializer(StrictSerializer):
    statement_line_ids = serializers.ListField(child=StrictCharField(max_length=64), required=False)
    transaction_ids = serializers.ListField(child=StrictCharField(max_length=64), required=False)


class CreateTransactionRequestSerializer(StrictSerializer):
    transaction_type = serializers.ChoiceField(choices=TransactionType.choices)
    description = StrictCharField(required=False, allow_blank=True, max_length=255)
    branch_id = ref_field(Branch, "branch", required=False)
    cost_center_id = ref_field(CostCenter, "cost_center", required=False)
    project_id = ref_field(Project, "project", required=False)
    department_id = ref_field(Department, "department", required=False)


# --- Responses ------------------------------------------------------------------


class UnmatchedBookItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    transaction_date = serializers.DateField()
    transaction_type = serializers.CharField()
    direction = serializers.CharField(help_text="in or out")
    amount = _money(help_text="Signed: money in positive.")
    reference = serializers.CharField()
    counterparty_name = serializers.CharField()
    posting_status = serializers.CharField()
    cost_center_id = serializers.CharField(allow_null=True)
    project_id = serializers.CharField(allow_null=True)
    department_id = serializers.CharField(allow_null=True)


class UnmatchedLineSerializer(serializers.Serializer):
    id = serializers.CharField()
    booking_date = serializers.DateField()
    amount = _money()
    currency = serializers.CharField(
        help_text="The line's currency: the account's, unless the bank booked it in another one."
    )
    counterparty_name = serializers.CharField()
    bank_reference = serializers.CharField()
    narrative = serializers.CharField()
    match_status = serializers.CharField()


class OtherCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField()
    count = serializers.IntegerField()
    total = _money()


class UnmatchedBookSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total = _money()
    items = UnmatchedBookItemSerializer(many=True, help_text="The first 100, by date.")


class UnmatchedLinesSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Every open line, those in another currency included.")
    total = _money(help_text="The open lines in the account's currency.")
    other_currencies = OtherCurrencySerializer(
        many=True,
        help_text="Open lines the bank booked in another currency than the account's: not the "
        "account's money, so kept out of the total; their count and total per currency.",
    )
    items = UnmatchedLineSerializer(many=True, help_text="The first 100, by date.")


class BucketSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='The dimension value\'s id, or "unassigned".')
    name = serializers.CharField()
    book_opening_balance = _money()
    book_closing_balance = _money()
    book_movement = _money()
    statement_movement = _money()
    movement_difference = _money(help_text="Statement movement less book movement.")
    matched_count = serializers.IntegerField()
    matched_amount = _money()
    unmatched_book_count = serializers.IntegerField()
    unmatched_book_amount = _money()
    unmatched_statement_count = serializers.IntegerField()
    unmatched_statement_amount = _money()


class DimensionBreakdownSerializer(serializers.Serializer):
    cost_center = BucketSerializer(many=True)
    project = BucketSerializer(many=True)
    department = BucketSerializer(many=True)


class SnapshotStateSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    prepared_by = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ReconciliationResultSerializer(serializers.Serializer):
    bank_account_id = serializers.CharField()
    bank_account_name = serializers.CharField()
    currency = serializers.CharField()
    gl_account_id = serializers.CharField()
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    book_opening_balance = _money()
    book_closing_balance = _money()
    statement_opening_balance = _money(allow_null=True)
    statement_closing_balance = _money(allow_null=True)
    statement_count = serializers.IntegerField()
    matched_count = serializers.IntegerField()
    matched_amount = _money()
    matched_transaction_count = serializers.IntegerField()
    suggested_count = serializers.IntegerField()
    unmatched_book_items = UnmatchedBookSerializer()
    unmatched_statement_lines = UnmatchedLinesSerializer()
    variance = _money(
        allow_null=True, help_text="Statement closing less book closing; null without statement."
    )
    threshold = _money()
    status = serializers.CharField(
        help_text="balanced, within_threshold, out_of_balance or no_statement (against the threshold)."
    )
    reconciliation = SnapshotStateSerializer(allow_null=True)
    dimensions = DimensionBreakdownSerializer()


class MatchRunSerializer(serializers.Serializer):
    lines_considered = serializers.IntegerField()
    transactions_considered = serializers.IntegerField()
    lines_matched = serializers.IntegerField()
    transactions_matched = serializers.IntegerField()
    lines_suggested = serializers.IntegerField()
    by_stage = serializers.DictField(child=serializers.IntegerField())


class RunResponseSerializer(serializers.Serializer):
    run = MatchRunSerializer(allow_null=True)
    reconciliation = ReconciliationResultSerializer()


class MatchSerializer(serializers.ModelSerializer):
    bank_account_id = serializers.CharField()
    statement_line_id = serializers.CharField()
    bank_transaction_id = serializers.CharField()
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    amount = _money()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    status = serializers.CharField(help_text="suggested, confirmed or rejected")

    class Meta:
        model = ReconciliationMatch
        fields = (
            "id",
            "bank_account_id",
            "statement_line_id",
            "bank_transaction_id",
            "group_key",
            "amount",
            "score",
            "stage",
            "reason",
            "status",
            "decided_by",
            "decided_at",
        )
        read_only_fields = fields


class UnmatchResponseSerializer(serializers.Serializer):
    statement_line_ids = serializers.ListField(child=serializers.CharField(), help_text="The lines freed.")


class CreatedTransactionSerializer(serializers.Serializer):
    transaction_id = serializers.CharField()
    match = MatchSerializer()
