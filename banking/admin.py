"""Admin for banking: accounts, transactions, branch cash, transfers, statements, reconciliations.

Bank transactions, cash submissions and float allocations are written through
``banking.services`` while they are drafts, so the admin refuses what the API
refuses; once posted (or reversed) they are final and shown read-only. A
transfer is created with its allocations and its sending leg in one service
call; its arrival and failure are admin actions. Statements and their lines
come from imports and are read-only; a finalized reconciliation is locked.

Bank transactions and statement lines run to millions of rows: the changelists
join what they show in one query, skip the full count and facet counts, and
search on indexed columns (exact ids, reference prefixes).

Posting, reversal, matching and reconciling are services of their own
(``banking.posting``, the importers and the matcher); their admin actions go in
each admin's ``actions`` (post and reverse: ``banking.admin_posting``).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from accounting.admin import period_filter
from banking.admin_import import StatementImportAdminMixin
from banking.admin_posting import (
    BankTransactionActionsMixin,
    CashSubmissionActionsMixin,
    FloatAllocationActionsMixin,
)
from banking.admin_workbench import BankAccountWorkbenchMixin, ReconciliationWorkbenchLinkMixin
from banking.choices import TYPE_DIRECTION, PostingStatus, TransactionType, TransferStatus
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    FloatReturn,
    PostingRule,
    ReconciliationMatch,
    StatementCsvProfile,
    StatementLine,
    compact_code,
)
from banking.services import (
    bank_account_update,
    bank_transaction_create,
    bank_transaction_delete,
    bank_transaction_update,
    bank_transfer_create,
    bank_transfer_fail,
    bank_transfer_receive,
    cash_submission_create,
    cash_submission_delete,
    cash_submission_update,
    float_allocation_create,
    float_allocation_delete,
    float_allocation_update,
    transfer_allocations_check,
)
from cnperp.admin import (
    AUDIT_FIELDS,
    AUDIT_FIELDSET,
    REFUSALS,
    ActiveChoicesMixin,
    DraftDocumentAdmin,
    RefusalAdmin,
    ServiceRefused,
    TrackedAdmin,
    ViewOnlyAdmin,
    ViewOnlyInline,
    copy_saved,
    money,
    money_column,
    refusal_message,
    stamp,
)
from dimensions.validation import check_active_dimensions

DIMENSIONS = ("cost_center", "project", "department")
POSTING_FIELDS = ("posting_status", "gl_posting", "posted_at", "posted_by")


def gl_posting_link(obj, reference=None):
    """Link a document to its posting in the ledger screens."""
    reference = reference or obj.gl_reference
    if not reference:
        return None
    url = reverse("admin:accounting_journalposting_changelist") + "?" + urlencode({"reference": reference})
    return format_html('<a href="{}">{}</a>', url, reference)


class BankCodeFormField(forms.CharField):
    """An IBAN or BIC typed in groups or in lower case, compact in capitals before its length is checked."""

    def to_python(self, value):
        return compact_code(super().to_python(value))


@admin.register(BankAccount)
class BankAccountAdmin(BankAccountWorkbenchMixin, ActiveChoicesMixin, RefusalAdmin, TrackedAdmin):
    list_display = ("id", "name", "bank_name", "account_number", "iban", "currency", "gl_account", "branch")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("iban", "bic"):
            # Room in the box for the spaces of an IBAN written in groups (4 characters each).
            kwargs.update(form_class=BankCodeFormField)
            field = super().formfield_for_dbfield(db_field, request, **kwargs)
            field.widget.attrs["maxlength"] = db_field.max_length + db_field.max_length // 4
            return field
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    list_display_links = ("id", "name")
    list_filter = ("is_active", "currency", "bank_name", "branch")
    list_select_related = ("gl_account", "branch")
    search_fields = ("=id", "name", "bank_name", "account_number", "iban")
    autocomplete_fields = ("gl_account", "branch")
    fieldsets = (
        (None, {"fields": ("id", "name", "bank_name", "currency", "is_active")}),
        ("Identification", {"fields": ("account_number", "iban", "bic")}),
        ("Ledger and branch", {"fields": ("gl_account", "branch")}),
        AUDIT_FIELDSET,
    )

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The form showed the model's refusal already; the service repeats it under the
        # row lock, so a document posted meanwhile still keeps the GL account and currency.
        data = {name: getattr(obj, name) for name in form.changed_data if name in form.cleaned_data}
        try:
            saved = bank_account_update(bank_account_id=obj.pk, user=request.user, **data)
        except REFUSALS as exc:
            raise ServiceRefused(exc) from exc
        copy_saved(saved, obj)


# --- Bank transactions -------------------------------------------------------


class BankTransactionForm(forms.ModelForm):
    def clean(self):
        cleaned_data = super().clean()
        kind = cleaned_data.get("transaction_type")
        if kind and not cleaned_data.get("direction"):
            # The type alone says which way a deposit or a fee moves money (as the
            # model's save() does); the database's direction check needs it now.
            implied = TYPE_DIRECTION.get(kind)
            if implied is None:
                label = TransactionType(kind).label.lower()
                self.add_error("direction", f"A {label} needs a direction, in or out.")
            else:
                cleaned_data["direction"] = implied
        return cleaned_data


@admin.register(BankTransaction)
class BankTransactionAdmin(BankTransactionActionsMixin, DraftDocumentAdmin):
    form = BankTransactionForm
    create_service = staticmethod(bank_transaction_create)
    update_service = staticmethod(bank_transaction_update)
    delete_service = staticmethod(bank_transaction_delete)
    service_key = "transaction_id"

    list_display = (
        "id",
        "transaction_date",
        "bank_account",
        "transaction_type",
        "amount_money",
        "reference",
        "counterparty_name",
        "branch",
        "cost_center",
        "project",
        "department",
        "posting_status",
        "reconciliation_status",
    )
    list_filter = (
        period_filter("transaction_date"),
        "posting_status",
        "reconciliation_status",
        "transaction_type",
        "direction",
        "bank_account",
        "branch",
        "cost_center",
        "project",
        "department",
    )
    list_select_related = ("bank_account", "branch", *DIMENSIONS)
    search_fields = ("=id", "^reference", "=end_to_end_id", "^counterparty_name")
    search_help_text = "An exact id or end-to-end id, or the start of a reference or counterparty name."
    date_hierarchy = "transaction_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ("bank_account", "branch", *DIMENSIONS)
    readonly_fields = (
        *POSTING_FIELDS,
        "reconciliation_status",
        "reconciled_at",
        "transfer",
        "corrects",
        *AUDIT_FIELDS,
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "bank_account",
                    "transaction_type",
                    "direction",
                    "amount",
                    "transaction_date",
                    "value_date",
                )
            },
        ),
        (
            "Reference and counterparty",
            {
                "fields": (
                    "reference",
                    "end_to_end_id",
                    "description",
                    "counterparty_name",
                    "counterparty_account",
                )
            },
        ),
        ("Branch and dimensions", {"fields": ("branch", *DIMENSIONS)}),
        (
            "Posting and reconciliation",
            {
                "fields": (
                    *POSTING_FIELDS,
                    "reconciliation_status",
                    "reconciled_at",
                    "transfer",
                    "corrects",
                )
            },
        ),
        AUDIT_FIELDSET,
    )
    # Post, reverse, and reverse and correct (banking.admin_posting, through banking.posting).
    actions = BankTransactionActionsMixin.actions

    amount_money = money_column("signed_amount", "amount", ordering="amount")

    @admin.display(description="GL posting")
    def gl_posting(self, obj):
        return gl_posting_link(obj)


# --- Branch cash ---------------------------------------------------------------


@admin.register(CashSubmission)
class CashSubmissionAdmin(CashSubmissionActionsMixin, DraftDocumentAdmin):
    create_service = staticmethod(cash_submission_create)
    update_service = staticmethod(cash_submission_update)
    delete_service = staticmethod(cash_submission_delete)
    service_key = "submission_id"

    def service_data(self, obj, form, change):
        data = super().service_data(obj, form, change)
        if "status" not in form.changed_data:
            # The form always sends its status; left as it was, it follows the deposited amount
            # (as when an API request leaves it out), rather than contradicting it.
            data.pop("status", None)
        return data

    list_display = (
        "id",
        "submission_date",
        "branch",
        "bank_account",
        "expected_money",
        "deposited_money",
        "variance_money",
        "status",
        "cost_center",
        "project",
        "department",
        "posting_status",
    )
    list_filter = (
        period_filter("submission_date"),
        "status",
        "posting_status",
        "bank_account",
        "branch",
        *DIMENSIONS,
    )
    list_select_related = ("branch", "bank_account", *DIMENSIONS)
    search_fields = ("=id", "^reference", "^submitted_by_name")
    date_hierarchy = "submission_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ("branch", "bank_account", "deposit_transaction", *DIMENSIONS)
    readonly_fields = (*POSTING_FIELDS, "variance_money", *AUDIT_FIELDS)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "branch",
                    "bank_account",
                    "submission_date",
                    "expected_amount",
                    "status",
                    "reference",
                    "submitted_by_name",
                    "notes",
                )
            },
        ),
        (
            "Deposit",
            {"fields": ("deposited_amount", "deposit_date", "deposit_transaction", "variance_money")},
        ),
        ("Dimensions", {"fields": DIMENSIONS}),
        ("Posting", {"fields": POSTING_FIELDS}),
        AUDIT_FIELDSET,
    )
    # Post and reverse (banking.admin_posting, through banking.posting).
    actions = CashSubmissionActionsMixin.actions

    expected_money = money_column("expected_amount", "expected")
    deposited_money = money_column("deposited_amount", "deposited")

    @admin.display(description="variance (deposited − expected)")
    def variance_money(self, obj):
        # A submission being added has no expected amount yet.
        return None if obj.expected_amount is None else money(obj.variance)

    @admin.display(description="GL posting")
    def gl_posting(self, obj):
        return gl_posting_link(obj)


class FloatReturnInline(ViewOnlyInline):
    """The float's returns, each with its posting and, once reversed, its reversal."""

    model = FloatReturn
    fk_name = "allocation"
    verbose_name = "return"
    verbose_name_plural = "returns (each posted on its own; reverse one with the action on the list)"
    show_change_link = False  # a return is read here, with its float: it has no page of its own
    fields = (
        "number",
        "return_date",
        "amount_money",
        "return_posting",
        "posted_at",
        "posting_status",
        "reversal_date",
        "reversal_posting",
        "reversal_reason",
    )
    readonly_fields = fields
    # As on the float's own page (cnperp.admin.DraftDocumentAdmin): a reader who may not open
    # the ledger's pages sees the references as text, not as links that answer 403.
    plain_without_permission = {"return_posting": "gl_reference", "reversal_posting": "reversal_gl_reference"}

    def _shown(self, request):
        if request.user.has_perm("accounting.view_journalposting"):
            return self.fields
        return tuple(self.plain_without_permission.get(name, name) for name in self.fields)

    def get_fields(self, request, obj=None):
        return self._shown(request)

    def get_readonly_fields(self, request, obj=None):
        return self._shown(request)

    def has_view_permission(self, request, obj=None):
        # The returns are part of the float's record: whoever may read the float reads them.
        return request.user.has_perm("banking.view_floatallocation")

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("number")

    @admin.display(description="amount")
    def amount_money(self, obj):
        return money(obj.amount)

    @admin.display(description="GL posting")
    def return_posting(self, obj):
        return gl_posting_link(obj, obj.gl_reference)

    @admin.display(description="reversal GL posting")
    def reversal_posting(self, obj):
        return gl_posting_link(obj, obj.reversal_gl_reference) if obj.reversal_gl_reference else None


