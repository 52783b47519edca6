"""Report endpoints: cash position, dimensional analysis, variance report, transfer tracking.

Thin views: they check the query, call a selector in ``banking.reports`` and
answer its result as JSON (amounts as strings with two places), or as CSV or
XLSX with ``?format=csv`` / ``?format=xlsx``. Reading a report needs the view
permission on every model it is computed from (``cnperp.roles.REPORT_PERMISSIONS``):
whoever may read the GL lines and the accounts may read what is summed from them.
"""

from decimal import Decimal

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from banking import reports
from banking.api import report_serializers as s
from banking.api.posting_serializers import ErrorSerializer
from banking.api.report_exports import (
    XLSX_MEDIA_TYPE,
    CSVRenderer,
    XLSXRenderer,
    tabulate,
)
from cnperp.api import query_parameters
from cnperp.permissions import RequiredPermissions
from cnperp.roles import REPORT_PERMISSIONS

EXPORTS = ("csv", "xlsx")


class ReportJSONEncoder(encoders.JSONEncoder):
    """Amounts as ``"5000.00"`` (DRF's own encoder would make them floats); dates ISO, as DRF does."""

    def default(self, obj):
        if isinstance(obj, Decimal):
            return f"{obj:.2f}"
        return super().default(obj)


_ENCODER = ReportJSONEncoder()
# Line and paragraph separators are valid in JSON but not in JavaScript; DRF escapes them, so do we.
_JS_UNSAFE = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


class ReportJSONRenderer(JSONRenderer):
    """The selector's result encoded directly (no serializer pass over every row), by ``orjson``.

    A report lists hundreds of rows of amounts and dates: the standard library's
    encoder calls back into Python for each of them (4 ms of a transfer
    tracking's 30 for a busy month), orjson encodes dates itself and calls
    back only for amounts. The text is the same JSON as DRF's renderer gives
    (amounts as ``"5000.00"``, UTC moments ending in ``Z``); an indented answer
    (the browsable API's) or anything orjson does not take (a key that is not
    a string, say) goes through DRF's own renderer.
    """

    encoder_class = ReportJSONEncoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=_ENCODER.default, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        for unsafe, escaped in _JS_UNSAFE:
            content = content.replace(unsafe, escaped)
        return content


def _errors(*codes):
    texts = {
        400: "A bad parameter: the answer names it (period, group_by, format or an unknown one).",
        401: "Not signed in.",
        403: "Missing the view permission on a model the report reads (docs/security.md).",
        404: 'No bank account has this id, named as a bad parameter is: {"bank_account_id": ["No bank '
        'account has the id \\"ba-x\\"."]}.',
    }
    return {code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in codes}


def _responses(serializer):
    return {
        (200, "application/json"): serializer,
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="One long table; column table names the part."
        ),
        (200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="One sheet per part."),
        **_errors(400, 401, 403, 404),
    }


ACCOUNT = OpenApiParameter(
    "bank_account_id",
    str,
    required=False,
    description="The bank account, such as ba-op; all accounts when left out.",
)
PERIOD = OpenApiParameter("period", str, required=True, description="The month, YYYY-MM, such as 2025-10.")
CURRENCY = OpenApiParameter(
    "currency",
    str,
    required=False,
    description="All accounts kept in this currency, such as USD: needed when bank_account_id is left out "
    "and the accounts are kept in several currencies (totals never add two currencies).",
)
FORMAT = OpenApiParameter(
    "format", str, required=False, enum=list(s.EXPORT_FORMATS), description="json (default), csv or xlsx."
)


class ReportView(APIView):
    """Validate the query, run the selector, answer JSON or an export."""

    permission_classes = [IsAuthenticated, RequiredPermissions]
    renderer_classes = [ReportJSONRenderer, BrowsableAPIRenderer, CSVRenderer, XLSXRenderer]
    query_serializer = s.ReportQuerySerializer
    report_name = ""

    @property
    def read_permissions(self):
        return REPORT_PERMISSIONS[self.report_name]

    def run(self, query):
        raise TypeError(f"{type(self).__name__} does not say which report it runs.")

    def get(self, request):
        serializer = self.query_serializer(data=query_parameters(request))
        serializer.is_valid(raise_exception=True)
        result = self.run(serializer.validated_data)
        export = request.accepted_renderer.format
        if export not in EXPORTS:
            return Response(result)
        scope = result.get("bank_account_id") or "all"
        response = Response(tabulate(result))
        response["Content-Disposition"] = (
            f'attachment; filename="{self.report_name}-{scope}-{result["period"]}.{export}"'
        )
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors answer JSON whatever format was asked for: an export of an error is no use to anyone.
        # So does OPTIONS: its answer is the endpoint's description, which is no report to tabulate.
        renderer = getattr(request, "accepted_renderer", None)
        not_a_report = response.status_code >= 400 or request.method == "OPTIONS"
        if not_a_report and renderer is not None and renderer.format in EXPORTS:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        response.add_post_render_callback(self._let_go)
        return response

    def _let_go(self, response):
        """Untie the rendered answer from the view and from itself, so its rows are freed with it.

        DRF ties them in cycles (``view.response``; the view and the answer
        itself in ``response.renderer_context``), which only Python's cyclic
        collector frees: the rows of every report answered since its last run
        were freed at once, inside whichever request set it off (14 to 18 ms
        for ten busy-month transfer trackings). Untied, each answer's rows go
        when the answer does, once sent. The context is of no use once the
        content is rendered.
        """
        self.response = None
        response.renderer_context = {}


