from rest_framework import serializers

from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry
from cnperp.api import StrictModelSerializer, key_field, ref_field, user_field


class GLAccountSerializer(StrictModelSerializer):
    """An account of the chart of accounts."""

    id = key_field(GLAccount)
    parent_id = ref_field(GLAccount, "parent", required=False)
    created_by = user_field()
    updated_by = user_field()

    class Meta:
        model = GLAccount
        fields = (
            "id",
            "code",
            "name",
            "account_type",
            "parent_id",
            "is_active",
            "description",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
        )
        read_only_fields = ("created_at", "updated_at")


class AccountingPeriodSerializer(serializers.ModelSerializer):
    """A month of the ledger, ``YYYY-MM``, open or closed."""

    closed_by = user_field()

    class Meta:
        model = AccountingPeriod
        fields = ("id", "start_date", "end_date", "status", "closed_at", "closed_by")
        read_only_fields = fields


class DimensionAssignmentSerializer(serializers.ModelSerializer):
    """The value of one dimension on a GL line; a null value is unassigned."""

    value_id = serializers.CharField(
        read_only=True, allow_null=True, help_text="The dimension value's id; null means unassigned."
    )

    class Meta:
        model = DimensionAssignment
        fields = ("dimension_type", "value_id")
        read_only_fields = fields


class JournalEntrySerializer(serializers.ModelSerializer):
    """One GL line: a debit or a credit to one account, with its dimensions."""

    posting_id = serializers.CharField(read_only=True)
    period_id = serializers.CharField(read_only=True)
    account_id = serializers.CharField(read_only=True)
    reversal_of_id = serializers.CharField(read_only=True, allow_null=True)
    cost_center_id = serializers.CharField(read_only=True, allow_null=True)
    project_id = serializers.CharField(read_only=True, allow_null=True)
    department_id = serializers.CharField(read_only=True, allow_null=True)
    posted_by = user_field()
    dimension_assignments = DimensionAssignmentSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = (
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
            "posted_by",
            "posted_at",
            "reversal_of_id",
            "cost_center_id",
            "project_id",
            "department_id",
            "dimension_assignments",
        )
        read_only_fields = fields