@admin.register(FloatAllocation)
class FloatAllocationAdmin(FloatAllocationActionsMixin, DraftDocumentAdmin):
    create_service = staticmethod(float_allocation_create)
    update_service = staticmethod(float_allocation_update)
    delete_service = staticmethod(float_allocation_delete)
    service_key = "allocation_id"

    list_display = (
        "id",
        "allocation_date",
        "branch",
        "bank_account",
        "amount_money",
        "returned_money",
        "outstanding_money",
        "status",
        "cost_center",
        "department",
        "posting_status",
    )
    list_filter = (
        period_filter("allocation_date"),
        "status",
        "posting_status",
        "bank_account",
        "branch",
        "cost_center",
        "department",
    )
    list_select_related = ("branch", "bank_account", "cost_center", "department")
    search_fields = ("=id", "^custodian", "^purpose")
    date_hierarchy = "allocation_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ("branch", "bank_account", "cost_center", "department")
    # The status follows the returns' postings; set by hand it said "returned" with nothing back.
    readonly_fields = (*POSTING_FIELDS, "status", "return_posting", "outstanding_money", *AUDIT_FIELDS)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "branch",
                    "bank_account",
                    "allocation_date",
                    "amount",
                    "purpose",
                    "custodian",
                    "status",
                )
            },
        ),
        ("Return", {"fields": ("returned_amount", "return_date", "outstanding_money", "return_posting")}),
        ("Dimensions", {"fields": ("cost_center", "department")}),
        ("Posting", {"fields": POSTING_FIELDS}),
        AUDIT_FIELDSET,
    )
    # Post, post a return, reverse one of its returns and reverse (banking.admin_posting, through
    # banking.posting).
    actions = FloatAllocationActionsMixin.actions

    amount_money = money_column("amount", "amount")
    returned_money = money_column("returned_amount", "returned")

    @admin.display(description="outstanding")
    def outstanding_money(self, obj):
        # A float being added has no amount yet.
        return None if obj.amount is None else money(obj.outstanding_amount)

    @admin.display(description="GL posting")
    def gl_posting(self, obj):
        return gl_posting_link(obj)

    def get_inlines(self, request, obj):
        # Only a posted float has returns; a draft's form (the one finance staff edit) has no
        # inline to send back.
        return (FloatReturnInline,) if obj is not None and not obj.is_draft else ()

    @admin.display(description="latest return's GL posting")
    def return_posting(self, obj):
        return gl_posting_link(obj, obj.return_gl_reference)


