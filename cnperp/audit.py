"""The audit trail: every change to a financial record says who made it, when, and what changed.

Rule 8 of the brief. The entries are django-auditlog's ``LogEntry`` rows
(table ``auditlog_logentry``), written two ways:

- **Model signals**, for records saved one at a time (a clerk's draft, a bank
  account, a posting rule, a reconciliation snapshot): auditlog compares the row
  before and after and stores each changed field as ``[old, new]``. The models
  are listed in ``AUDITED`` and registered by :func:`register` when the project
  app is ready.
- **Explicit entries** through :func:`record`, for the services that change
  many rows with one UPDATE or INSERT, which no signal sees: posting, batch
  posting, reversal and correction, matching and unmatching, finalizing a
  reconciliation, closing and reopening a period. One entry per record, written
  with one multi-row INSERT, naming the event (``additional_data["event"]``).

Who: for a request, the signed-in user, whether the admin's session or the
API's token (:class:`AuditMiddleware` reads the user when the entry is written,
after DRF has authenticated the request). Outside a request (a command run
from cron) the user the service stamped on the record (``updated_by``, or
``created_by`` for a new one). Explicit entries name the service's user.

Statement lines and matches are written and deleted by the thousand, so their
rows are not watched by signals (a signal per deleted suggestion would turn one
DELETE into thousands of INSERTs); their changes are explicit entries.

Entries are never edited: the admin shows them read-only to everyone,
superusers included (``cnperp.audit_admin``).
"""

import contextvars
import json

from auditlog import get_logentry_model
from auditlog.cid import get_cid
from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import F
from django.db.models.signals import pre_save
from django.utils import timezone

from cnperp.bulk_sql import rows_insert
from cnperp.client_address import client_address
from cnperp.jsonlog import current_request_id

# Who and when are the entry's own columns; the record's stamps would only repeat them.
STAMPS = ["created_at", "updated_at", "created_by", "updated_by"]

# Every financial record, with the fields its signal entries leave out and why.
AUDITED = {
    "dimensions.CostCenter": {},
    "dimensions.Project": {},
    "dimensions.Department": {},
    "dimensions.Branch": {},
    "accounting.GLAccount": {},
    # Close and reopen are explicit entries from the period services, with their user.
    "accounting.AccountingPeriod": {"exclude_fields": ["status", "closed_at", "closed_by"]},
    "banking.BankAccount": {},
    "banking.BankTransaction": {},
    "banking.BankTransfer": {},
    "banking.BankTransferAllocation": {},
    "banking.CashSubmission": {},
    "banking.FloatAllocation": {},
    "banking.FloatReturn": {},
    "banking.PostingRule": {},
    "banking.StatementCsvProfile": {},
    "banking.BankStatement": {},
    # The breakdown is recomputed on every refresh and can run to pages; its totals are kept.
    "banking.BankReconciliation": {"exclude_fields": ["dimension_breakdown"]},
}
# Written in bulk only: explicit entries, no signals (see the module docstring).
EXPLICIT_ONLY = ("banking.StatementLine", "banking.ReconciliationMatch")

_current_request = contextvars.ContextVar("cnperp_audit_request", default=None)
_logged_instance = contextvars.ContextVar("cnperp_audit_instance", default=None)


def audited_models():
    """Return every model whose records the audit trail covers."""
    return [apps.get_model(label) for label in (*AUDITED, *EXPLICIT_ONLY)]


def register():
    """Register the financial records with auditlog and fill in their entries' actor (once, at start-up)."""
    for label, options in AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            exclude = [*STAMPS, *options.get("exclude_fields", [])]
            auditlog.register(model, exclude_fields=exclude)
    log_entry = get_logentry_model()
    pre_log.connect(_note_instance, dispatch_uid="cnperp-audit-instance")
    pre_save.connect(_fill_actor, sender=log_entry, dispatch_uid="cnperp-audit-actor")


