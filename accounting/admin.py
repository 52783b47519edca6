"""Admin for the general ledger: chart of accounts, periods, postings and GL lines.

Postings, GL lines and their dimension assignments are written once by the
posting service and are final (rule 2 of the brief): here they can be read,
never added, changed or deleted. Each posting shows its lines, each line its
dimensions. GL lines run to millions of rows, so their screens join what they
show in one query, skip the full count, and search on indexed keys only.

Periods are opened by adding them (or by the first posting dated in them);
closing and reopening are the actions *Close period* and *Reopen period*, which
call the period service (``accounting.services``): it locks the period against
postings under way. Both need the permission ``accounting.close_accountingperiod``.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.html import format_html

from accounting.choices import PeriodStatus, SourceType
from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from accounting.services import accounting_period_close, accounting_period_reopen
from cnperp.admin import (
    AUDIT_FIELDSET,
    REFUSALS,
    ActiveChoicesMixin,
    KeyedAdmin,
    TrackedAdmin,
    ViewOnlyAdmin,
    ViewOnlyInline,
    money,
    money_column,
    refusal_message,
)

CLOSE_PERMISSION = "accounting.close_accountingperiod"

DIMENSION_COLUMNS = ("cost_center", "project", "department")


def ledger_search(queryset, search_term, reference_field, source_prefix=""):
    """Find ledger rows by reference prefix or by their source document's exact id.

    A plain ``icontains`` search would scan millions of GL lines; the reference
    is indexed (prefix search uses it) and the source id is reached through the
    (source type, source id) index with every type listed.
    """
    term = search_term.strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(**{f"{reference_field}__istartswith": term})
        | Q(**{f"{source_prefix}source_type__in": SourceType.values, f"{source_prefix}source_id": term})
    )


def period_filter(date_field):
    """Return a changelist filter by accounting period on the date ``date_field``.

    It filters on the month's first and last day, never on a function of the
    column, so the date indexes answer it.
    """

    class PeriodFilter(admin.SimpleListFilter):
        title = "period"
        parameter_name = "period"

        def lookups(self, request, model_admin):
            return [(period.pk, str(period)) for period in AccountingPeriod.objects.order_by("-start_date")]

        def queryset(self, request, queryset):
            if not self.value():
                return queryset
            try:
                start, end = AccountingPeriod.bounds(self.value())
            except ValidationError as error:
                # Not an empty list: the clerk is told the month was not understood.
                raise IncorrectLookupParameters(error) from error
            return queryset.filter(**{f"{date_field}__gte": start, f"{date_field}__lte": end})

    return PeriodFilter


@admin.register(GLAccount)
class GLAccountAdmin(ActiveChoicesMixin, TrackedAdmin):
    list_display = ("code", "name", "account_type", "parent", "children_count", "is_active")
    list_display_links = ("code", "name")
    list_filter = ("account_type", "is_active")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "=id")
    ordering = ("code",)
    autocomplete_fields = ("parent",)
    fieldsets = (
        (None, {"fields": ("id", "code", "name", "account_type", "parent", "is_active", "description")}),
        AUDIT_FIELDSET,
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(children_count=Count("children"))

    @admin.display(description="children", ordering="children_count")
    def children_count(self, obj):
        return obj.children_count


class AccountingPeriodForm(forms.ModelForm):
    """A period is named by its month; its first and last day follow from the name."""

    class Meta:
        model = AccountingPeriod
        fields = ("id", "start_date", "end_date")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start_date", "end_date"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = "Left empty, it follows from the period (YYYY-MM)."

    def clean(self):
        cleaned_data = super().clean()
        code = cleaned_data.get("id") or self.instance.pk
        if not code:
            return cleaned_data
        try:
            start, end = AccountingPeriod.bounds(code)
        except ValidationError:
            return cleaned_data  # the id field carries its own error
        if "start_date" in self.fields and not cleaned_data.get("start_date"):
            cleaned_data["start_date"] = start
        if "end_date" in self.fields and not cleaned_data.get("end_date"):
            cleaned_data["end_date"] = end
        return cleaned_data


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(KeyedAdmin):
    form = AccountingPeriodForm
    list_display = ("id", "start_date", "end_date", "status", "closed_at", "closed_by")
    list_filter = ("status",)
    list_select_related = ("closed_by",)
    search_fields = ("=id",)
    ordering = ("-start_date",)
    date_hierarchy = "start_date"
    # Closing and reopening go through the period service, which locks the
    # period against postings under way; the status is never typed in here.
    readonly_fields = ("status", "closed_at", "closed_by")
    fields = ("id", "start_date", "end_date", "status", "closed_at", "closed_by")
    actions = ["close_periods", "reopen_periods"]

    def has_change_permission(self, request, obj=None):
        # A month's name and dates never change once it exists; only its status
        # does, and only through the period service.
        return obj is None and super().has_change_permission(request, obj)

    def has_close_permission(self, request):
        return request.user.has_perm(CLOSE_PERMISSION)

    def _change_status(self, request, queryset, service, verb):
        if not self.has_close_permission(request):
            # Not offered without the permission; refused if called anyway.
            self.message_user(
                request,
                f"You do not have the permission this action needs ({CLOSE_PERMISSION}).",
                messages.ERROR,
            )
            return
        done, refused = [], []
        for period_id in queryset.order_by("start_date").values_list("pk", flat=True):
            try:
                service(period_id=period_id, user=request.user)
            except REFUSALS as exc:
                refused.append(refusal_message(exc))
            else:
                done.append(period_id)
        if done:
            self.message_user(request, f"Period(s) {', '.join(done)} {verb}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Close period (nothing posts into it until reopened)", permissions=["close"])
    def close_periods(self, request, queryset):
        self._change_status(request, queryset, accounting_period_close, "closed")

    @admin.action(description="Reopen period", permissions=["close"])
    def reopen_periods(self, request, queryset):
        self._change_status(request, queryset, accounting_period_reopen, "reopened")

    def has_delete_permission(self, request, obj=None):
        # A period with postings is referred to by the ledger for ever. A closed one stays:
        # the next posting would recreate the month open, a reopen without reopen_period's
        # permission and audit entry. (Django asks per object for the bulk delete too.)
        if obj is not None and (obj.status == PeriodStatus.CLOSED or obj.postings.exists()):
            return False
        return super().has_delete_permission(request, obj)


class DimensionAssignmentInline(ViewOnlyInline):
    model = DimensionAssignment
    fields = ("dimension_type", "cost_center", "project", "department")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*DIMENSION_COLUMNS)


class JournalEntryInline(ViewOnlyInline):
    model = JournalEntry
    fields = (
        "line_number",
        "account",
        "debit_money",
        "credit_money",
        "description",
        "cost_center",
        "project",
        "department",
        "reversal_of",
    )
    readonly_fields = fields

    debit_money = money_column("debit", "debit")
    credit_money = money_column("credit", "credit")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "reversal_of", *DIMENSION_COLUMNS)


@admin.register(JournalPosting)
class JournalPostingAdmin(ViewOnlyAdmin):
    list_display = (
        "reference",
        "entry_date",
        "period",
        "source_type",
        "source_id",
        "purpose",
        "description",
        "posted_by",
        "posted_at",
    )
    list_filter = ("source_type", "purpose", "period")
    list_select_related = ("period", "posted_by")
    search_fields = ("reference", "source_id")
    search_help_text = "A reference (or its start), or the exact id of the source document."
    date_hierarchy = "entry_date"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    inlines = (JournalEntryInline,)
    fields = (
        "reference",
        "entry_date",
        "period",
        "source_type",
        "source_id",
        "purpose",
        "description",
        "reverses",
        "reason",
        "posted_by",
        "posted_at",
        "totals",
        # The seal (accounting.ledger_chain); manage.py verify_ledger checks it.
        "chain_sequence",
        "previous_hash",
        "chain_hash",
    )
    readonly_fields = fields
    # Reversal goes through the posting service; its admin action belongs here.
    actions = []

    def get_search_results(self, request, queryset, search_term):
        return ledger_search(queryset, search_term, "reference"), False

    @admin.display(description="totals")
    def totals(self, obj):
        sums = obj.lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
        balanced = "balanced" if sums["debit"] == sums["credit"] else "NOT BALANCED"
        return format_html("Debit {} / credit {} ({})", money(sums["debit"]), money(sums["credit"]), balanced)


@admin.register(JournalEntry)
class JournalEntryAdmin(ViewOnlyAdmin):
    list_display = (
        "reference",
        "line_number",
        "entry_date",
        "account",
        "debit_money",
        "credit_money",
        "cost_center",
        "project",
        "department",
        "source_type",
        "source_id",
    )
    list_filter = ("period", "account", "source_type", "cost_center", "project", "department")
    list_select_related = ("account", *DIMENSION_COLUMNS)
    search_fields = ("reference", "source_id")
    search_help_text = "A reference (or its start), or the exact id of the source document."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    inlines = (DimensionAssignmentInline,)
    fields = (
        "posting_link",
        "line_number",
        "reference",
        "entry_date",
        "period",
        "account",
        "debit",
        "credit",
        "description",
        "source_type",
        "source_id",
        "cost_center",
        "project",
        "department",
        "reversal_of",
        "posted_by",
        "posted_at",
    )
    readonly_fields = fields

    debit_money = money_column("debit", "debit")
    credit_money = money_column("credit", "credit")

    def get_search_results(self, request, queryset, search_term):
        return ledger_search(queryset, search_term, "reference"), False

    @admin.display(description="posting")
    def posting_link(self, obj):
        url = reverse("admin:accounting_journalposting_change", args=[obj.posting_id])
        return format_html('<a href="{}">{}</a>', url, obj.reference)


@admin.register(DimensionAssignment)
class DimensionAssignmentAdmin(ViewOnlyAdmin):
    list_display = ("journal_entry", "dimension_type", "value")
    list_filter = ("dimension_type", "cost_center", "project", "department")
    list_select_related = ("journal_entry", *DIMENSION_COLUMNS)
    search_fields = ("journal_entry__reference", "journal_entry__source_id")
    search_help_text = "A GL reference (or its start), or the exact id of the source document."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("journal_entry", "dimension_type", "cost_center", "project", "department")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return ledger_search(queryset, search_term, "journal_entry__reference", "journal_entry__"), False

    @admin.display(description="value")
    def value(self, obj):
        return getattr(obj, obj.dimension_type) or "unassigned"