# --- Transfers -----------------------------------------------------------------

ALLOCATION_FIELDS = ("amount", "cost_center", "project", "department", "branch", "description", "reference")


class AllocationFormSet(BaseInlineFormSet):
    """The allocations split the transfer exactly, each combination of dimensions once."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        for form in self.live_forms():
            try:
                check_active_dimensions(form.instance)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field, errors)
        amount = self.instance.amount
        if amount is None:
            return  # the transfer form says what is wrong with its amount
        if not self.live_forms() and not self.instance._state.adding:
            # Empty means "the transfer's own dimensions" only when the transfer is recorded;
            # deleting every row afterwards would drop it from the reports by dimension.
            raise ValidationError(
                "A transfer keeps at least one allocation; together they add up to its amount."
            )
        try:
            transfer_allocations_check(amount, self.rows())
        except ValidationError as exc:
            # A formset carries its own errors as a list, not keyed by field.
            raise ValidationError(exc.messages) from exc

    def live_forms(self):
        return [form for form in self.forms if form.cleaned_data and not self._should_delete_form(form)]

    def rows(self):
        """Return the allocations the formset holds, as the transfer service takes them."""
        return [
            {name: form.cleaned_data.get(name) for name in ALLOCATION_FIELDS} for form in self.live_forms()
        ]


class BankTransferAllocationInline(admin.TabularInline):
    model = BankTransferAllocation
    formset = AllocationFormSet
    fields = ("line_number", *ALLOCATION_FIELDS)
    readonly_fields = ("line_number",)
    autocomplete_fields = (*DIMENSIONS, "branch")
    extra = 2

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*DIMENSIONS, "branch")

    def _editable(self, obj):
        # Posting splits the legs by the allocations: once a leg is posted they are final. So
        # once it arrived (or failed): the receipt recorded each allocation's share of it.
        if obj is None:
            return True
        if obj.status in (TransferStatus.RECEIVED, TransferStatus.FAILED):
            return False
        return not obj.legs.exclude(posting_status=PostingStatus.DRAFT).exists()

    # The allocations are part of the transfer, as in the API: whoever may add the transfer gives
    # them, whoever may change it re-splits it. Their own model's permissions (a role holds only
    # view_banktransferallocation) would hide the rows and drop a clerk's split without a word.
    def _transfer_permission(self, request, obj):
        action = "add" if obj is None else "change"
        opts = BankTransfer._meta
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and self._transfer_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and self._transfer_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and self._transfer_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        opts = BankTransfer._meta
        return request.user.has_perm(
            f"{opts.app_label}.{get_permission_codename('view', opts)}"
        ) or self._transfer_permission(request, obj)


class TransferLegInline(ViewOnlyInline):
    model = BankTransaction
    fk_name = "transfer"
    verbose_name = "leg"
    verbose_name_plural = "legs (bank transactions)"
    fields = ("id", "bank_account", "direction", "amount", "transaction_date", "posting_status")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bank_account")


class TransferActionForm(ActionForm):
    # Text, parsed by the action itself: a bad date in a DateField would make the
    # admin answer "No action selected" instead of saying what is wrong.
    on_date = forms.CharField(
        required=False, label="Date", widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD, or today"})
    )
    # No max_length either: too long a reason is the service's to refuse, with a message.
    reason = forms.CharField(required=False, label="Reason")


TRANSFER_CREATE_FIELDS = (
    "id",
    "from_bank_account",
    "to_bank_account",
    "amount",
    "initiated_date",
    "reference",
    "description",
    "branch",
    *DIMENSIONS,
)
TRANSFER_OUTCOME_FIELDS = ("status", "received_amount", "received_date", "failure_reason", "failed_date")


@admin.register(BankTransfer)
class BankTransferAdmin(RefusalAdmin, TrackedAdmin):
    list_display = (
        "id",
        "initiated_date",
        "from_bank_account",
        "to_bank_account",
        "amount_money",
        "status",
        "received_date",
        "received_money",
        "reference",
        "cost_center",
        "project",
        "department",
    )
    list_filter = (
        period_filter("initiated_date"),
        "status",
        "from_bank_account",
        "to_bank_account",
        "branch",
        *DIMENSIONS,
    )
    list_select_related = ("from_bank_account", "to_bank_account", *DIMENSIONS)
    search_fields = ("=id", "^reference", "^description")
    date_hierarchy = "initiated_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ("from_bank_account", "to_bank_account", "branch", *DIMENSIONS)
    fieldsets = (
        (None, {"fields": ("id", "from_bank_account", "to_bank_account", "amount", "initiated_date")}),
        ("Reference", {"fields": ("reference", "description")}),
        ("Branch and dimensions", {"fields": ("branch", *DIMENSIONS)}),
        ("Outcome", {"fields": TRANSFER_OUTCOME_FIELDS}),
        AUDIT_FIELDSET,
    )
    action_form = TransferActionForm
    actions = ["mark_received", "mark_failed"]

    amount_money = money_column("amount", "amount")
    received_money = money_column("received_amount", "received")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            # Arrival and failure are recorded by the actions, not typed in.
            return self.readable(request, (*TRANSFER_OUTCOME_FIELDS, *AUDIT_FIELDS))
        # Its sending leg carries the amount, accounts, date and dimensions:
        # once created, only the description can change here.
        fixed = tuple(name for name in TRANSFER_CREATE_FIELDS if name != "description")
        return self.readable(request, (*fixed, *TRANSFER_OUTCOME_FIELDS, *AUDIT_FIELDS))

    def get_inlines(self, request, obj):
        if obj is None:
            return (BankTransferAllocationInline,)
        return (BankTransferAllocationInline, TransferLegInline)

    def has_delete_permission(self, request, obj=None):
        # A transfer that will not arrive is marked failed, never deleted: its
        # legs and allocations keep the history.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # A new transfer is written in save_related, once its allocations are known.

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
            return
        allocations = next(fs for fs in formsets if isinstance(fs, AllocationFormSet))
        data = {name: form.cleaned_data[name] for name in TRANSFER_CREATE_FIELDS if name in form.cleaned_data}
        try:
            transfer = bank_transfer_create(user=request.user, allocations=allocations.rows(), **data)
        except REFUSALS as exc:
            raise ServiceRefused(exc) from exc
        copy_saved(transfer, form.instance)
        # The admin's change message reads what each formset saved.
        for formset in formsets:
            formset.new_objects = list(transfer.allocations.all()) if formset is allocations else []
            formset.changed_objects = []
            formset.deleted_objects = []

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, AllocationFormSet):
            super().save_formset(request, form, formset, change)  # the read-only legs: saves nothing
            return
        transfer = form.instance
        instances = formset.save(commit=False)
        for allocation in formset.deleted_objects:
            allocation.delete()
        last = transfer.allocations.aggregate(last=Max("line_number"))["last"] or 0
        for allocation in instances:
            # Copied from the transfer so that per-account tracking reads one table.
            allocation.from_bank_account_id = transfer.from_bank_account_id
            allocation.to_bank_account_id = transfer.to_bank_account_id
            if allocation._state.adding:
                last += 1
                allocation.line_number = last
            stamp(allocation, request.user)
            allocation.save()

    def _outcome(self, request, queryset, apply, verb):
        done, refused = 0, []
        for transfer in queryset.order_by("pk"):
            try:
                apply(transfer)
            except REFUSALS as exc:
                refused.append(f"Transfer {transfer.pk}: {refusal_message(exc)}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} transfer(s) marked {verb}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Mark received (full amount; the date given, or today)", permissions=["change"])
    def mark_received(self, request, queryset):
        day = self._on_date(request, "received")
        if day is None:
            return
        self._outcome(
            request,
            queryset,
            lambda transfer: bank_transfer_receive(
                transfer_id=transfer.pk, user=request.user, received_date=day
            ),
            TransferStatus.RECEIVED.label.lower(),
        )

    def _on_date(self, request, what):
        """The action's date (today when left empty), or ``None`` after saying it is not a date."""
        try:
            # The ISO form only: 03/11/2025 is 3 November to some and 11 March to others.
            day = forms.DateField(required=False, input_formats=["%Y-%m-%d"]).clean(
                request.POST.get("on_date", "")
            )
        except ValidationError:
            self.message_user(request, f"Give the date {what} as YYYY-MM-DD.", messages.ERROR)
            return None
        return day or timezone.localdate()

    @admin.action(description="Mark failed (the reason; the date given, or today)", permissions=["change"])
    def mark_failed(self, request, queryset):
        day = self._on_date(request, "it failed")
        if day is None:
            return
        reason = request.POST.get("reason", "").strip()
        limit = BankTransfer._meta.get_field("failure_reason").max_length
        if len(reason) > limit or "\x00" in reason:
            self.message_user(
                request,
                f"The reason is text of at most {limit} characters; nothing was changed.",
                messages.ERROR,
            )
            return
        self._outcome(
            request,
            queryset,
            lambda transfer: bank_transfer_fail(
                transfer_id=transfer.pk, user=request.user, reason=reason, failed_date=day
            ),
            TransferStatus.FAILED.label.lower(),
        )


