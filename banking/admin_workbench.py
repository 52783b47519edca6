"""The reconciliation workbench and the cash dashboard: the month-end screens of the admin.

**Workbench** (``/admin/banking/bankaccount/<id>/reconcile/<YYYY-MM>/``): the
statement lines of one bank account and month on one side, the book
transactions on the other, the matcher's suggestions with their score and
reason above them. A clerk accepts or rejects suggestions one at a time or
many at once, matches by hand (one line to several book items or several lines
to one), records an unexplained line (a bank fee) as a new bank transaction
with its dimensions, and watches the variance and the counts move; a
controller signs the month off from the same screen.

The page is one HTML shell; the lists and figures come from small JSON
endpoints under the same URL (``summary/``, ``lines/``, ``books/``,
``suggestions/``; ``run-matcher/``, ``accept/``, ``reject/``, ``match/``,
``unmatch/``, ``create-transaction/``, ``finalize/`` by POST), read and written
through the same services as the API and the ``reconcile`` command
(``banking.matching``, ``banking.reconciliation``), so every rule holds here
too. Lists are paginated by the server and filtered by amount, date and text,
so a month of a few thousand lines stays quick.

Permissions (the agreed codenames): viewing needs the view permissions on
reconciliations, statement lines and bank transactions; running the matcher, accepting,
rejecting, matching, unmatching and recording a transaction need
``banking.match_statementline`` (and ``banking.post_banktransaction`` to post
the new transaction at once); signing off needs
``banking.finalize_bankreconciliation``. A refusal is a JSON answer with a
message (403, or the service's 400/404/409), never a 500.

**Cash dashboard** (``/admin/banking/bankaccount/cash-dashboard/``): the
daily book balance of each account as a line chart, the month's inflow and
outflow by cost centre, project and department as bars, the variance alerts,
and the transfers still in transit, from the report selectors
(``banking.reports``), for users holding the view permissions the four report
endpoints need (``cnperp.roles.REPORT_PERMISSIONS``). Chart.js is served from
``banking/static/banking/vendor``.

Hooked into ``banking/admin.py`` by two mixins: :class:`BankAccountWorkbenchMixin`
(the URLs, a "Reconcile" column and the dashboard button) and
:class:`ReconciliationWorkbenchLinkMixin` (a "Workbench" column on the
reconciliation list).
"""

import datetime
import json
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounting import locks
from accounting.models import AccountingPeriod, JournalEntry
from banking import matching, reconciliation, reports
from banking.admin_import import IMPORT_PERMISSION
from banking.choices import (
    TYPE_DIRECTION,
    LineMatchStatus,
    MatchStatus,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    TransactionType,
    TransferStatus,
)
from banking.models import (
    BankAccount,
    BankTransaction,
    ReconciliationMatch,
    StatementLine,
)
from banking.posting import bank_transaction_post
from cnperp.duties import segregation_enforced
from cnperp.exceptions import DomainError, NotFoundError
from cnperp.parsers import NestedTooDeep, decoded_shallow, unencodable_path
from cnperp.roles import RECONCILIATION_READ_PERMISSIONS, REPORT_PERMISSIONS
from dimensions.models import Branch, CostCenter, Department, Project

# Reading the workbench shows what the reconciliation endpoint shows, and needs what it needs.
VIEW_PERMISSIONS = RECONCILIATION_READ_PERMISSIONS
# The dashboard shows what the four report endpoints show, and needs what each of them needs.
DASHBOARD_PERMISSIONS = tuple(sorted(set().union(*REPORT_PERMISSIONS.values())))
MATCH_PERMISSION = "banking.match_statementline"
FINALIZE_PERMISSION = "banking.finalize_bankreconciliation"
POST_PERMISSION = "banking.post_banktransaction"

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_BATCH = 500  # suggestions accepted or rejected in one request
TEXT_FILTER_MAX = 100
DIMENSION_FIELDS = (
    ("cost_center_id", CostCenter, "cost centre"),
    ("project_id", Project, "project"),
    ("department_id", Department, "department"),
    ("branch_id", Branch, "branch"),
)


# The dimensions of "Record..." as the body names them, by the model field a service's error names.
SENT_AS = {field.removesuffix("_id"): field for field, _model, _label in DIMENSION_FIELDS}


class BadRequest(DomainError):
    """Input the workbench cannot read (a filter, a JSON body); a 400 naming the field."""


# --- Reading the request ----------------------------------------------------------------


def _money(value):
    return None if value is None else f"{Decimal(value):.2f}"


def _day(value, field):
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f'"{value}" is not a date; use YYYY-MM-DD.', field=field) from None


def _amount(value, field):
    if value in (None, ""):
        return None
    try:
        amount = Decimal(value.replace(",", "").strip())
    except (InvalidOperation, AttributeError):
        raise BadRequest(
            f'"{value}" is not an amount; use digits and a point, like 1250.00.', field=field
        ) from None
    if not amount.is_finite():
        raise BadRequest(f'"{value}" is not an amount.', field=field)
    return abs(amount)


