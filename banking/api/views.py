"""Banking endpoints: master data, draft documents, transfers, rules, profiles.

Documents are written through ``banking.services``, the same functions the admin
and the commands call; a posted document answers 409 on change or delete.
Posting, statements, reconciliation runs and reports have their own modules.
"""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from banking import services
from banking.api.serializers import (
    BankAccountSerializer,
    BankReconciliationSerializer,
    BankTransactionSerializer,
    CashSubmissionSerializer,
    FloatAllocationSerializer,
    PostingRuleSerializer,
    StatementCsvProfileSerializer,
    TransferAllocationInputSerializer,
    TransferCreateSerializer,
    TransferFailSerializer,
    TransferReceiveSerializer,
    TransferSerializer,
)
from banking.filters import (
    BankAccountFilterSet,
    BankReconciliationFilterSet,
    BankTransactionFilterSet,
    BankTransferFilterSet,
    CashSubmissionFilterSet,
    FloatAllocationFilterSet,
    PostingRuleFilterSet,
    StatementCsvProfileFilterSet,
)
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankTransaction,
    BankTransfer,
    CashSubmission,
    FloatAllocation,
    FloatReturn,
    PostingRule,
    StatementCsvProfile,
)
from cnperp.api import (
    KEY_LOOKUP_REGEX,
    ReadOnlyRecordViewSet,
    RecordViewSet,
    client_field_names,
    key_conflicts,
    service_errors,
)
from cnperp.exceptions import DomainError

TRACKED = ("created_by", "updated_by")


class BankAccountViewSet(RecordViewSet):
    """The business's bank accounts; one with transactions cannot be deleted (409)."""

    queryset = BankAccount.objects.select_related(*TRACKED)
    serializer_class = BankAccountSerializer
    filterset_class = BankAccountFilterSet
    ordering_fields = ["id", "name", "bank_name", "currency"]
    search_fields = ["id", "name", "bank_name", "account_number", "iban"]

    def update_record(self, instance, data):
        # Through the service: the GL account and currency are fixed once the account has history (409).
        return services.bank_account_update(bank_account_id=instance.pk, user=self._user(), **data)

    def perform_update(self, serializer):
        try:
            super().perform_update(serializer)
        except DomainError as exc:
            # The service names the model's field (gl_account); the client sent gl_account_id.
            exc.field = client_field_names(serializer).get(exc.field, exc.field)
            raise


class DocumentViewSet(RecordViewSet):
    """A draft document's create, change and delete go through its services.

    ``posting_status`` was checked by the serializer (only the current value may be
    sent) and is dropped here: posting and reversal are the only ways to change it.
    """

    create_service = None
    update_service = None
    delete_service = None
    key_argument = None

    def _data(self, data):
        return {name: value for name, value in data.items() if name != "posting_status"}

    def create_record(self, data):
        return type(self).create_service(user=self._user(), **self._data(data))

    def update_record(self, instance, data):
        arguments = {self.key_argument: instance.pk}
        return type(self).update_service(user=self._user(), **arguments, **self._data(data))

    def delete_record(self, instance):
        type(self).delete_service(user=self._user(), **{self.key_argument: instance.pk})


class BankTransactionViewSet(DocumentViewSet):
    """Bank transactions: drafts are recorded and changed here, posted through ``post-accounting``."""

    queryset = BankTransaction.objects.select_related(*TRACKED, "posted_by")
    serializer_class = BankTransactionSerializer
    filterset_class = BankTransactionFilterSet
    ordering_fields = ["transaction_date", "value_date", "amount", "id", "created_at", "reference"]
    search_fields = ["reference", "description", "counterparty_name", "end_to_end_id"]
    create_service = services.bank_transaction_create
    update_service = services.bank_transaction_update
    delete_service = services.bank_transaction_delete
    key_argument = "transaction_id"


class CashSubmissionViewSet(DocumentViewSet):
    """Cash sent by branches to the bank: expected against deposited."""

    queryset = CashSubmission.objects.select_related(*TRACKED, "posted_by")
    serializer_class = CashSubmissionSerializer
    filterset_class = CashSubmissionFilterSet
    ordering_fields = ["submission_date", "deposit_date", "expected_amount", "id", "created_at"]
    search_fields = ["reference", "notes", "submitted_by_name"]
    create_service = services.cash_submission_create
    update_service = services.cash_submission_update
    delete_service = services.cash_submission_delete
    key_argument = "submission_id"


class FloatAllocationViewSet(DocumentViewSet):
    """Cash floats given to branches and what came back of them."""

    queryset = FloatAllocation.objects.select_related(*TRACKED, "posted_by").prefetch_related(
        Prefetch("returns", queryset=FloatReturn.objects.select_related("posted_by").order_by("number"))
    )
    serializer_class = FloatAllocationSerializer
    filterset_class = FloatAllocationFilterSet
    ordering_fields = ["allocation_date", "return_date", "amount", "id", "created_at"]
    search_fields = ["purpose", "custodian"]
    create_service = services.float_allocation_create
    update_service = services.float_allocation_update
    delete_service = services.float_allocation_delete
    key_argument = "allocation_id"