@admin.register(BankTransferAllocation)
class BankTransferAllocationAdmin(ViewOnlyAdmin):
    """Every allocation across transfers; they are edited on their transfer."""

    list_display = (
        "transfer",
        "line_number",
        "from_bank_account",
        "to_bank_account",
        "amount_money",
        "received_money",
        "cost_center",
        "project",
        "department",
        "branch",
    )
    list_filter = ("from_bank_account", "to_bank_account", "branch", *DIMENSIONS)
    list_select_related = ("transfer", "from_bank_account", "to_bank_account", "branch", *DIMENSIONS)
    search_fields = ("=transfer__id", "^reference", "^transfer__reference")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    amount_money = money_column("amount", "amount")
    received_money = money_column("received_amount", "received")


# --- Posting rules and statement profiles ---------------------------------------


@admin.register(PostingRule)
class PostingRuleAdmin(TrackedAdmin):
    list_display = ("document_type", "bank_account", "branch", "contra_account", "is_active", "description")
    list_filter = ("document_type", "is_active", "bank_account", "branch")
    list_select_related = ("bank_account", "branch", "contra_account")
    search_fields = ("=id", "description", "contra_account__code", "contra_account__name")
    autocomplete_fields = ("bank_account", "branch", "contra_account")
    fieldsets = (
        (None, {"fields": ("id", "document_type", "contra_account", "is_active", "description")}),
        ("Scope (empty: the default for the document type)", {"fields": ("bank_account", "branch")}),
        AUDIT_FIELDSET,
    )