def _int(value, field, default, *, low=1, high=None):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f'"{value}" is not a whole number.', field=field) from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{field} must be {bound}.", field=field)
    return number


def _body(request, fields):
    """Return the JSON object of a write, refusing a key it does not take (as every API body does).

    A misspelt key would otherwise be ignored: ``cost_center`` for ``cost_center_id`` recorded the
    line without its cost centre and answered 200.
    """
    try:
        data = decoded_shallow(lambda: json.loads(request.body or b"{}"))
    except NestedTooDeep as exc:
        raise BadRequest(f"The request body: {exc}.", field="body") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not JSON.", field="body") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", field="body")
    path = unencodable_path(data, "")
    if path is not None:
        # JSON may spell a lone surrogate, which no query or answer can carry (cnperp/parsers.py).
        field = path.partition(".")[0]
        raise BadRequest(f"{path} holds a character that is not valid text.", field=field)
    unknown = [name for name in data if name not in fields]
    if unknown:
        name = unknown[0] if len(unknown[0]) <= 60 else f"{unknown[0][:59]}…"
        takes = ", ".join(fields) if fields else "no fields"
        raise BadRequest(
            f'Unknown field "{name}": this request takes {takes}.', field=name, code="unknown_field"
        )
    return data


def _filters(request):
    """Return the list filters of the query string: text, amount range (absolute) and dates."""
    params = request.GET
    text = params.get("q", "").strip()[:TEXT_FILTER_MAX]
    low, high = (
        _amount(params.get("amount_min"), "amount_min"),
        _amount(params.get("amount_max"), "amount_max"),
    )
    if low is not None and high is not None and low > high:
        raise BadRequest("amount_min is above amount_max.", field="amount_min")
    start, end = _day(params.get("date_from"), "date_from"), _day(params.get("date_to"), "date_to")
    if start and end and start > end:
        raise BadRequest("date_from is after date_to.", field="date_from")
    return {"text": text, "low": low, "high": high, "start": start, "end": end}


def _amount_filter(queryset, low, high):
    # Amounts are filtered by size, whatever their sign: "1,250" finds money in and out.
    if low is not None:
        queryset = queryset.filter(Q(amount__gte=low) | Q(amount__lte=-low))
    if high is not None:
        queryset = queryset.filter(amount__gte=-high, amount__lte=high)
    return queryset


def _page(queryset, request):
    page_size = _int(request.GET.get("page_size"), "page_size", PAGE_SIZE, high=MAX_PAGE_SIZE)
    page = _int(request.GET.get("page"), "page", 1)
    count = queryset.count()
    pages = max(1, -(-count // page_size))
    page = min(page, pages)
    offset = (page - 1) * page_size
    return list(queryset[offset : offset + page_size]), {
        "count": count,
        "page": page,
        "pages": pages,
        "page_size": page_size,
    }


def _error_response(exc):
    if isinstance(exc, PermissionDenied):
        return JsonResponse({"error": str(exc) or "You do not have permission to do this."}, status=403)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.message_dict.items()))
            return JsonResponse({"error": " ".join(errors), "field": field}, status=400)
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    return JsonResponse({"error": exc.message, "field": exc.field, "code": exc.code}, status=exc.status_code)


def _require(request, permission, doing):
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You do not have the permission to {doing} ({permission}).")


# --- Serialising rows -------------------------------------------------------------------


def _line_rows(lines):
    """Return statement lines as dicts, each with its confirmed match and its open suggestions."""
    ids = [line["id"] for line in lines]
    matches = defaultdict(lambda: {"confirmed": [], "suggested": []})
    for row in (
        ReconciliationMatch.objects.filter(
            statement_line_id__in=ids, status__in=[MatchStatus.CONFIRMED, MatchStatus.SUGGESTED]
        )
        .order_by("-score", "pk")
        .values(
            "id",
            "statement_line_id",
            "bank_transaction_id",
            "group_key",
            "score",
            "stage",
            "reason",
            "status",
        )
    ):
        matches[row["statement_line_id"]][row["status"]].append(
            {
                "match_id": row["id"],
                "group_key": row["group_key"],
                "transaction_id": row["bank_transaction_id"],
                "score": _money(row["score"]),
                "stage": row["stage"],
                "reason": row["reason"],
            }
        )
    return [
        {
            "id": line["id"],
            "date": line["booking_date"].isoformat(),
            "amount": _money(line["amount"]),
            "counterparty": line["counterparty_name"],
            "reference": line["bank_reference"] or line["end_to_end_id"] or line["fitid"],
            "narrative": line["narrative"][:140],
            "status": line["match_status"],
            "matched": matches[line["id"]]["confirmed"],
            "suggestions": matches[line["id"]]["suggested"],
        }
        for line in lines
    ]


def _signed(row):
    return row["amount"] if row["direction"] == "in" else -row["amount"]