# The rows by dimension an example leaves out (the lists the answer always has).
NO_DIMENSION_ROWS = {"cost_center": [], "project": [], "department": []}
HEADER_EXAMPLE = {
    "bank_account_id": "ba-op",
    "period": "2025-10",
    "period_start": "2025-10-01",
    "period_end": "2025-10-31",
    "currency": "USD",
    "generated_at": "2025-11-03T08:00:00.000000Z",
}
FLOW_ROW_EXAMPLE = {
    "key": "cc-hq",
    "code": "HQ",
    "name": "Head office",
    "parent": None,
    "level": 0,
    "inflow": "1500.00",
    "outflow": "500.00",
    "count": 3,
    "total_inflow": "6500.00",
    "total_outflow": "1200.00",
    "total_count": 9,
    "net": "1000.00",
    "total_net": "5300.00",
}


class CashPositionView(ReportView):
    report_name = "cash-position"
    query_serializer = s.AccountsQuerySerializer

    @extend_schema(
        summary="Cash position of a bank account for a month",
        description="Opening balance, inflows (debits) and outflows (credits) on the bank's GL account, "
        "closing balance from the books, the statement's closing balance where a statement covers the "
        "month, every day of the month, and the month's movements per cost centre, project and "
        'department ("unassigned" included, parents rolled up from their children: total_*). '
        "All accounts when bank_account_id is left out.",
        parameters=[ACCOUNT, PERIOD, CURRENCY, FORMAT],
        responses=_responses(s.CashPositionSerializer),
        examples=[
            OpenApiExample(
                "October 2025",
                value={
                    **HEADER_EXAMPLE,
                    "totals": {
                        "opening_balance": "10000.00",
                        "inflow": "6500.00",
                        "outflow": "1200.00",
                        "net": "5300.00",
                        "closing_balance": "15300.00",
                        "line_count": 9,
                        "statement_closing_balance": "15300.00",
                        "statement_difference": "0.00",
                    },
                    "accounts": [],
                    "daily": [
                        {
                            "date": "2025-10-01",
                            "inflow": "5000.00",
                            "outflow": "0.00",
                            "net": "5000.00",
                            "count": 1,
                            "closing_balance": "15000.00",
                        }
                    ],
                    "by_dimension": {"cost_center": [FLOW_ROW_EXAMPLE], "project": [], "department": []},
                },
                response_only=True,
                media_type="application/json",
            )
        ],
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def run(self, query):
        return reports.cash_position_get(
            period=query["period"],
            bank_account_id=query.get("bank_account_id"),
            currency=query.get("currency"),
        )


class DimensionalAnalysisView(ReportView):
    report_name = "dimensional-analysis"
    query_serializer = s.DimensionalQuerySerializer

    @extend_schema(
        summary="Inflow, outflow, net and count by dimension for a month",
        description="The month's GL lines on the bank's GL account by cost centre, project and department, "
        'with "unassigned" as its own bucket and each parent rolled up from its children (total_*), and '
        "one row per combination of the dimensions named in group_by (default all three).",
        parameters=[
            ACCOUNT,
            PERIOD,
            CURRENCY,
            OpenApiParameter(
                "group_by",
                str,
                required=False,
                description="Comma-separated dimensions of the combination rows, e.g. cost_center,project.",
            ),
            FORMAT,
        ],
        responses=_responses(s.DimensionalAnalysisSerializer),
        examples=[
            OpenApiExample(
                "October 2025 by cost centre and project",
                value={
                    **HEADER_EXAMPLE,
                    "group_by": ["cost_center", "project"],
                    "totals": {"inflow": "6500.00", "outflow": "1200.00", "net": "5300.00", "count": 9},
                    "by_dimension": {"cost_center": [FLOW_ROW_EXAMPLE], "project": [], "department": []},
                    "combinations": [
                        {
                            "cost_center": "cc-hq",
                            "cost_center_name": "Head office",
                            "project": "unassigned",
                            "project_name": "Unassigned",
                            "inflow": "1500.00",
                            "outflow": "500.00",
                            "net": "1000.00",
                            "count": 3,
                        }
                    ],
                },
                response_only=True,
                media_type="application/json",
            )
        ],
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def run(self, query):
        return reports.dimensional_analysis_get(
            period=query["period"],
            bank_account_id=query.get("bank_account_id"),
            group_by=query.get("group_by"),
            currency=query.get("currency"),
        )


class VarianceReportView(ReportView):
    report_name = "variance-report"
    query_serializer = s.AccountsQuerySerializer

    @extend_schema(
        summary="Variances of a month: book against statement, unreconciled items, branch cash",
        description="Per account the book and statement closing balances, their variance and the "
        "reconciliation status (from the saved reconciliation, or computed); unreconciled book items by age "
        "(0-30, 31-60, 61-90, 90+ days at the month's end) and by dimension; branch cash submissions, "
        "expected against deposited, per branch and by dimension. Every line whose variance exceeds "
        "BANKING_VARIANCE_ALERT_THRESHOLD is flagged and listed in alerts.",
        parameters=[ACCOUNT, PERIOD, CURRENCY, FORMAT],
        responses=_responses(s.VarianceReportSerializer),
        examples=[
            OpenApiExample(
                "October 2025, one short branch",
                value={
                    **HEADER_EXAMPLE,
                    "threshold": "5000.00",
                    "totals": {
                        "book_closing_balance": "15300.00",
                        "statement_closing_balance": "15300.00",
                        "variance": "0.00",
                        "unreconciled_count": 2,
                        "unreconciled_amount": "-700.00",
                        "cash_expected": "20000.00",
                        "cash_deposited": "14000.00",
                        "cash_variance": "-6000.00",
                        "alert_count": 1,
                    },
                    "accounts": [],
                    "unreconciled": {
                        "count": 2,
                        "amount": "-700.00",
                        "buckets": [],
                        "by_dimension": NO_DIMENSION_ROWS,
                    },
                    "cash_submissions": {
                        "totals": {
                            "count": 2,
                            "expected": "20000.00",
                            "deposited": "14000.00",
                            "deposited_expected": "20000.00",
                            "pending_count": 0,
                            "pending_expected": "0.00",
                            "variance": "-6000.00",
                            "flagged": True,
                        },
                        "by_branch": [],
                        "by_dimension": NO_DIMENSION_ROWS,
                    },
                    "alerts": [
                        {
                            "kind": "cash_submission",
                            "bank_account_id": "ba-op",
                            "branch_id": "test-branch",
                            "variance": "-6000.00",
                        }
                    ],
                },
                response_only=True,
                media_type="application/json",
            )
        ],
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def run(self, query):
        return reports.variance_report_get(
            period=query["period"],
            bank_account_id=query.get("bank_account_id"),
            currency=query.get("currency"),
        )


class TransferTrackingView(ReportView):
    report_name = "transfer-tracking"
    query_serializer = s.TransferQuerySerializer

    @extend_schema(
        summary="Transfers out of and into a bank account",
        description="Transfers initiated in the month, received in it, or still open at its end, each as it "
        "stood on the month's last day (one received since was in transit then; a receipt reversed since was "
        "a receipt then): amount, "
        "received amount, status, days in transit, allocations by dimension, and those needing attention "
        "(received amount different from sent, or in transit longer than BANKING_TRANSFER_ATTENTION_DAYS).",
        parameters=[
            OpenApiParameter(
                "bank_account_id", str, required=True, description="The bank account, such as ba-op."
            ),
            OpenApiParameter(
                "period", str, required=False, description="The month, YYYY-MM (default: the current month)."
            ),
            FORMAT,
        ],
        responses=_responses(s.TransferTrackingSerializer),
        examples=[
            OpenApiExample(
                "October 2025, one transfer late",
                value={
                    **HEADER_EXAMPLE,
                    "attention_days": 3,
                    "totals": {
                        "in_transit_count": 1,
                        "in_transit_amount": "2500.00",
                        "outgoing_count": 1,
                        "outgoing_amount": "2500.00",
                        "outgoing_received_amount": "0.00",
                        "incoming_count": 0,
                        "incoming_amount": "0.00",
                        "incoming_received_amount": "0.00",
                        "attention_count": 1,
                    },
                    "by_status": {
                        status: {
                            "outgoing_count": 1 if status == "in_transit" else 0,
                            "outgoing_amount": "2500.00" if status == "in_transit" else "0.00",
                            "incoming_count": 0,
                            "incoming_amount": "0.00",
                        }
                        for status in ("initiated", "in_transit", "received", "failed")
                    },
                    "outgoing": [],
                    "incoming": [],
                    "attention": [
                        {
                            "id": "tr-0001",
                            "direction": "out",
                            "counterparty_bank_account_id": "ba-payroll",
                            "status": "in_transit",
                            "initiated_date": "2025-10-27",
                            "amount": "2500.00",
                            "received_amount": None,
                            "days_in_transit": 5,
                            "attention_reasons": ["in_transit_too_long"],
                        }
                    ],
                    "by_dimension": {"outgoing": NO_DIMENSION_ROWS, "incoming": NO_DIMENSION_ROWS},
                },
                response_only=True,
                media_type="application/json",
            )
        ],
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def run(self, query):
        return reports.transfer_tracking_get(
            bank_account_id=query["bank_account_id"], period=query.get("period")
        )
