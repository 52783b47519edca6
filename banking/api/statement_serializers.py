"""Request and response bodies of the statement import and statement reads.

Amounts leave as strings (``"322152.16"``); a balance the file does not give
(OFX has no opening, camt.054 none at all) is ``null``, and so is
``is_consistent`` when the check cannot be made.
"""

from rest_framework import serializers

from banking.api.posting_serializers import StrictSerializer
from banking.importers import FORMATS
from banking.models import BankStatement, StatementLine
from cnperp.api import money_out, user_field


class StatementImportRequestSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="The statement file: camt.052/053/054, MT940/942, OFX, BAI2 or CSV."
    )
    bank_account_id = serializers.CharField(max_length=64, help_text="The bank account, such as ba-op.")
    format = serializers.ChoiceField(
        choices=["auto", *FORMATS], default="auto", help_text="Detected from the content when auto."
    )
    profile = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="The CSV profile's id or name; needed for CSV files only.",
    )


class StatementOutcomeSerializer(serializers.Serializer):
    id = serializers.CharField()
    statement_number = serializers.CharField()
    format = serializers.CharField()
    account_identifier = serializers.CharField()
    currency = serializers.CharField()
    from_date = serializers.DateField(allow_null=True)
    to_date = serializers.DateField(allow_null=True)
    opening_balance = money_out(allow_null=True)
    closing_balance = money_out(allow_null=True)
    lines_total = money_out()
    is_consistent = serializers.BooleanField(allow_null=True)
    balance_difference = money_out(allow_null=True)
    already_imported = serializers.BooleanField(
        help_text="The same file (the same bytes, under any name) was imported into this account before: "
        "nothing added."
    )
    lines_read = serializers.IntegerField()
    new_lines = serializers.IntegerField()
    duplicate_lines = serializers.IntegerField()


class SkippedStatementSerializer(serializers.Serializer):
    statement_number = serializers.CharField()
    account_identifier = serializers.CharField()


class StatementImportResultSerializer(serializers.Serializer):
    bank_account_id = serializers.CharField()
    file_name = serializers.CharField()
    file_sha256 = serializers.CharField()
    format = serializers.CharField()
    statement_count = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    new_lines = serializers.IntegerField()
    duplicate_lines = serializers.IntegerField()
    statements = StatementOutcomeSerializer(many=True)
    skipped_statements = SkippedStatementSerializer(
        many=True, help_text="Statements in the file for other accounts; not imported."
    )


class BankStatementSerializer(serializers.ModelSerializer):
    bank_account_id = serializers.CharField(read_only=True)
    opening_balance = money_out(allow_null=True)
    closing_balance = money_out(allow_null=True)
    lines_total = money_out()
    balance_difference = money_out(allow_null=True)
    created_by = user_field()

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "bank_account_id",
            "format",
            "statement_number",
            "file_name",
            "file_sha256",
            "account_identifier",
            "currency",
            "from_date",
            "to_date",
            "opening_balance",
            "closing_balance",
            "lines_total",
            "line_count",
            "is_consistent",
            "balance_difference",
            "new_line_count",
            "duplicate_line_count",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class StatementLineSerializer(serializers.ModelSerializer):
    statement_id = serializers.CharField(read_only=True)
    bank_account_id = serializers.CharField(read_only=True)
    amount = money_out()

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "statement_id",
            "bank_account_id",
            "line_number",
            "booking_date",
            "value_date",
            "amount",
            "currency",
            "end_to_end_id",
            "bank_reference",
            "fitid",
            "counterparty_name",
            "counterparty_iban",
            "narrative",
            "transaction_code",
            "is_reversal",
            "match_status",
        ]
        read_only_fields = fields
