"""Banking serializers: the guide's JSON in, the same names out.

Documents (transactions, cash submissions, floats) are written through
``banking.services``; these serializers only check shape and types. Posting
columns are read-only: ``posting_status`` changes by posting or reversing, so a
create may say ``"draft"`` (the guide's smoke object does) and nothing else.
"""

from rest_framework import serializers

from accounting.models import GLAccount
from banking.choices import PostingStatus
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    FloatReturn,
    PostingRule,
    StatementCsvProfile,
    compact_code,
    validate_book_date,
)
from cnperp.api import (
    StrictCharField,
    StrictModelSerializer,
    key_field,
    money_field,
    money_out,
    ref_field,
    user_field,
)
from dimensions.models import Branch, CostCenter, Department, Project

TRACKING_FIELDS = ("created_at", "created_by", "updated_at", "updated_by")
TRACKING_READ_ONLY = ("created_at", "updated_at")
POSTING_FIELDS = ("posting_status", "posted_at", "posted_by", "gl_reference")


class TrackedSerializer(StrictModelSerializer):
    """A record that says who created and last changed it."""

    created_by = user_field()
    updated_by = user_field()


class BankCodeField(StrictCharField):
    """An IBAN or BIC as a person writes it (in groups, in lower case), kept compact in capitals.

    Compacted before its length is checked: a 31-character IBAN written in groups is 39 long.
    """

    def to_internal_value(self, data):
        return compact_code(super().to_internal_value(data))


def bank_code_field(name):
    model_field = BankAccount._meta.get_field(name)
    return BankCodeField(max_length=model_field.max_length, required=False, allow_blank=True)


class BankAccountSerializer(TrackedSerializer):
    """One of the business's bank accounts, linked to its GL account."""

    id = key_field(BankAccount)
    iban = bank_code_field("iban")
    bic = bank_code_field("bic")
    gl_account_id = ref_field(GLAccount, "gl_account")
    branch_id = ref_field(Branch, "branch", required=False)

    class Meta:
        model = BankAccount
        fields = (
            "id",
            "name",
            "bank_name",
            "account_number",
            "iban",
            "bic",
            "currency",
            "gl_account_id",
            "branch_id",
            "is_active",
            *TRACKING_FIELDS,
        )
        read_only_fields = TRACKING_READ_ONLY


class DocumentSerializer(TrackedSerializer):
    """A postable document; its posting columns are set by posting, never by a client."""

    posting_status = serializers.ChoiceField(
        choices=PostingStatus.choices,
        required=False,
        help_text='Set by posting and reversal; a client may send "draft" (or the current value) only.',
    )
    posted_by = user_field()

    def validate_posting_status(self, value):
        current = self.instance.posting_status if self.instance is not None else PostingStatus.DRAFT
        if value != current:
            raise serializers.ValidationError(
                f'The posting status changes only by posting or reversing; send "{current}" or leave it out.'
            )
        return value


DIMENSION_REFS = {
    "branch_id": lambda: ref_field(Branch, "branch", required=False),
    "cost_center_id": lambda: ref_field(CostCenter, "cost_center", required=False),
    "project_id": lambda: ref_field(Project, "project", required=False),
    "department_id": lambda: ref_field(Department, "department", required=False),
}


class BankTransactionSerializer(DocumentSerializer):
    """A movement on a bank account, tagged with branch and dimensions."""

    id = key_field(BankTransaction)
    bank_account_id = ref_field(BankAccount, "bank_account")
    amount = money_field()
    branch_id = DIMENSION_REFS["branch_id"]()
    cost_center_id = DIMENSION_REFS["cost_center_id"]()
    project_id = DIMENSION_REFS["project_id"]()
    department_id = DIMENSION_REFS["department_id"]()
    transfer_id = serializers.CharField(read_only=True, allow_null=True)
    corrects_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = BankTransaction
        fields = (
            "id",
            "bank_account_id",
            "transaction_type",
            "direction",
            "amount",
            "transaction_date",
            "value_date",
            "reference",
            "end_to_end_id",
            "description",
            "counterparty_name",
            "counterparty_account",
            "branch_id",
            "cost_center_id",
            "project_id",
            "department_id",
            *POSTING_FIELDS,
            "reconciliation_status",
            "reconciled_at",
            "transfer_id",
            "corrects_id",
            *TRACKING_FIELDS,
        )
        read_only_fields = (
            "posted_at",
            "gl_reference",
            "reconciliation_status",
            "reconciled_at",
            *TRACKING_READ_ONLY,
        )
        extra_kwargs = {
            "direction": {
                "required": False,
                "help_text": "Filled from the type when left out; transfers and adjustments must give it.",
            }
        }


