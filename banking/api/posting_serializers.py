"""Request and response bodies of the posting endpoints.

Requests are strict: an unknown field or a value of the wrong type is a 400
naming the field, never silently ignored. Responses show the posting as the
ledger holds it: its reference, date, period and lines, each with its account,
debit and credit as strings and its three dimensions (``null`` = unassigned).
"""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from banking.api.serializers import CashSubmissionSerializer
from banking.choices import Direction
from banking.models import BankAccount, BankTransaction, validate_book_date
from cnperp.api import FORM_FIELDS, StrictCharField, key_field, money_field, money_out, ref_field
from dimensions.models import Branch, CostCenter, Department, Project


class StrictSerializer(serializers.Serializer):
    """Refuse fields the endpoint does not know; an empty body is an empty object."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - FORM_FIELDS)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class PostRequestSerializer(StrictSerializer):
    user_id = StrictCharField(
        required=False,
        max_length=150,
        help_text="Informational only (the deployment guide sends it); the authenticated user is recorded.",
    )


class ReverseRequestSerializer(StrictSerializer):
    reversal_date = serializers.DateField(
        validators=[validate_book_date],
        help_text="In an open period, on or after the original posting's date.",
    )
    reason = StrictCharField(max_length=255, help_text="Why the posting is reversed.")


class FloatReturnRequestSerializer(StrictSerializer):
    returned_amount = money_field(
        required=False,
        help_text="The total that has come back of the float to date, every instalment together (not the "
        "instalment alone); defaults to the amount recorded on the float.",
    )
    return_date = serializers.DateField(
        required=False,
        validators=[validate_book_date],
        help_text="The day this instalment came back; for a float with no return yet it defaults to the "
        "return date recorded on it.",
    )


class DepositRecordSerializer(StrictSerializer):
    """The bank's credit of a cash submission posted before it."""

    deposit_transaction_id = ref_field(
        BankTransaction,
        "deposit_transaction",
        help_text="The bank deposit that carried the cash: a deposit into the submission's account, not "
        "reversed, and not posted through its deposit rule.",
    )
    deposited_amount = money_field(
        allow_zero=True,  # as on the submission itself: the bank may credit none of it
        required=False,
        help_text="What reached the bank; what the branch expected when left out.",
    )
    deposit_date = serializers.DateField(
        required=False, validators=[validate_book_date], help_text="When; the deposit's date when left out."
    )


class CorrectRequestSerializer(StrictSerializer):
    """The reversal (for a posted transaction) and the fields of the corrected draft that change."""

    reversal_date = serializers.DateField(
        required=False,
        validators=[validate_book_date],
        help_text="Needed when the transaction is still posted: it is reversed first.",
    )
    reason = StrictCharField(required=False, max_length=255, default="", help_text="Why it is corrected.")
    id = key_field(BankTransaction)
    amount = money_field(required=False)
    transaction_date = serializers.DateField(required=False, validators=[validate_book_date])
    value_date = serializers.DateField(required=False, allow_null=True, validators=[validate_book_date])
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    reference = StrictCharField(required=False, allow_blank=True, max_length=100)
    description = StrictCharField(required=False, allow_blank=True, max_length=255)
    counterparty_name = StrictCharField(required=False, allow_blank=True, max_length=200)
    bank_account_id = ref_field(BankAccount, "bank_account", required=False)
    branch_id = ref_field(Branch, "branch", required=False)
    cost_center_id = ref_field(CostCenter, "cost_center", required=False)
    project_id = ref_field(Project, "project", required=False)
    department_id = ref_field(Department, "department", required=False)


class DimensionsSerializer(serializers.Serializer):
    cost_center_id = serializers.CharField(allow_null=True)
    project_id = serializers.CharField(allow_null=True)
    department_id = serializers.CharField(allow_null=True)


class PostingLineSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    account_id = serializers.CharField()
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    debit = money_out()
    credit = money_out()
    description = serializers.CharField()
    reversal_of_id = serializers.CharField(allow_null=True)
    dimensions = serializers.SerializerMethodField()

    @extend_schema_field(DimensionsSerializer)
    def get_dimensions(self, line):
        # Read from the assignment rows, the ledger's record of the line's dimensions.
        values = {f"{row.dimension_type}_id": row.value_id for row in line.dimension_assignments.all()}
        return {name: values.get(name) for name in ("cost_center_id", "project_id", "department_id")}


class PostingSerializer(serializers.Serializer):
    id = serializers.CharField()
    reference = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    purpose = serializers.CharField()
    entry_date = serializers.DateField()
    period = serializers.CharField(source="period_id")
    description = serializers.CharField()
    reverses_id = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    posted_by = serializers.CharField(source="posted_by.username", help_text="Who posted it.")
    posted_at = serializers.DateTimeField()
    total_debit = serializers.SerializerMethodField()
    total_credit = serializers.SerializerMethodField()
    lines = PostingLineSerializer(many=True)

    @extend_schema_field(serializers.DecimalField(max_digits=20, decimal_places=2))
    def get_total_debit(self, posting):
        return f"{sum(line.debit for line in posting.lines.all()):.2f}"

    @extend_schema_field(serializers.DecimalField(max_digits=20, decimal_places=2))
    def get_total_credit(self, posting):
        return f"{sum(line.credit for line in posting.lines.all()):.2f}"


class CorrectionSerializer(serializers.ModelSerializer):
    """The corrected draft, pointing back to the reversed transaction it replaces."""

    corrects_id = serializers.CharField()
    bank_account_id = serializers.CharField()
    branch_id = serializers.CharField(allow_null=True)
    cost_center_id = serializers.CharField(allow_null=True)
    project_id = serializers.CharField(allow_null=True)
    department_id = serializers.CharField(allow_null=True)

    class Meta:
        model = BankTransaction
        fields = [
            "id",
            "corrects_id",
            "bank_account_id",
            "transaction_type",
            "direction",
            "amount",
            "transaction_date",
            "value_date",
            "reference",
            "description",
            "counterparty_name",
            "branch_id",
            "cost_center_id",
            "project_id",
            "department_id",
            "posting_status",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    # {"detail", "code"}, or {"<field>": ["message"]} when one field is at fault;
    # DRF's own refusals (403, 404, 405) carry a code too (cnperp.exceptions).
    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)


class DepositRecordedSerializer(serializers.Serializer):
    """The submission with its deposit recorded, and the over/short posting if anything differed."""

    cash_submission = CashSubmissionSerializer()
    difference_posting = PostingSerializer(allow_null=True)