@contextmanager
def allocation_errors():
    """Answer a problem with one allocation as the serializer answers an unknown cost centre.

    ``{"allocations": {"1": {"cost_center_id": ["..."]}}}``: keyed by the allocation's index in
    the list sent (0 for the first) and the field as the client named it, whichever check found it.
    """
    try:
        yield
    except services.AllocationError as exc:
        names = client_field_names(TransferAllocationInputSerializer())
        names[NON_FIELD_ERRORS] = api_settings.NON_FIELD_ERRORS_KEY
        problems = {names.get(field, field): messages for field, messages in exc.problems.items()}
        raise ValidationError({"allocations": {str(exc.index): problems}}) from exc


@extend_schema(responses=TransferSerializer)
class BankTransferViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Transfers between two of our accounts, with their allocations and their two legs.

    A transfer is started here (its sending leg is created as a draft), then
    received (the receiving leg) or failed; it is never edited or deleted.
    """

    queryset = BankTransfer.objects.select_related(*TRACKED).prefetch_related(
        "allocations", Prefetch("legs", queryset=BankTransaction.objects.order_by("direction"))
    )
    filterset_class = BankTransferFilterSet
    ordering_fields = ["initiated_date", "received_date", "amount", "id"]
    search_fields = ["reference", "description"]
    lookup_value_regex = KEY_LOOKUP_REGEX
    # Receiving or failing a transfer changes it; adding one is not the right permission.
    action_permissions = {"receive": "change", "fail": "change"}

    def get_serializer_class(self):
        action = self.action
        if action in ("list", "metadata") and getattr(self.request, "method", None) == "POST":
            # OPTIONS and the browsable API's form describe the POST body on the list's route:
            # the transfer as read has every field read-only, which left no form to fill in.
            action = "create"
        return {
            "create": TransferCreateSerializer,
            "receive": TransferReceiveSerializer,
            "fail": TransferFailSerializer,
        }.get(action, TransferSerializer)

    def _answer(self, transfer, status_code=status.HTTP_200_OK):
        transfer = self.get_queryset().get(pk=transfer.pk)
        return Response(
            TransferSerializer(transfer, context=self.get_serializer_context()).data, status=status_code
        )

    @extend_schema(request=TransferCreateSerializer, responses={201: TransferSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = serializer.validated_data.get("id")
        with key_conflicts(BankTransfer, wanted), service_errors(serializer), allocation_errors():
            transfer = services.bank_transfer_create(user=request.user, **serializer.validated_data)
        return self._answer(transfer, status.HTTP_201_CREATED)

    @extend_schema(request=TransferReceiveSerializer, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        """Record the transfer's arrival: its receiving leg is created as a draft.

        The same receipt sent again (date, and amount or none for the whole) is a retry: 200, nothing
        new. Another receipt of a received transfer is a 409 transfer_received naming the one recorded.
        """
        transfer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            transfer = services.bank_transfer_receive(
                transfer_id=transfer.pk, user=request.user, **serializer.validated_data
            )
        return self._answer(transfer)

    @extend_schema(request=TransferFailSerializer, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        """Mark a transfer that will not arrive, with the reason.

        The same failure sent again (reason, and the recorded date or none) is a retry: 200, nothing new.
        Another reason or date is a 409 transfer_failed naming the one recorded, which stays.
        """
        transfer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            transfer = services.bank_transfer_fail(
                transfer_id=transfer.pk,
                user=request.user,
                reason=serializer.validated_data["failure_reason"],
                failed_date=serializer.validated_data.get("failed_date"),
            )
        return self._answer(transfer)


class PostingRuleViewSet(RecordViewSet):
    """Which GL account takes the other side of each document type, by account or branch."""

    queryset = PostingRule.objects.select_related(*TRACKED)
    serializer_class = PostingRuleSerializer
    filterset_class = PostingRuleFilterSet
    ordering_fields = ["document_type", "id"]
    search_fields = ["description"]


class StatementCsvProfileViewSet(RecordViewSet):
    """How each bank lays out its CSV statements."""

    queryset = StatementCsvProfile.objects.select_related(*TRACKED)
    serializer_class = StatementCsvProfileSerializer
    filterset_class = StatementCsvProfileFilterSet
    ordering_fields = ["name", "id"]
    search_fields = ["name"]


class BankReconciliationViewSet(ReadOnlyRecordViewSet):
    """Reconciliation snapshots per account and period; they are prepared and signed off elsewhere."""

    queryset = BankReconciliation.objects.select_related(*TRACKED, "prepared_by", "approved_by")
    serializer_class = BankReconciliationSerializer
    filterset_class = BankReconciliationFilterSet
    ordering_fields = ["period", "reconciliation_date", "variance", "id"]
    search_fields = ["notes"]