class CashSubmissionSerializer(DocumentSerializer):
    """Cash a branch sends to the bank: expected against deposited."""

    id = key_field(CashSubmission)
    branch_id = ref_field(Branch, "branch")
    bank_account_id = ref_field(BankAccount, "bank_account")
    expected_amount = money_field()
    deposited_amount = money_field(allow_zero=True, required=False, allow_null=True)
    deposit_transaction_id = ref_field(BankTransaction, "deposit_transaction", required=False)
    cost_center_id = DIMENSION_REFS["cost_center_id"]()
    project_id = DIMENSION_REFS["project_id"]()
    department_id = DIMENSION_REFS["department_id"]()
    variance = money_out(allow_null=True, help_text="Deposited less expected; negative when cash is short.")

    class Meta:
        model = CashSubmission
        fields = (
            "id",
            "branch_id",
            "bank_account_id",
            "submission_date",
            "expected_amount",
            "deposited_amount",
            "deposit_date",
            "deposit_transaction_id",
            "variance",
            "status",
            "reference",
            "submitted_by_name",
            "notes",
            "cost_center_id",
            "project_id",
            "department_id",
            *POSTING_FIELDS,
            *TRACKING_FIELDS,
        )
        read_only_fields = ("posted_at", "gl_reference", *TRACKING_READ_ONLY)


class FloatReturnSerializer(serializers.ModelSerializer):
    """One posted return of a float (an instalment), and its reversal if it was reversed."""

    amount = money_out()
    reversed = serializers.BooleanField(source="is_reversed", read_only=True)
    posted_by = serializers.CharField(source="posted_by.username", read_only=True, allow_null=True)

    class Meta:
        model = FloatReturn
        fields = (
            "id",
            "number",
            "return_date",
            "amount",
            "gl_reference",
            "posted_at",
            "posted_by",
            "reversed",
            "reversal_date",
            "reversal_reason",
            "reversal_gl_reference",
        )
        read_only_fields = fields


class FloatAllocationSerializer(DocumentSerializer):
    """A cash float given to a branch, and what came back of it (``returns``: each instalment)."""

    id = key_field(FloatAllocation)
    branch_id = ref_field(Branch, "branch")
    bank_account_id = ref_field(BankAccount, "bank_account")
    amount = money_field()
    returned_amount = money_field(allow_zero=True, required=False)
    outstanding_amount = money_out(
        help_text="Allocated less returned: once posted, less the returns posted (a return recorded on "
        "the float but not posted yet is still out); 0.00 once the float is reversed."
    )
    cost_center_id = DIMENSION_REFS["cost_center_id"]()
    department_id = DIMENSION_REFS["department_id"]()
    returns = FloatReturnSerializer(
        many=True,
        read_only=True,
        help_text="Each return posted (post-return), the first first; a reversed one stays listed, "
        "marked reversed. returned_amount is the sum of those not reversed.",
    )

    class Meta:
        model = FloatAllocation
        fields = (
            "id",
            "branch_id",
            "bank_account_id",
            "allocation_date",
            "amount",
            "purpose",
            "custodian",
            "returned_amount",
            "return_date",
            "outstanding_amount",
            "status",
            "cost_center_id",
            "department_id",
            *POSTING_FIELDS,
            "return_gl_reference",
            "returns",
            *TRACKING_FIELDS,
        )
        # The status follows the returns' postings (post-return), never a client's say-so.
        read_only_fields = ("posted_at", "gl_reference", "return_gl_reference", "status", *TRACKING_READ_ONLY)