@admin.register(StatementCsvProfile)
class StatementCsvProfileAdmin(TrackedAdmin):
    list_display = ("name", "delimiter", "decimal_mark", "date_format", "amount_mode", "has_header")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in StatementCsvProfile.SEPARATOR_FIELDS:
            # A space, no-break space or tab is a separator banks use; stripping would save it as empty.
            kwargs["strip"] = False
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    list_filter = ("amount_mode", "has_header")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("id", "name")}),
        (
            "File layout",
            {
                "fields": (
                    "encoding",
                    "delimiter",
                    "quote_char",
                    "skip_rows",
                    "has_header",
                    "decimal_mark",
                    "thousands_separator",
                    "date_format",
                )
            },
        ),
        (
            "Amounts",
            {"fields": ("amount_mode", "negate_amounts", "amount_column", "debit_column", "credit_column")},
        ),
        (
            "Other columns",
            {
                "fields": (
                    "date_column",
                    "value_date_column",
                    "description_column",
                    "reference_column",
                    "counterparty_column",
                    "counterparty_iban_column",
                    "balance_column",
                )
            },
        ),
        AUDIT_FIELDSET,
    )


# --- Statements and reconciliation ------------------------------------------------


@admin.register(BankStatement)
class BankStatementAdmin(StatementImportAdminMixin, ViewOnlyAdmin):
    list_display = (
        "id",
        "bank_account",
        "format",
        "statement_number",
        "from_date",
        "to_date",
        "opening_money",
        "closing_money",
        "line_count",
        "is_consistent",
        "new_line_count",
        "duplicate_line_count",
    )
    list_filter = ("bank_account", "format", "is_consistent")
    list_select_related = ("bank_account",)
    search_fields = ("=id", "^statement_number", "^file_name", "=file_sha256")
    date_hierarchy = "to_date"
    readonly_fields = ("lines_link",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "bank_account",
                    "format",
                    "statement_number",
                    "account_identifier",
                    "currency",
                    "lines_link",
                )
            },
        ),
        ("File", {"fields": ("file_name", "file_sha256")}),
        (
            "Balances",
            {
                "fields": (
                    "from_date",
                    "to_date",
                    "opening_balance",
                    "lines_total",
                    "closing_balance",
                    "is_consistent",
                    "balance_difference",
                )
            },
        ),
        ("Import", {"fields": ("line_count", "new_line_count", "duplicate_line_count")}),
        AUDIT_FIELDSET,
    )
    # The statement import (banking.importers) belongs here.
    actions = []

    opening_money = money_column("opening_balance", "opening")
    closing_money = money_column("closing_balance", "closing")

    def get_readonly_fields(self, request, obj=None):
        return self.readable(request, flatten_fieldsets(self.fieldsets))

    @admin.display(description="lines")
    def lines_link(self, obj):
        # A statement can hold tens of thousands of lines: link to them rather than inline them.
        url = (
            reverse("admin:banking_statementline_changelist")
            + "?"
            + urlencode({"statement__id__exact": obj.pk})
        )
        return format_html('<a href="{}">{} line(s)</a>', url, obj.line_count)