def request_id():
    """Return the current request's id (``AUDITLOG_CID_GETTER``): entries and log lines share it."""
    value = current_request_id.get()
    return None if value == "-" else value


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware (remote address, correlation id), plus the user as DRF authenticates them.

    auditlog reads ``request.user`` when the request comes in, before DRF's
    token authentication has run; this keeps the request at hand so the user is
    read when an entry is written, by which time DRF has set it.
    """

    @staticmethod
    def _get_remote_addr(request):
        # auditlog takes the first X-Forwarded-For address, which the client writes itself.
        if getattr(settings, "AUDITLOG_DISABLE_REMOTE_ADDR", False):
            return None
        return client_address(request) or None

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return super().__call__(request)
        finally:
            _current_request.reset(token)


def _request_user():
    request = _current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None


def _note_instance(sender, instance, action, **kwargs):
    _logged_instance.set((instance, action))


def _stamped_user(instance, action):
    """Return the user a service stamped on ``instance`` for this change, if it has stamps."""
    log_entry = get_logentry_model()
    field = {log_entry.Action.CREATE: "created_by_id", log_entry.Action.UPDATE: "updated_by_id"}.get(action)
    user_id = getattr(instance, field, None) if field else None
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def _fill_actor(sender, instance, **kwargs):
    """Name the actor of a signal entry: the request's user, else the user stamped on the record."""
    noted = _logged_instance.get()
    _logged_instance.set(None)
    if instance.actor_id is not None:
        return
    user = _request_user()
    if user is None and noted is not None:
        user = _stamped_user(*noted)
    if user is not None:
        instance.actor = user
        instance.actor_email = user.email or None


def _text(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


ENTRY_COLUMNS = (
    "content_type_id",
    "object_pk",
    "object_repr",
    "action",
    "changes_text",
    "changes",
    "actor_id",
    "actor_email",
    "cid",
    "remote_addr",
    "remote_port",
    "timestamp",
    "additional_data",
)
INSERT_CHUNK = 2000


def record(event, model, objects, *, user, new, old=None, details=None, action=None):
    """Write one audit entry per record of ``objects`` for a change a service made in bulk; return how many.

    ``objects`` are instances of ``model``, their keys, or a queryset of keys
    (``values_list("pk", flat=True)``, written by one ``INSERT ... SELECT``
    without the keys leaving the database). ``new`` maps each changed field to
    its new value (a callable gets the key and returns it; not with a
    queryset), ``old`` to the value before when the service knows it.
    ``event`` names what happened in finance staff's words ("post",
    "reverse", "auto-match"); ``details`` add context (a reference, a reason).
    Call it inside the service's transaction: the entries commit or roll back
    with the change. Written as plain multi-row INSERTs: a matcher run records
    tens of thousands of these.
    """
    log_entry = get_logentry_model()
    meta = log_entry._meta
    actor = user if isinstance(user, get_user_model()) and user.pk is not None else None
    context = auditlog_value.get({})
    old = old or {}
    constant = {
        "content_type_id": ContentType.objects.get_for_model(model).pk,
        "action": log_entry.Action.UPDATE if action is None else action,
        "changes_text": "",
        "actor_id": actor.pk if actor else None,
        "actor_email": (actor.email or None) if actor else None,
        "cid": get_cid(),
        "remote_addr": context.get("remote_addr"),
        "remote_port": context.get("remote_port"),
        "timestamp": connection.ops.adapt_datetimefield_value(timezone.now()),
        "additional_data": _json({"event": event, **{k: _text(v) for k, v in (details or {}).items()}}),
    }
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ENTRY_COLUMNS)
    table = quote(meta.db_table)
    if isinstance(objects, models.QuerySet):
        if any(callable(value) for value in new.values()):
            raise TypeError("A queryset of keys takes the same new values for every record.")
        constant["changes"] = _json({f: [_text(old.get(f)), _text(v)] for f, v in new.items()})
        # One known column, and no default ordering (it would add columns to a DISTINCT).
        (name,) = objects.query.values_select
        objects = objects.order_by().annotate(audit_key=F(name)).values_list("audit_key", flat=True)
        keys_sql, keys_params = objects.query.sql_with_params()
        key = "k.audit_key"
        selected = ", ".join(key if name in ("object_pk", "object_repr") else "%s" for name in ENTRY_COLUMNS)
        params = [constant[name] for name in ENTRY_COLUMNS if name not in ("object_pk", "object_repr")]
        # Only quoted names and Django's own compiled subquery are interpolated; values are parameters.
        sql = f"INSERT INTO {table} ({columns}) SELECT {selected} FROM ({keys_sql}) AS k"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *keys_params])
            return cursor.rowcount
    rows = []
    for obj in objects:
        is_instance = isinstance(obj, models.Model)
        key = obj.pk if is_instance else obj
        values = {
            **constant,
            "object_pk": str(key),
            "object_repr": str(obj) if is_instance else str(key),
            "changes": _json(
                {f: [_text(old.get(f)), _text(v(key) if callable(v) else v)] for f, v in new.items()}
            ),
        }
        rows.append(tuple(values[name] for name in ENTRY_COLUMNS))
    rows_insert(
        meta.db_table,
        [meta.get_field(name).column for name in ENTRY_COLUMNS],
        rows,
        repeated=[ENTRY_COLUMNS.index(name) for name in constant],
        chunk_rows=INSERT_CHUNK,
    )
    return len(rows)


def _json(value):
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