# --- Transfers ---------------------------------------------------------------


class TransferAllocationInputSerializer(StrictModelSerializer):
    """One share of a transfer: an amount and the dimensions it belongs to."""

    amount = money_field()
    branch_id = DIMENSION_REFS["branch_id"]()
    cost_center_id = DIMENSION_REFS["cost_center_id"]()
    project_id = DIMENSION_REFS["project_id"]()
    department_id = DIMENSION_REFS["department_id"]()

    class Meta:
        model = BankTransferAllocation
        fields = (
            "amount",
            "branch_id",
            "cost_center_id",
            "project_id",
            "department_id",
            "description",
            "reference",
        )


class TransferAllocationSerializer(serializers.ModelSerializer):
    """The share of a transfer that belongs to one combination of dimensions."""

    branch_id = serializers.CharField(read_only=True, allow_null=True)
    cost_center_id = serializers.CharField(read_only=True, allow_null=True)
    project_id = serializers.CharField(read_only=True, allow_null=True)
    department_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = BankTransferAllocation
        fields = (
            "id",
            "line_number",
            "amount",
            "received_amount",
            "branch_id",
            "cost_center_id",
            "project_id",
            "department_id",
            "description",
            "reference",
        )
        read_only_fields = fields


class TransferLegSerializer(serializers.ModelSerializer):
    """A transfer's sending (out) or receiving (in) bank transaction."""

    bank_account_id = serializers.CharField(read_only=True)

    class Meta:
        model = BankTransaction
        fields = (
            "id",
            "bank_account_id",
            "direction",
            "amount",
            "transaction_date",
            "posting_status",
            "reconciliation_status",
        )
        read_only_fields = fields


TRANSFER_INPUT_FIELDS = (
    "id",
    "from_bank_account_id",
    "to_bank_account_id",
    "amount",
    "initiated_date",
    "reference",
    "description",
    "branch_id",
    "cost_center_id",
    "project_id",
    "department_id",
)


class TransferCreateSerializer(StrictModelSerializer):
    """A new transfer; without allocations the whole amount carries the transfer's dimensions."""

    id = key_field(BankTransfer)
    from_bank_account_id = ref_field(BankAccount, "from_bank_account")
    to_bank_account_id = ref_field(BankAccount, "to_bank_account")
    amount = money_field()
    branch_id = DIMENSION_REFS["branch_id"]()
    cost_center_id = DIMENSION_REFS["cost_center_id"]()
    project_id = DIMENSION_REFS["project_id"]()
    department_id = DIMENSION_REFS["department_id"]()
    allocations = TransferAllocationInputSerializer(
        many=True, required=False, help_text="Shares that add up to the amount, each combination once."
    )

    class Meta:
        model = BankTransfer
        fields = (*TRANSFER_INPUT_FIELDS, "allocations")


class TransferSerializer(serializers.ModelSerializer):
    """A transfer between two of our accounts, with its allocations and legs."""

    from_bank_account_id = serializers.CharField(read_only=True)
    to_bank_account_id = serializers.CharField(read_only=True)
    branch_id = serializers.CharField(read_only=True, allow_null=True)
    cost_center_id = serializers.CharField(read_only=True, allow_null=True)
    project_id = serializers.CharField(read_only=True, allow_null=True)
    department_id = serializers.CharField(read_only=True, allow_null=True)
    created_by = user_field()
    updated_by = user_field()
    allocations = TransferAllocationSerializer(many=True, read_only=True)
    legs = TransferLegSerializer(many=True, read_only=True)

    class Meta:
        model = BankTransfer
        fields = (
            *TRANSFER_INPUT_FIELDS,
            "status",
            "received_amount",
            "received_date",
            "failure_reason",
            "failed_date",
            "allocations",
            "legs",
            *TRACKING_FIELDS,
        )
        read_only_fields = fields


