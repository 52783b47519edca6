"""Statement endpoints: import a file, read statements and their lines.

The import view only checks the form and calls
:func:`banking.statement_import.statement_import`, the same service the
``import_statement`` command and the admin upload call, so the three give the
same numbers. Importing needs ``banking.import_bankstatement``; reading needs
``banking.view_bankstatement``.
"""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from banking.api import statement_serializers as s
from banking.api.posting_serializers import ErrorSerializer
from banking.choices import LineMatchStatus, StatementFormat
from banking.models import BankAccount, BankStatement, StatementCsvProfile, StatementLine
from banking.statement_import import statement_import, statement_max_bytes
from cnperp.api import ReadOnlyRecordViewSet
from cnperp.exceptions import DomainError
from cnperp.filters import StrictBooleanFilter, refuse_unknown_parameters
from cnperp.permissions import RequiredPermissions

IMPORT_PERMISSION = "banking.import_bankstatement"
# The service names what it checks; the client named them in the form.
_FORM_FIELDS = {"account": "bank_account_id", "bank_account": "bank_account_id"}


class StatementImportView(APIView):
    permission_classes = [IsAuthenticated, RequiredPermissions]
    required_permission = IMPORT_PERMISSION
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Import a bank statement file",
        description=(
            "Upload a camt.052/053/054, MT940/942, OFX, BAI2 or CSV file (multipart). All or nothing: "
            "a file that fails imports nothing, with a 400 naming the field (`file`, `bank_account_id`, "
            "`format`, `profile`, `currency`). Repeatable: the same file again (the same bytes, under "
            "any name), or lines already imported from an overlapping statement, add nothing. 201 when "
            "something was stored, 200 when the file had been imported before. Each statement's own "
            "arithmetic (opening + lines = closing) is in `is_consistent` and `balance_difference`."
        ),
        request={"multipart/form-data": s.StatementImportRequestSerializer},
        responses={
            201: s.StatementImportResultSerializer,
            200: OpenApiResponse(s.StatementImportResultSerializer, description="Already imported."),
            400: OpenApiResponse(ErrorSerializer, description="Bad file or form: names the field."),
            401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
            403: OpenApiResponse(ErrorSerializer, description="Missing banking.import_bankstatement."),
        },
        tags=["statements"],
    )
    def post(self, request):
        form = s.StatementImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        bank_account = BankAccount.objects.filter(pk=data["bank_account_id"]).first()
        if bank_account is None:
            raise ValidationError(
                {"bank_account_id": [f'No bank account has the id "{data["bank_account_id"]}".']}
            )
        profile = None
        if data.get("profile"):
            profile = StatementCsvProfile.objects.filter(
                Q(pk=data["profile"]) | Q(name=data["profile"])
            ).first()
            if profile is None:
                raise ValidationError(
                    {"profile": [f'No CSV profile has the id or name "{data["profile"]}".']}
                )
        upload = data["file"]
        limit = statement_max_bytes()
        if upload.size > limit:
            # Refused before reading it into memory.
            raise ValidationError(
                {
                    "file": [
                        f"The file is {upload.size:,} bytes; the limit is {limit:,} "
                        "(BANKING_STATEMENT_MAX_BYTES)."
                    ]
                }
            )
        try:
            result = statement_import(
                bank_account=bank_account,
                content=upload.read(),
                file_name=upload.name or "upload",
                format=data["format"],
                profile=profile,
                user=request.user,
            )
        except DomainError as exc:
            if exc.field:
                raise ValidationError({_FORM_FIELDS.get(exc.field, exc.field): [exc.message]}) from exc
            raise
        answer = s.StatementImportResultSerializer(result.as_dict()).data
        return Response(answer, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class BankStatementFilterSet(django_filters.FilterSet):
    # Not "format": DRF reads ?format= as the choice of renderer
    # (URL_FORMAT_OVERRIDE), so ?format=camt053 never reached the filter and
    # answered 404 for want of a "camt053" renderer.
    statement_format = django_filters.ChoiceFilter(
        field_name="format",
        choices=StatementFormat.choices,
        help_text="The statement's format as read from the file, such as camt053 or mt940.",
    )

    # Strict: django-filter's own read ?is_consistent=no as no filter at all.
    is_consistent = StrictBooleanFilter(help_text="true: the balances add up; false: they do not.")

    class Meta:
        model = BankStatement
        fields = ["bank_account", "statement_format", "is_consistent"]


@extend_schema_view(
    list=extend_schema(
        summary="Imported statements",
        parameters=[
            OpenApiParameter(
                "statement_format",
                str,
                enum=StatementFormat.values,
                required=False,
                description=(
                    "Only statements of this format (camt053, camt052, camt054, mt940, mt942, ofx, bai2, "
                    "csv). `?format=` chooses the response's renderer (json), not the statement format."
                ),
            ),
        ],
        tags=["statements"],
    ),
    retrieve=extend_schema(summary="One imported statement", tags=["statements"]),
)
class BankStatementViewSet(ReadOnlyRecordViewSet):
    """Imported statements with their balances and consistency, newest first."""

    queryset = BankStatement.objects.select_related("created_by")
    serializer_class = s.BankStatementSerializer
    filterset_class = BankStatementFilterSet
    ordering_fields = ["to_date", "from_date", "created_at", "id"]
    search_fields = ["statement_number", "file_name", "account_identifier"]

    @extend_schema(
        summary="Lines of a statement",
        parameters=[
            OpenApiParameter("match_status", str, enum=LineMatchStatus.values, required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: s.StatementLineSerializer(many=True), 404: ErrorSerializer},
        tags=["statements"],
    )
    @action(detail=True, methods=["get"], url_path="lines", filter_backends=[])
    def lines(self, request, pk=None):
        statement = self.get_object()
        # As every list answers one it does not know (cnperp.filters.KnownParametersFilterBackend).
        paging = (self.paginator.page_query_param, self.paginator.page_size_query_param)
        refuse_unknown_parameters(request, {"match_status", *paging})
        rows = StatementLine.objects.filter(statement=statement).order_by("line_number")
        wanted = request.query_params.get("match_status")
        if wanted:
            if wanted not in LineMatchStatus.values:
                # An unknown status used to answer an empty page, as if the statement had no such lines.
                raise ValidationError({"match_status": [f"Use one of: {', '.join(LineMatchStatus.values)}."]})
            rows = rows.filter(match_status=wanted)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.StatementLineSerializer(page, many=True).data)
