"""Reconciliation endpoints: the month's result, matching, snapshots and sign-off.

Thin views: they check the query or body, check the caller's permission and
call a service in ``banking.matching`` or ``banking.reconciliation``; the
numbers are exactly the service's. Reading needs
``banking.view_bankreconciliation``; matching and running the reconciliation
need ``banking.match_statementline``; signing off needs
``banking.finalize_bankreconciliation`` (docs/security.md).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from banking import matching, reconciliation
from banking.api import reconciliation_serializers as s
from banking.api.posting_serializers import ErrorSerializer
from banking.models import ReconciliationMatch
from cnperp.api import query_parameters, service_errors
from cnperp.pagination import StandardPagination
from cnperp.permissions import RequiredPermissions
from cnperp.roles import RECONCILIATION_READ_PERMISSIONS

VIEW_PERMISSION = RECONCILIATION_READ_PERMISSIONS  # the writes answer with what it shows: they need it too
CHANGE_PERMISSION = "banking.match_statementline"
FINALIZE_PERMISSION = "banking.finalize_bankreconciliation"


def _query(serializer_class, request):
    data = query_parameters(request)
    # ?format= picks the renderer (json, api), as on every endpoint; it is not the query's.
    data.pop(api_settings.URL_FORMAT_OVERRIDE, None)
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _body(serializer_class, request):
    serializer = serializer_class(data=request.data if request.data is not None else {})
    serializer.is_valid(raise_exception=True)
    return serializer


def _errors(*codes):
    texts = {
        400: "Bad query or body: the answer names the field and the problem.",
        401: "Not signed in.",
        403: "Missing the permission (view, match or finalize), or the signer prepared the reconciliation "
        "(segregation of duties).",
        404: "No such bank account, match or statement line.",
        409: "The period's reconciliation is finalized, or the items are already matched; a sign-off of a "
        "month nobody has reconciled yet under segregation of duties (not_prepared).",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in codes}


ACCOUNT_PERIOD = [
    OpenApiParameter("bank_account_id", str, required=True, description="The bank account, such as ba-op."),
    OpenApiParameter("period", str, required=True, description="The month, YYYY-MM, such as 2025-10."),
]

RESULT_EXAMPLE = OpenApiExample(
    "October 2025, balanced",
    value={
        "bank_account_id": "ba-op",
        "bank_account_name": "Operating account",
        "currency": "USD",
        "gl_account_id": "gl-1100",
        "period": "2025-10",
        "period_start": "2025-10-01",
        "period_end": "2025-10-31",
        "book_opening_balance": "10000.00",
        "book_closing_balance": "12500.00",
        "statement_opening_balance": "10000.00",
        "statement_closing_balance": "12487.50",
        "statement_count": 1,
        "matched_count": 41,
        "matched_amount": "2500.00",
        "matched_transaction_count": 43,
        "suggested_count": 0,
        "unmatched_book_items": {"count": 0, "total": "0.00", "items": []},
        "unmatched_statement_lines": {
            "count": 1,
            "total": "-12.50",
            "other_currencies": [],
            "items": [
                {
                    "id": "sl-77",
                    "booking_date": "2025-10-31",
                    "amount": "-12.50",
                    "currency": "USD",
                    "counterparty_name": "",
                    "bank_reference": "FEE-10",
                    "narrative": "ACCOUNT SERVICE FEE",
                    "match_status": "unmatched",
                }
            ],
        },
        "variance": "-12.50",
        "threshold": "1000.00",
        "status": "within_threshold",
        "reconciliation": None,
        "dimensions": {"cost_center": [], "project": [], "department": []},
    },
    response_only=True,
)


class ReconciliationView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION

    @extend_schema(
        summary="Reconciliation of an account for a month",
        description="Book balances from the GL, statement balances, matched and unmatched items, variance "
        "and status against BANKING_RECONCILIATION_THRESHOLD, broken down by cost centre, project and "
        'department ("unassigned" included). The same numbers as `reconcile_banking_by_dimension`.',
        parameters=ACCOUNT_PERIOD,
        responses={200: s.ReconciliationResultSerializer, **_errors(400, 401, 403, 404)},
        examples=[RESULT_EXAMPLE],
        tags=["reconciliation"],
    )
    def get(self, request):
        query = _query(s.ReconciliationQuerySerializer, request)
        result = reconciliation.reconcile_banking_by_dimension(query["bank_account_id"], query["period"])
        return Response(s.ReconciliationResultSerializer(result).data)


class ReconciliationRunView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Match and save the snapshot",
        description="Run the matcher for the month (unless `match` is false), then store or refresh the "
        "bank_reconciliations snapshot. Refused with 409 once the month is finalized.",
        request=s.RunRequestSerializer,
        responses={200: s.RunResponseSerializer, **_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "Run October", value={"bank_account_id": "ba-op", "period": "2025-10"}, request_only=True
            )
        ],
        tags=["reconciliation"],
    )
    def post(self, request):
        data = _body(s.RunRequestSerializer, request).validated_data
        _snapshot, result, run = reconciliation.reconciliation_run(
            bank_account_id=data["bank_account_id"],
            period=data["period"],
            user=request.user,
            match=data["match"],
        )
        return Response(
            s.RunResponseSerializer({"run": run.as_dict() if run else None, "reconciliation": result}).data
        )


class ReconciliationFinalizeView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (FINALIZE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Sign off (finalize) a reconciliation",
        description="Refresh the snapshot, then lock it: status finalized, approver and time recorded, "
        "matched transactions become reconciled. Needs a statement; a variance beyond the threshold needs "
        "a `note`. Name the snapshot by `reconciliation_id` or by `bank_account_id` and `period`.",
        request=s.FinalizeRequestSerializer,
        responses={200: s.ReconciliationResultSerializer, **_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "Sign off October",
                value={
                    "bank_account_id": "ba-op",
                    "period": "2025-10",
                    "note": "Fee of 12.50 booked in November.",
                },
                request_only=True,
            )
        ],
        tags=["reconciliation"],
    )
    def post(self, request):
        data = _body(s.FinalizeRequestSerializer, request).validated_data
        _snapshot, result = reconciliation.reconciliation_finalize(
            user=request.user,
            reconciliation_id=data.get("reconciliation_id"),
            bank_account_id=data.get("bank_account_id"),
            period=data.get("period"),
            note=data["note"],
        )
        return Response(s.ReconciliationResultSerializer(result).data)


class MatchListView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    # Read by the schema generator too: the answer is a page ({count, next, previous, results}), and
    # the schema says so only when the view names its paginator.
    pagination_class = StandardPagination

    @extend_schema(
        summary="Matches of an account for a month",
        description="Every match (suggested, confirmed, rejected) whose statement line is booked in the "
        "month, best score first, each with its stage, score and reason. Paginated.",
        parameters=[
            *ACCOUNT_PERIOD,
            OpenApiParameter("status", str, enum=["suggested", "confirmed", "rejected"], required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: s.MatchSerializer(many=True), **_errors(400, 401, 403, 404)},
        tags=["reconciliation"],
    )
    def get(self, request):
        query = _query(s.MatchListQuerySerializer, request)
        start, end = matching.period_bounds(query["period"])
        account = matching.bank_account_get(query["bank_account_id"])
        rows = (
            ReconciliationMatch.objects.filter(
                bank_account_id=account.pk,
                statement_line__booking_date__gte=start,
                statement_line__booking_date__lte=end,
            )
            .select_related("decided_by")
            .order_by("statement_line_id", "-score", "pk")
        )
        if query.get("status"):
            rows = rows.filter(status=query["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.MatchSerializer(page, many=True).data)


def _match_id_parameter():
    return [OpenApiParameter("pk", str, OpenApiParameter.PATH, description="The match's id.")]


class MatchAcceptView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Accept a suggestion",
        description="Confirm the suggestion with the rest of its group; rival suggestions are dropped.",
        request=None,
        parameters=_match_id_parameter(),
        responses={200: s.MatchSerializer(many=True), **_errors(401, 403, 404, 409)},
        tags=["reconciliation"],
    )
    def post(self, request, pk):
        rows = matching.match_accept(match_id=pk, user=request.user)
        return Response(s.MatchSerializer(rows, many=True).data)


class MatchRejectView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Reject a suggestion",
        description="Reject the suggestion with the rest of its group; the matcher never proposes it again.",
        request=None,
        parameters=_match_id_parameter(),
        responses={200: s.MatchSerializer(many=True), **_errors(401, 403, 404, 409)},
        tags=["reconciliation"],
    )
    def post(self, request, pk):
        rows = matching.match_reject(match_id=pk, user=request.user)
        return Response(s.MatchSerializer(rows, many=True).data)


class ManualMatchView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Match by hand",
        description="Match one statement line to several transactions, or several lines to one. The two "
        "sides must add up exactly (money in positive), else 400 on `transaction_ids`.",
        request=s.ManualMatchRequestSerializer,
        responses={201: s.MatchSerializer(many=True), **_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "A deposit of two submissions",
                value={"statement_line_ids": ["sl-12"], "transaction_ids": ["bt-40", "bt-41"]},
                request_only=True,
            )
        ],
        tags=["reconciliation"],
    )
    def post(self, request):
        data = _body(s.ManualMatchRequestSerializer, request).validated_data
        rows = matching.match_manual(user=request.user, **data)
        return Response(s.MatchSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class UnmatchView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Unmatch",
        description="Undo every confirmed match (whole groups) of these statement lines or transactions. "
        "Refused with 409 once the month is finalized.",
        request=s.UnmatchRequestSerializer,
        responses={200: s.UnmatchResponseSerializer, **_errors(400, 401, 403, 409)},
        examples=[OpenApiExample("Free a line", value={"statement_line_ids": ["sl-12"]}, request_only=True)],
        tags=["reconciliation"],
    )
    def post(self, request):
        data = _body(s.UnmatchRequestSerializer, request).validated_data
        freed = matching.match_undo(user=request.user, **data)
        return Response({"statement_line_ids": freed})


class StatementLineCreateTransactionView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    read_permissions = VIEW_PERMISSION
    required_permission = (CHANGE_PERMISSION, *VIEW_PERMISSION)

    @extend_schema(
        summary="Record a statement line as a new transaction",
        description="Create a draft bank transaction (a fee, interest, ...) from an unmatched statement "
        "line, with the dimensions given, and match the two in one action. The draft posts like any other.",
        request=s.CreateTransactionRequestSerializer,
        parameters=[
            OpenApiParameter("pk", str, OpenApiParameter.PATH, description="The statement line's id.")
        ],
        responses={201: s.CreatedTransactionSerializer, **_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "A bank fee",
                value={"transaction_type": "fee", "cost_center_id": "cc-hq"},
                request_only=True,
            )
        ],
        tags=["reconciliation"],
    )
    def post(self, request, pk):
        serializer = _body(s.CreateTransactionRequestSerializer, request)
        with service_errors(serializer):
            txn, match = matching.statement_line_create_transaction(
                statement_line_id=pk, user=request.user, **serializer.validated_data
            )
        return Response(
            s.CreatedTransactionSerializer({"transaction_id": txn.pk, "match": match}).data,
            status=status.HTTP_201_CREATED,
        )