@admin.register(StatementLine)
class StatementLineAdmin(ViewOnlyAdmin):
    list_display = (
        "booking_date",
        "bank_account",
        "amount_money",
        "counterparty_name",
        "short_narrative",
        "bank_reference",
        "end_to_end_id",
        "match_status",
        "is_reversal",
    )
    list_filter = (period_filter("booking_date"), "match_status", "is_reversal", "bank_account")
    list_select_related = ("bank_account",)
    search_fields = ("=id", "=bank_reference", "=end_to_end_id", "=fitid", "^counterparty_name")
    search_help_text = "An exact bank reference, end-to-end id or FITID, or the start of a counterparty name."
    date_hierarchy = "booking_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Matching by hand and creating a transaction from a line (the matcher) belong here.
    actions = []

    amount_money = money_column("amount", "amount")

    @admin.display(description="narrative")
    def short_narrative(self, obj):
        return obj.narrative[:80]


@admin.register(ReconciliationMatch)
class ReconciliationMatchAdmin(ViewOnlyAdmin):
    """The matcher's pairs with their score and reason; confirmed and rejected through the matcher."""

    list_display = (
        "statement_line",
        "bank_transaction",
        "amount_money",
        "score",
        "stage",
        "reason",
        "status",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "stage", "bank_account")
    list_select_related = ("statement_line", "bank_transaction", "decided_by")
    search_fields = ("=group_key", "=bank_transaction__id", "=statement_line__bank_reference")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Confirm, reject and unmatch (the matcher) belong here.
    actions = []

    amount_money = money_column("amount", "amount")


