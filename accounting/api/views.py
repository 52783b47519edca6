from accounting.api.serializers import AccountingPeriodSerializer, GLAccountSerializer, JournalEntrySerializer
from accounting.filters import AccountingPeriodFilterSet, GLAccountFilterSet, JournalEntryFilterSet
from accounting.models import AccountingPeriod, GLAccount, JournalEntry
from cnperp.api import ReadOnlyRecordViewSet, RecordViewSet


class GLAccountViewSet(RecordViewSet):
    """The chart of accounts; an account with GL lines or bank accounts cannot be deleted (409)."""

    queryset = GLAccount.objects.select_related("created_by", "updated_by")
    serializer_class = GLAccountSerializer
    filterset_class = GLAccountFilterSet
    ordering_fields = ["code", "name", "account_type", "id"]
    search_fields = ["code", "name", "description"]


class AccountingPeriodViewSet(ReadOnlyRecordViewSet):
    """Accounting periods (``YYYY-MM``); they are closed and reopened through posting."""

    queryset = AccountingPeriod.objects.select_related("closed_by")
    serializer_class = AccountingPeriodSerializer
    filterset_class = AccountingPeriodFilterSet
    ordering_fields = ["id", "start_date", "status"]
    search_fields = ["id"]


class JournalEntryViewSet(ReadOnlyRecordViewSet):
    """GL lines (``journal_entries``), each with its dimension assignments; posted lines are final."""

    queryset = JournalEntry.objects.select_related("posted_by").prefetch_related("dimension_assignments")
    serializer_class = JournalEntrySerializer
    filterset_class = JournalEntryFilterSet
    ordering_fields = ["entry_date", "reference", "posted_at", "debit", "credit", "id"]
    search_fields = ["reference", "description", "source_id"]
