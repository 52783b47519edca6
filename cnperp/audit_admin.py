"""The audit trail in the admin: a read-only list of every entry, and each record's own history.

The "History" link on a record's page shows its audit trail (who, when, what
changed, and for a service's change the event), newest first, to those who may
read the trail (``auditlog.view_logentry``) and view the record. Entries can be
read by anyone allowed to view them (the auditor role) and changed or deleted
by nobody, superusers included: no add, change or delete permission is ever
granted here, and there is no delete action.
"""

from auditlog import get_logentry_model
from auditlog.admin import LogEntryAdmin
from auditlog.filters import CIDFilter, ResourceTypeFilter
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.text import capfirst

from cnperp.admin_lists import ListLookupGuard

HISTORY_PER_PAGE = 50
AUDIT_VIEW_PERMISSION = "auditlog.view_logentry"


class KnownResourceTypeFilter(ResourceTypeFilter):
    """auditlog's filter by kind of record, which handed any text to the database as a number."""

    def queryset(self, request, queryset):
        value = self.value()
        if value is not None and not (value.isascii() and value.isdigit()):
            raise IncorrectLookupParameters(ValidationError(f"“{value}” is not a kind of record"))
        return super().queryset(request, queryset)


class AuditEntryAdmin(ListLookupGuard, LogEntryAdmin):
    """auditlog's entry list, read-only for everyone, with the event a service recorded."""

    list_filter = ["action", KnownResourceTypeFilter, CIDFilter]
    list_display = ["created", "resource_url", "action", "event", "msg_short", "user_url", "cid_url"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "resource_url", "cid", "event"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]
    readonly_fields = ["created", "resource_url", "action", "user_url", "msg", "event", "cid"]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # auditlog allows deleting entries along with their record; this trail never lets go of one.
        return False

    @admin.display(description="event")
    def event(self, obj):
        return (obj.additional_data or {}).get("event", "")


class AuditHistoryMixin:
    """Show a record's audit trail behind the admin's "History" link."""

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        # The trail is the audit log's to show: a clerk who may see the record may not read who
        # changed what in it (the roles' read_audit_trail, docs/security.md).
        if not self.has_view_or_change_permission(request, obj) or not request.user.has_perm(
            AUDIT_VIEW_PERMISSION
        ):
            raise PermissionDenied
        entries = (
            get_logentry_model()
            .objects.get_for_object(obj)
            .select_related("actor", "content_type")
            .order_by("-timestamp", "-pk")
        )
        paginator = self.get_paginator(request, entries, HISTORY_PER_PAGE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "log_entries": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.count > HISTORY_PER_PAGE,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "cnperp/audit_history.html", context)


def install(site=admin.site):
    """Put the read-only entry admin in place of auditlog's own (called once the admin is loaded)."""
    log_entry = get_logentry_model()
    if site.is_registered(log_entry):
        site.unregister(log_entry)
    site.register(log_entry, AuditEntryAdmin)