@admin.register(BankReconciliation)
class BankReconciliationAdmin(ReconciliationWorkbenchLinkMixin, TrackedAdmin):
    list_display = (
        "bank_account",
        "period",
        "status",
        "balance_status",
        "book_closing_money",
        "statement_closing_money",
        "variance_money",
        "matched_count",
        "unmatched_book_count",
        "unmatched_statement_count",
        "cost_center",
        "project",
        "department",
        "approved_by",
    )
    list_filter = ("status", "balance_status", "bank_account", "period", *DIMENSIONS)
    list_select_related = ("bank_account", "period", "approved_by", *DIMENSIONS)
    search_fields = ("=id", "=bank_account__id", "=period__id")
    date_hierarchy = "reconciliation_date"
    fieldsets = (
        (
            None,
            {"fields": ("id", "bank_account", "period", "reconciliation_date", "status", "balance_status")},
        ),
        (
            "Balances",
            {
                "fields": (
                    "book_opening_balance",
                    "book_closing_balance",
                    "statement_opening_balance",
                    "statement_closing_balance",
                    "variance",
                )
            },
        ),
        (
            "Items",
            {
                "fields": (
                    "matched_count",
                    "matched_amount",
                    "unmatched_book_count",
                    "unmatched_book_amount",
                    "unmatched_statement_count",
                    "unmatched_statement_amount",
                )
            },
        ),
        ("Dimension scope and breakdown", {"fields": (*DIMENSIONS, "dimension_breakdown")}),
        ("Sign-off", {"fields": ("notes", "prepared_by", "approved_by", "approved_at")}),
        AUDIT_FIELDSET,
    )
    # Reconcile and finalize (the reconciliation service) belong here.
    actions = []

    book_closing_money = money_column("book_closing_balance", "book closing")
    statement_closing_money = money_column("statement_closing_balance", "statement closing")
    variance_money = money_column("variance", "variance")

    def get_readonly_fields(self, request, obj=None):
        # The figures are the reconciliation service's; finance staff add notes.
        return self.readable(request, [name for name in flatten_fieldsets(self.fieldsets) if name != "notes"])

    def has_add_permission(self, request):
        # A snapshot is computed by the reconciliation service, never typed in.
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_finalized)

    def has_delete_permission(self, request, obj=None):
        # A snapshot is the reconciliation service's record of a month: refreshed by
        # running it again, never deleted here (no service or API deletes one either).
        return False