class TransferReceiveSerializer(StrictModelSerializer):
    """The arrival of a transfer."""

    received_date = serializers.DateField(validators=[validate_book_date])
    received_amount = money_field(
        required=False, help_text="What arrived; the transfer amount when left out."
    )

    class Meta:
        model = BankTransfer
        fields = ("received_date", "received_amount")


class TransferFailSerializer(StrictModelSerializer):
    """Why a transfer will not arrive."""

    # A string only: ``5`` or ``true`` is a client's mistake, not a reason to record.
    reason = StrictCharField(source="failure_reason", max_length=255, help_text="Why it will not arrive.")
    failed_date = serializers.DateField(
        required=False,
        validators=[validate_book_date],
        help_text="When it was known not to arrive; today when left out. Not before the initiated date, "
        "nor after today.",
    )

    class Meta:
        model = BankTransfer
        fields = ("reason", "failed_date")


# --- Configuration and reconciliation ----------------------------------------


class PostingRuleSerializer(TrackedSerializer):
    """Which GL account takes the other side of a document type's bank line."""

    id = key_field(PostingRule)
    bank_account_id = ref_field(BankAccount, "bank_account", required=False)
    branch_id = ref_field(Branch, "branch", required=False)
    contra_account_id = ref_field(GLAccount, "contra_account")

    class Meta:
        model = PostingRule
        fields = (
            "id",
            "document_type",
            "bank_account_id",
            "branch_id",
            "contra_account_id",
            "description",
            "is_active",
            *TRACKING_FIELDS,
        )
        read_only_fields = TRACKING_READ_ONLY
        # The one-rule-per-scope check (NULL scopes included) is the model's own,
        # run by the write; DRF's generated validator would make the scope required.
        validators = []


class StatementCsvProfileSerializer(TrackedSerializer):
    """How one bank lays out its CSV statements."""

    id = key_field(StatementCsvProfile)

    class Meta:
        model = StatementCsvProfile
        fields = (
            "id",
            "name",
            "delimiter",
            "quote_char",
            "encoding",
            "decimal_mark",
            "thousands_separator",
            "date_format",
            "skip_rows",
            "has_header",
            "amount_mode",
            "negate_amounts",
            "date_column",
            "value_date_column",
            "amount_column",
            "debit_column",
            "credit_column",
            "description_column",
            "reference_column",
            "counterparty_column",
            "counterparty_iban_column",
            "balance_column",
            *TRACKING_FIELDS,
        )
        read_only_fields = TRACKING_READ_ONLY
        # A space, no-break space or tab is a separator banks use; trimming would save it as empty.
        extra_kwargs = {name: {"trim_whitespace": False} for name in StatementCsvProfile.SEPARATOR_FIELDS}


class BankReconciliationSerializer(serializers.ModelSerializer):
    """The reconciliation of one account for one period."""

    bank_account_id = serializers.CharField(read_only=True)
    period_id = serializers.PrimaryKeyRelatedField(read_only=True, source="period")
    cost_center_id = serializers.CharField(read_only=True, allow_null=True)
    project_id = serializers.CharField(read_only=True, allow_null=True)
    department_id = serializers.CharField(read_only=True, allow_null=True)
    prepared_by = user_field()
    approved_by = user_field()
    created_by = user_field()
    updated_by = user_field()

    class Meta:
        model = BankReconciliation
        fields = (
            "id",
            "bank_account_id",
            "period_id",
            "reconciliation_date",
            "book_opening_balance",
            "book_closing_balance",
            "statement_opening_balance",
            "statement_closing_balance",
            "variance",
            "balance_status",
            "status",
            "matched_count",
            "matched_amount",
            "unmatched_book_count",
            "unmatched_book_amount",
            "unmatched_statement_count",
            "unmatched_statement_amount",
            "notes",
            "cost_center_id",
            "project_id",
            "department_id",
            "dimension_breakdown",
            "prepared_by",
            "approved_by",
            "approved_at",
            *TRACKING_FIELDS,
        )
        read_only_fields = fields