def _book_rows(books):
    return [
        {
            "id": row["id"],
            "date": row["transaction_date"].isoformat(),
            "type": TransactionType(row["transaction_type"]).label,
            "amount": _money(_signed(row)),
            "reference": row["reference"] or row["end_to_end_id"],
            "counterparty": row["counterparty_name"],
            "description": row["description"][:140],
            "posting_status": row["posting_status"],
            "status": row["reconciliation_status"],
            "dimensions": " / ".join(
                filter(None, (row["cost_center_id"], row["project_id"], row["department_id"]))
            ),
        }
        for row in books
    ]


BOOK_VALUES = (
    "id",
    "transaction_date",
    "transaction_type",
    "direction",
    "amount",
    "reference",
    "end_to_end_id",
    "counterparty_name",
    "description",
    "posting_status",
    "reconciliation_status",
    "cost_center_id",
    "project_id",
    "department_id",
)


# --- The workbench --------------------------------------------------------------------


class Workbench:
    """The JSON side of one account and month: each public method answers one endpoint."""

    def __init__(self, request, account, period):
        self.request = request
        self.account = account
        self.period = period
        self.start, self.end = matching.period_bounds(period)

    # Reads

    def summary(self):
        result = reconciliation.reconcile_banking_by_dimension(self.account.pk, self.period, item_limit=0)
        snapshot = result["reconciliation"]
        return {
            "statement_opening_balance": _money(result["statement_opening_balance"]),
            "statement_closing_balance": _money(result["statement_closing_balance"]),
            "book_opening_balance": _money(result["book_opening_balance"]),
            "book_closing_balance": _money(result["book_closing_balance"]),
            "statement_count": result["statement_count"],
            "variance": _money(result["variance"]),
            "threshold": _money(result["threshold"]),
            "status": result["status"],
            "matched_count": result["matched_count"],
            "matched_amount": _money(result["matched_amount"]),
            "suggested_count": result["suggested_count"],
            "unmatched_line_count": result["unmatched_statement_lines"]["count"],
            "unmatched_line_total": _money(result["unmatched_statement_lines"]["total"]),
            "unmatched_book_count": result["unmatched_book_items"]["count"],
            "unmatched_book_total": _money(result["unmatched_book_items"]["total"]),
            "finalized": bool(snapshot and snapshot["status"] == ReconciliationState.FINALIZED),
            "snapshot": None
            if snapshot is None
            else {
                "id": snapshot["id"],
                "status": snapshot["status"],
                "prepared_by": snapshot["prepared_by"],
                "approved_by": snapshot["approved_by"],
                "approved_at": snapshot["approved_at"].isoformat() if snapshot["approved_at"] else None,
                # The day in the business's time zone (TIME_ZONE), as the controller saw it: the
                # UTC date of the moment read a day off in the evening or the early morning.
                "approved_on": timezone.localtime(snapshot["approved_at"]).date().isoformat()
                if snapshot["approved_at"]
                else None,
            },
        }

    def lines(self):
        found = _filters(self.request)
        status = self.request.GET.get("status", "open")
        statuses = {
            "open": [LineMatchStatus.UNMATCHED, LineMatchStatus.SUGGESTED],
            "unmatched": [LineMatchStatus.UNMATCHED],
            "suggested": [LineMatchStatus.SUGGESTED],
            "matched": [LineMatchStatus.MATCHED],
            "all": None,
        }
        if status not in statuses:
            raise BadRequest(f'"{status}" is not a line status; use {", ".join(statuses)}.', field="status")
        queryset = StatementLine.objects.filter(
            bank_account_id=self.account.pk,
            booking_date__gte=max(self.start, found["start"] or self.start),
            booking_date__lte=min(self.end, found["end"] or self.end),
        )
        if statuses[status] is not None:
            queryset = queryset.filter(match_status__in=statuses[status])
        queryset = _amount_filter(queryset, found["low"], found["high"])
        if found["text"]:
            text = found["text"]
            queryset = queryset.filter(
                Q(counterparty_name__icontains=text)
                | Q(narrative__icontains=text)
                | Q(bank_reference__icontains=text)
                | Q(end_to_end_id__icontains=text)
                | Q(pk=text)
            )
        rows, page = _page(
            queryset.order_by("booking_date", "line_number", "pk").values(
                "id",
                "booking_date",
                "amount",
                "counterparty_name",
                "bank_reference",
                "end_to_end_id",
                "fitid",
                "narrative",
                "match_status",
            ),
            self.request,
        )
        return {**page, "results": _line_rows(rows)}

    def books(self):
        found = _filters(self.request)
        status = self.request.GET.get("status", "open")
        window = datetime.timedelta(days=matching.match_date_window())
        queryset = BankTransaction.objects.filter(bank_account_id=self.account.pk)
        if status == "open":
            # What the matcher would consider: unmatched, not reversed, dated near the month.
            queryset = queryset.filter(
                reconciliation_status=ReconciliationStatus.UNRECONCILED,
                posting_status__in=[PostingStatus.DRAFT, PostingStatus.POSTED],
                transaction_date__gte=found["start"] or self.start - window,
                transaction_date__lte=found["end"] or self.end + 3 * window,
            )
        elif status in ("matched", "all"):
            queryset = queryset.filter(
                transaction_date__gte=found["start"] or self.start,
                transaction_date__lte=found["end"] or self.end,
            )
            if status == "matched":
                queryset = queryset.exclude(reconciliation_status=ReconciliationStatus.UNRECONCILED)
        else:
            raise BadRequest(f'"{status}" is not a book status; use open, matched or all.', field="status")
        # Book amounts are positive with a direction; the size filter reads them as they are.
        if found["low"] is not None:
            queryset = queryset.filter(amount__gte=found["low"])
        if found["high"] is not None:
            queryset = queryset.filter(amount__lte=found["high"])
        if found["text"]:
            text = found["text"]
            queryset = queryset.filter(
                Q(counterparty_name__icontains=text)
                | Q(description__icontains=text)
                | Q(reference__icontains=text)
                | Q(end_to_end_id__icontains=text)
                | Q(pk=text)
            )
        rows, page = _page(queryset.order_by("transaction_date", "pk").values(*BOOK_VALUES), self.request)
        return {**page, "results": _book_rows(rows)}

    def suggestions(self):
        """Return the open suggestions of the month, one entry per group, best score first."""
        found = _filters(self.request)
        rows = ReconciliationMatch.objects.filter(
            bank_account_id=self.account.pk,
            status=MatchStatus.SUGGESTED,
            statement_line__booking_date__gte=max(self.start, found["start"] or self.start),
            statement_line__booking_date__lte=min(self.end, found["end"] or self.end),
        )
        rows = _amount_filter(rows, found["low"], found["high"])
        if found["text"]:
            text = found["text"]
            rows = rows.filter(
                Q(reason__icontains=text)
                | Q(statement_line__counterparty_name__icontains=text)
                | Q(statement_line__narrative__icontains=text)
                | Q(bank_transaction__reference__icontains=text)
            )
        # Group keys in score order, read as plain values: a few thousand strings at most.
        ordered, seen = [], set()
        for key in rows.order_by("-score", "group_key").values_list("group_key", flat=True):
            if key not in seen:
                seen.add(key)
                ordered.append(key)
        page_size = _int(self.request.GET.get("page_size"), "page_size", PAGE_SIZE, high=MAX_PAGE_SIZE)
        page = _int(self.request.GET.get("page"), "page", 1)
        pages = max(1, -(-len(ordered) // page_size))
        page = min(page, pages)
        keys = ordered[(page - 1) * page_size : page * page_size]
        groups = {key: {"group_key": key, "lines": {}, "books": {}} for key in keys}
        for row in (
            ReconciliationMatch.objects.filter(group_key__in=keys, status=MatchStatus.SUGGESTED)
            .order_by("pk")
            .values(
                "id",
                "group_key",
                "score",
                "stage",
                "reason",
                "statement_line_id",
                "statement_line__booking_date",
                "statement_line__amount",
                "statement_line__counterparty_name",
                "statement_line__narrative",
                "bank_transaction_id",
                "bank_transaction__transaction_date",
                "bank_transaction__amount",
                "bank_transaction__direction",
                "bank_transaction__reference",
                "bank_transaction__counterparty_name",
            )
        ):
            group = groups[row["group_key"]]
            group.setdefault("match_id", row["id"])
            group.update(score=_money(row["score"]), stage=row["stage"], reason=row["reason"])
            group["lines"][row["statement_line_id"]] = {
                "id": row["statement_line_id"],
                "date": row["statement_line__booking_date"].isoformat(),
                "amount": _money(row["statement_line__amount"]),
                "text": row["statement_line__counterparty_name"] or row["statement_line__narrative"][:60],
            }
            amount = row["bank_transaction__amount"]
            group["books"][row["bank_transaction_id"]] = {
                "id": row["bank_transaction_id"],
                "date": row["bank_transaction__transaction_date"].isoformat(),
                "amount": _money(amount if row["bank_transaction__direction"] == "in" else -amount),
                "text": row["bank_transaction__counterparty_name"] or row["bank_transaction__reference"],
            }
        results = [
            {**group, "lines": list(group["lines"].values()), "books": list(group["books"].values())}
            for key in keys
            if "match_id" in (group := groups[key])
        ]
        return {
            "count": len(ordered),
            "page": page,
            "pages": pages,
            "page_size": page_size,
            "results": results,
        }

    # Writes

    def _own_lines(self, ids):
        """Refuse statement lines of another account: this page changes its own account only."""
        self._own(StatementLine, ids, "Statement line", "statement_line_ids")

    def _own_transactions(self, ids):
        self._own(BankTransaction, ids, "Bank transaction", "transaction_ids")

    def _own(self, model, ids, label, field):
        if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            other = model.objects.filter(pk__in=ids).exclude(bank_account_id=self.account.pk).first()
            if other is not None:
                raise BadRequest(
                    f"{label} {other.pk} belongs to {other.bank_account_id}, not {self.account.pk}.",
                    field=field,
                )

    def run_matcher(self):
        _require(self.request, MATCH_PERMISSION, "run the matcher")
        _body(self.request, ())
        # The snapshot is saved with the run, as `reconcile --match` does: whoever runs the month
        # prepares it, and a controller can then sign it off here.
        _snapshot, _result, run = reconciliation.reconciliation_run(
            bank_account_id=self.account.pk, period=self.period, user=self.request.user
        )
        return {
            "message": f"Matcher: {run.lines_matched} of {run.lines_considered} open line(s) matched, "
            f"{run.lines_suggested} with suggestions. The month's snapshot is saved with you as its "
            "preparer; under segregation of duties someone else signs it off.",
            "run": run.as_dict(),
        }

    def _decide(self, service, verb):
        _require(self.request, MATCH_PERMISSION, f"{verb} suggestions")
        ids = _body(self.request, ("match_ids",)).get("match_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise BadRequest("Give match_ids: a non-empty list of suggestion ids.", field="match_ids")
        if len(ids) > MAX_BATCH:
            raise BadRequest(f"At most {MAX_BATCH} suggestions at a time.", field="match_ids")
        others = set(
            ReconciliationMatch.objects.filter(pk__in=ids)
            .exclude(bank_account_id=self.account.pk)
            .values_list("pk", flat=True)
        )
        done, refused = [], []
        # Each suggestion is its own decision: one that was overtaken (its line matched
        # meanwhile) is reported and the others still go through.
        for match_id in dict.fromkeys(ids):
            if match_id in others:
                refused.append({"match_id": match_id, "error": f"{match_id} is not a match of this account."})
                continue
            try:
                service(match_id=match_id, user=self.request.user)
            except DomainError as exc:
                refused.append({"match_id": match_id, "error": exc.message})
            else:
                done.append(match_id)
        past = {"accept": "accepted", "reject": "rejected"}[verb]
        message = f"{len(done)} suggestion(s) {past}."
        if refused:
            message += f" {len(refused)} refused: " + "; ".join(item["error"] for item in refused[:3])
        return {"message": message, "done": done, "refused": refused}

    def accept(self):
        return self._decide(matching.match_accept, "accept")

    def reject(self):
        return self._decide(matching.match_reject, "reject")

    def match(self):
        _require(self.request, MATCH_PERMISSION, "match statement lines")
        data = _body(self.request, ("statement_line_ids", "transaction_ids", "note"))
        note = data.get("note", "")
        if not isinstance(note, str) or len(note) > 200:
            raise BadRequest("The note is text of at most 200 characters.", field="note")
        self._own_lines(data.get("statement_line_ids"))
        rows = matching.match_manual(
            statement_line_ids=data.get("statement_line_ids"),
            transaction_ids=data.get("transaction_ids"),
            user=self.request.user,
            note=note,
        )
        lines = sorted({row.statement_line_id for row in rows})
        books = sorted({row.bank_transaction_id for row in rows})
        return {
            "message": f"Matched {', '.join(lines)} with {', '.join(books)}.",
            "group_key": rows[0].group_key,
        }

    def unmatch(self):
        _require(self.request, MATCH_PERMISSION, "unmatch statement lines")
        data = _body(self.request, ("statement_line_ids", "transaction_ids"))
        self._own_lines(data.get("statement_line_ids"))
        self._own_transactions(data.get("transaction_ids"))
        freed = matching.match_undo(
            user=self.request.user,
            statement_line_ids=data.get("statement_line_ids") or (),
            transaction_ids=data.get("transaction_ids") or (),
        )
        return {"message": f"Unmatched {len(freed)} statement line(s).", "statement_line_ids": freed}

    def create_transaction(self):
        _require(self.request, MATCH_PERMISSION, "record a transaction from a statement line")
        data = _body(
            self.request,
            ("statement_line_id", "transaction_type", "description", "post", *SENT_AS.values()),
        )
        post = data.get("post") is True
        if post:
            _require(self.request, POST_PERMISSION, "post bank transactions")
        line_id = data.get("statement_line_id")
        if (
            not isinstance(line_id, str)
            or not StatementLine.objects.filter(pk=line_id, bank_account_id=self.account.pk).exists()
        ):
            raise BadRequest("Choose a statement line of this account.", field="statement_line_id")
        extra = {}
        for field, model, label in DIMENSION_FIELDS:
            value = data.get(field) or None
            if value is not None and (
                not isinstance(value, str) or not model.objects.filter(pk=value).exists()
            ):
                raise BadRequest(f'No {label} has the id "{value}".', field=field)
            extra[field] = value
        description = data.get("description", "")
        if not isinstance(description, str) or len(description) > 255:
            raise BadRequest("The description is text of at most 255 characters.", field="description")
        transaction_type = data.get("transaction_type")
        if not isinstance(transaction_type, str):
            raise BadRequest("Choose a transaction type.", field="transaction_type")

        # Recording and posting go together: a posting refused leaves no half-done transaction,
        # and a lock conflict retries both (the services cannot retry inside our transaction).
        @locks.atomic_with_retry
        def record():
            txn, _match = matching.statement_line_create_transaction(
                statement_line_id=line_id,
                user=self.request.user,
                transaction_type=transaction_type,
                description=description,
                **extra,
            )
            if post:
                bank_transaction_post(transaction_id=txn.pk, user=self.request.user)
            return txn

        try:
            txn = record()
        except DjangoValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            # The service names the model's fields; the client sent cost_center_id, not cost_center.
            raise DjangoValidationError(
                {SENT_AS.get(field, field): errors for field, errors in exc.error_dict.items()}
            ) from exc
        except DomainError as exc:
            exc.field = SENT_AS.get(exc.field, exc.field)
            raise
        state = "recorded and posted" if post else "recorded as a draft"
        if not post and segregation_enforced():
            state += " (someone else posts it: segregation of duties)"
        return {
            "message": f"Bank transaction {txn.pk} {state} and matched to {line_id}.",
            "transaction_id": txn.pk,
        }

    def finalize(self):
        _require(self.request, FINALIZE_PERMISSION, "sign off reconciliations")
        note = _body(self.request, ("note",)).get("note", "")
        if not isinstance(note, str) or len(note) > reconciliation.SIGN_OFF_NOTE_MAX:
            raise BadRequest(
                f"The note is text of at most {reconciliation.SIGN_OFF_NOTE_MAX} characters.", field="note"
            )
        snapshot, result = reconciliation.reconciliation_finalize(
            bank_account_id=self.account.pk, period=self.period, user=self.request.user, note=note
        )
        return {
            "message": f"Reconciliation of {self.account.pk} for {self.period} signed off; "
            f"variance {_money(result['variance'])}.",
            "reconciliation_id": snapshot.pk,
        }


READS = {"summary", "lines", "books", "suggestions"}
WRITES = {
    "run-matcher": "run_matcher",
    "accept": "accept",
    "reject": "reject",
    "match": "match",
    "unmatch": "unmatch",
    "create-transaction": "create_transaction",
    "finalize": "finalize",
}


# --- Period helpers --------------------------------------------------------------------


def _shift(period, months):
    year, month = int(period[:4]), int(period[5:])
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def default_period(account=None):
    """Return the month of the latest statement line (of ``account``), else of its latest
    transaction dated up to today, else the current month.

    Without any statement yet (a new account, the demo company before its first
    import), today's month is usually empty: the latest month with book items is
    where the work is.
    """
    lines = (
        StatementLine.objects.all() if account is None else StatementLine.objects.filter(bank_account=account)
    )
    latest = lines.aggregate(day=Max("booking_date"))["day"]
    if latest is None:
        today = timezone.localdate()
        books = BankTransaction.objects.filter(transaction_date__lte=today)
        if account is not None:
            books = books.filter(bank_account=account)
        latest = books.aggregate(day=Max("transaction_date"))["day"] or today
    return AccountingPeriod.code_for(latest)


def dashboard_default_period(currency=None):
    """Return the month of the latest line, dated up to today, on the GL accounts of the bank accounts
    (of ``currency``), else the current month: the dashboard opens on a month with money in it."""
    today = timezone.localdate()
    banks = BankAccount.objects.all()
    if currency:
        banks = banks.filter(currency__iexact=currency)
    entries = JournalEntry.objects.filter(entry_date__lte=today, account_id__in=banks.values("gl_account_id"))
    latest = entries.aggregate(day=Max("entry_date"))["day"]
    return AccountingPeriod.code_for(latest or today)


def dashboard_default_currency(currencies):
    """Return, of ``currencies`` (the bank accounts'), the one whose books moved last (up to today)."""
    if len(currencies) < 2:
        return currencies[0] if currencies else None
    today = timezone.localdate()
    latest = {
        currency: JournalEntry.objects.filter(
            entry_date__lte=today,
            account_id__in=BankAccount.objects.filter(currency__iexact=currency).values("gl_account_id"),
        ).aggregate(day=Max("entry_date"))["day"]
        for currency in currencies
    }
    # The latest day wins; a currency with no lines yet comes last; ties keep the list's order.
    return max(currencies, key=lambda currency: latest[currency] or datetime.date.min)


# --- The admin hooks -------------------------------------------------------------------


class BankAccountWorkbenchMixin:
    """Add the workbench and the cash dashboard to the bank account admin."""

    change_list_template = "admin/banking/workbench/bankaccount_change_list.html"
    workbench_template = "admin/banking/workbench/reconcile.html"
    dashboard_template = "admin/banking/dashboard/dashboard.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("cash-dashboard/", view(self.dashboard_view), name=f"{info}_dashboard"),
            path(
                "<str:object_id>/reconcile/", view(self.workbench_start_view), name=f"{info}_reconcile_start"
            ),
            path(
                "<str:object_id>/reconcile/<str:period>/", view(self.workbench_view), name=f"{info}_reconcile"
            ),
            path(
                "<str:object_id>/reconcile/<str:period>/<str:action>/",
                view(self.workbench_api_view),
                name=f"{info}_reconcile_api",
            ),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        # Offered only to whoever may open the workbench: a link to a 403 is a dead end.
        if not request.user.has_perms(VIEW_PERMISSIONS):
            return super().get_list_display(request)
        return (*super().get_list_display(request), "reconcile_link")

    @staticmethod
    def _account_or_404(object_id):
        account = BankAccount.objects.filter(pk=object_id).first()
        if account is None:
            raise Http404(f'No bank account has the id "{object_id}".')
        return account

    @staticmethod
    def _check_view(request, permissions=VIEW_PERMISSIONS):
        if not request.user.has_perms(permissions):
            missing = ", ".join(p for p in permissions if not request.user.has_perm(p))
            raise PermissionDenied(f"You do not have the permission to see this ({missing}).")

    def reconcile_link(self, obj):
        return format_html(
            '<a href="{}">Reconcile</a>', reverse("admin:banking_bankaccount_reconcile_start", args=[obj.pk])
        )

    reconcile_link.short_description = "reconcile"

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_see_dashboard": request.user.has_perms(DASHBOARD_PERMISSIONS),
        }
        return super().changelist_view(request, extra_context)

    def workbench_start_view(self, request, object_id):
        self._check_view(request)
        account = self._account_or_404(object_id)
        url = reverse("admin:banking_bankaccount_reconcile", args=[account.pk, default_period(account)])
        return HttpResponseRedirect(url)

    def workbench_view(self, request, object_id, period):
        self._check_view(request)
        account = self._account_or_404(object_id)
        try:
            matching.period_bounds(period)
        except DomainError as exc:
            messages.error(request, f'"{period}": {exc.message}')
            return HttpResponseRedirect(
                reverse("admin:banking_bankaccount_reconcile_start", args=[account.pk])
            )
        user = request.user
        types = [
            {"value": value, "label": label, "direction": TYPE_DIRECTION.get(value, "")}
            for value, label in TransactionType.choices
            if value != TransactionType.TRANSFER  # a transfer is recorded as a transfer, with both legs
        ]

        def options(model):
            return [{"value": pk, "label": f"{code} {name}"} for pk, code, name in _active(model)]

        config = {
            "api": reverse("admin:banking_bankaccount_reconcile_api", args=[account.pk, period, "summary"])[
                : -len("summary/")
            ],
            "period": period,
            "account": account.pk,
            "can_match": user.has_perm(MATCH_PERMISSION),
            # Under segregation of duties the one who records a transaction never posts it,
            # so "post it now" would always be refused: not offered.
            "can_post": user.has_perm(POST_PERMISSION) and not segregation_enforced(),
            "can_finalize": user.has_perm(FINALIZE_PERMISSION),
            "transaction_types": types,
            "cost_centers": options(CostCenter),
            "projects": options(Project),
            "departments": options(Department),
            "branches": options(Branch),
            "transaction_url": reverse("admin:banking_banktransaction_change", args=["__id__"]),
            "line_url": reverse("admin:banking_statementline_change", args=["__id__"]),
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reconcile {account.name} — {period}",
            "account": account,
            "period": period,
            "previous_url": reverse(
                "admin:banking_bankaccount_reconcile", args=[account.pk, _shift(period, -1)]
            ),
            "next_url": reverse("admin:banking_bankaccount_reconcile", args=[account.pk, _shift(period, 1)]),
            "import_url": reverse("admin:banking_bankstatement_import"),
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            "can_see_dashboard": request.user.has_perms(DASHBOARD_PERMISSIONS),
            "dashboard_url": reverse("admin:banking_bankaccount_dashboard") + f"?period={period}",
            "workbench_config": config,
        }
        return TemplateResponse(request, self.workbench_template, context)

    def workbench_api_view(self, request, object_id, period, action):
        try:
            self._check_view(request)
            account = BankAccount.objects.filter(pk=object_id).first()
            if account is None:
                raise NotFoundError(f'No bank account has the id "{object_id}".', field="bank_account_id")
            bench = Workbench(request, account, period)
            if action in READS:
                if request.method != "GET":
                    return JsonResponse({"error": "Read this with GET."}, status=405)
                return JsonResponse(getattr(bench, action)())
            if action in WRITES:
                if request.method != "POST":
                    return JsonResponse({"error": "Change this with POST."}, status=405)
                return JsonResponse(getattr(bench, WRITES[action])())
            return JsonResponse({"error": f'"{action}" is not something the workbench does.'}, status=404)
        except (DomainError, DjangoValidationError, PermissionDenied) as exc:
            return _error_response(exc)

    # --- Cash dashboard ---

    def dashboard_view(self, request):
        self._check_view(request, DASHBOARD_PERMISSIONS)
        # Totals never add two currencies: with accounts in several, the dashboard shows one at a time.
        currencies = reports.account_currencies()
        currency = (request.GET.get("currency") or "").upper()
        if currency not in currencies:
            if currency:
                messages.error(request, f'No bank account is kept in "{currency}".')
            currency = dashboard_default_currency(currencies)
        period = request.GET.get("period") or dashboard_default_period(currency)
        try:
            matching.period_bounds(period)
        except DomainError as exc:
            messages.error(request, f'"{period}": {exc.message}')
            period = dashboard_default_period(currency)
        data = cash_dashboard_data(period, currency)
        shown = f"&currency={currency}" if len(currencies) > 1 else ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Cash dashboard — {period}" + (f" — {currency}" if len(currencies) > 1 else ""),
            "period": period,
            "currency": currency,
            "currencies": currencies if len(currencies) > 1 else [],
            "previous_url": f"?period={_shift(period, -1)}{shown}",
            "next_url": f"?period={_shift(period, 1)}{shown}",
            "dashboard": data,
            "chart_data": data["charts"],
            # Links offered only to whoever may follow them (a 403 is a dead end).
            "can_reconcile": request.user.has_perms(VIEW_PERMISSIONS),
        }
        return TemplateResponse(request, self.dashboard_template, context)


def _active(model):
    return model.objects.filter(is_active=True).order_by("code").values_list("pk", "code", "name")


class ReconciliationWorkbenchLinkMixin:
    """Add a link to the workbench on each reconciliation of the list."""

    def get_list_display(self, request):
        return (*super().get_list_display(request), "workbench_link")

    def workbench_link(self, obj):
        url = reverse("admin:banking_bankaccount_reconcile", args=[obj.bank_account_id, obj.period_id])
        return format_html('<a href="{}">Open workbench</a>', url)

    workbench_link.short_description = "workbench"


# --- The dashboard's numbers ------------------------------------------------------------


def _words(code):
    return code.replace("_", " ") if code else code


def cash_dashboard_data(period, currency=None):
    """Return what the cash dashboard shows for ``period`` and the accounts kept in ``currency``."""
    accounts = list(reports.report_accounts(currency=currency))
    balance_series = []
    for account in accounts:
        position = reports.cash_position_get(period=period, bank_account_id=account.pk)
        balance_series.append(
            {
                "label": f"{account.name} ({account.currency})",
                "data": [_money(day["closing_balance"]) for day in position["daily"]],
            }
        )
    overall = reports.cash_position_get(period=period, currency=currency)
    days = [day["date"].isoformat() for day in overall["daily"]]
    flows = {}
    for name, rows in overall["by_dimension"].items():
        flows[name] = {
            "labels": [("  " * row["level"]) + (row["name"] or row["key"]) for row in rows],
            "inflow": [_money(row["inflow"]) for row in rows],
            "outflow": [_money(row["outflow"]) for row in rows],
        }
    variance = reports.variance_report_get(period=period, currency=currency)
    names = {account.pk: account.name for account in accounts}
    alerts = [
        {
            "kind": "Book against statement" if alert["kind"] == "book_vs_statement" else "Branch cash",
            "account": names.get(alert["bank_account_id"], alert["bank_account_id"] or "all accounts"),
            "branch": alert["branch_id"] or "",
            "variance": _money(alert["variance"]),
        }
        for alert in variance["alerts"]
    ]
    account_rows = [
        {
            **row,
            # In words, as the workbench shows them ("out of balance", not out_of_balance).
            "balance_status": _words(row["balance_status"]),
            "reconciliation_status": _words(row["reconciliation_status"]),
            "book_closing_balance": _money(row["book_closing_balance"]),
            "statement_closing_balance": _money(row["statement_closing_balance"]),
            "variance": _money(row["variance"]),
            "reconcile_url": reverse(
                "admin:banking_bankaccount_reconcile", args=[row["bank_account_id"], period]
            ),
        }
        for row in variance["accounts"]
    ]
    in_transit = []
    for account in accounts:
        tracking = reports.transfer_tracking_get(bank_account_id=account.pk, period=period)
        # Each transfer shows once: from the account it left.
        for item in tracking["outgoing"]:
            if (
                item["status"] in (TransferStatus.INITIATED, TransferStatus.IN_TRANSIT)
                or item["needs_attention"]
            ):
                in_transit.append(
                    {
                        "id": item["id"],
                        "from": names.get(item["from_bank_account_id"], item["from_bank_account_id"]),
                        "to": names.get(item["to_bank_account_id"], item["to_bank_account_id"]),
                        "amount": _money(item["amount"]),
                        "status": TransferStatus(item["status"]).label,
                        "initiated_date": item["initiated_date"],
                        "days": item["days_in_transit"],
                        "attention": ", ".join(
                            reason.replace("_", " ") for reason in item["attention_reasons"]
                        ),
                    }
                )
    return {
        "totals": {key: _money(value) for key, value in overall["totals"].items() if key != "line_count"},
        "threshold": _money(variance["threshold"]),
        "accounts": account_rows,
        "alerts": alerts,
        # The panel lists what is still open or needs a look; the card counts what is in transit,
        # as transfer tracking's in_transit_count does.
        "in_transit": in_transit,
        "in_transit_count": sum(item["status"] == TransferStatus.IN_TRANSIT.label for item in in_transit),
        "charts": {"days": days, "balances": balance_series, "flows": flows},
    }
