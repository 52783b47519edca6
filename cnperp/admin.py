"""What every admin screen shares: the site's titles, who-and-when stamping,
money columns, view-only ledger screens, and service refusals shown on the form.

The admin is a door like the API. Documents that have a service are written
through it, so the same rules hold whichever door a change comes through; a
refusal (``ValidationError``, ``DomainError``) is shown to the clerk on the form,
with the input kept, and changes nothing. Never a 500.

``cnperp`` is not an installed app, so Django's autodiscovery does not import
this module; every app's ``admin.py`` does, which sets the titles once.
"""

import functools

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, quote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from cnperp.admin_lists import ListLookupGuard
from cnperp.audit_admin import AuditHistoryMixin
from cnperp.exceptions import DomainError
from cnperp.records import save_checked

SITE_TITLE = "CNPERP Banking"
admin.site.site_header = SITE_TITLE
admin.site.site_title = SITE_TITLE
admin.site.index_title = SITE_TITLE

AUDIT_FIELDS = ("created_by", "created_at", "updated_by", "updated_at")
AUDIT_FIELDSET = ("Record", {"fields": AUDIT_FIELDS, "classes": ("collapse",)})

# Errors a service raises when it refuses a change; anything else is a bug and should be seen.
REFUSALS = (ValidationError, DomainError, ProtectedError)

MONEY_STYLE = "display:block;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap"


def money(value):
    """Return ``value`` as ``1,234.56``, right-aligned; ``None`` stays empty."""
    if value is None:
        return None
    return format_html('<span class="money" style="{}">{}</span>', MONEY_STYLE, _money_text(value))


def _money_text(value):
    # Decimal formats itself exactly: no float ever touches an amount.
    return f"{value:,.{settings.MONEY_DECIMAL_PLACES}f}"


def money_column(attribute, description, ordering=None):
    """Return a changelist column showing the amount ``attribute`` of each row."""

    @admin.display(description=description, ordering=ordering or attribute)
    def column(model_admin, obj):
        return money(getattr(obj, attribute))

    column.__name__ = f"{attribute}_money"
    return column


def refusal_message(error):
    """Return the words a service's refusal gives to finance staff."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, ProtectedError):
        names = sorted({obj._meta.verbose_name for obj in error.protected_objects})
        return "This record is still referred to by: " + ", ".join(names) + "."
    return str(error)


def stamp(record, user):
    """Record who created and last changed ``record`` (rule 8 of the brief)."""
    if not hasattr(record, "updated_by_id"):
        return
    if record._state.adding:
        record.created_by = user
    record.updated_by = user


def copy_saved(saved, target):
    """Make the admin's own instance ``target`` the row a service just wrote."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ServiceRefused(Exception):
    """A service refused the admin's write; carries the service's error."""

    def __init__(self, error):
        super().__init__(refusal_message(error))
        self.error = error


def show_refusal(form, error):
    """Put a service's refusal on ``form``: on the field it names when the form has it."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            if field in form.fields:
                form.add_error(field, errors)
            else:
                form.add_error(
                    None, [f"{field.replace('_', ' ')}: {message}" for e in errors for message in e]
                )
    elif isinstance(error, DomainError) and error.field in form.fields:
        form.add_error(error.field, error.message)
    else:
        form.add_error(None, refusal_message(error))


@functools.cache
def _reference_as_text(model, name):
    """A read-only column showing ``model.name`` (a reference) as text: one callable per field, so
    that the admin finds the same object among the read-only fields and in the fieldsets."""
    field = model._meta.get_field(name)

    def shown(obj):
        value = getattr(obj, name)
        if value is None:
            return None
        return value.get_username() if isinstance(value, get_user_model()) else str(value)

    shown.short_description = field.verbose_name
    shown.__name__ = f"{name}_as_text"
    return shown


class ReadableReferences:
    """A read-only reference to a record the reader may not open is shown as text, not as a link.

    Django links every read-only reference to its admin page whatever the reader may open, so a
    clerk met "created by", "approved by" and "closed by" as links to user pages that answer 403.
    """

    def _references_as_text(self, request, names):
        swapped = {}
        for name in names:
            if not isinstance(name, str):
                continue
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not (field.many_to_one or field.one_to_one) or not field.concrete:
                continue
            target = self.admin_site._registry.get(field.related_model)
            if target is not None and not target.has_view_permission(request):
                swapped[name] = _reference_as_text(self.model, name)
        return swapped

    def readable(self, request, fields):
        """``fields`` (read-only field names) with each reference the reader may not open as text.

        An admin that builds its read-only fields without calling ``super()`` passes them here.
        """
        fields = list(fields)
        return _swap(fields, self._references_as_text(request, fields))

    def get_readonly_fields(self, request, obj=None):
        return self.readable(request, super().get_readonly_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        # Only what get_readonly_fields shows as text: a callable among the fieldsets that is not
        # among the read-only fields would be taken for a form field (a FieldError).
        readonly = set(self.get_readonly_fields(request, obj))
        fieldsets = super().get_fieldsets(request, obj)
        shown = self._references_as_text(request, flatten_fieldsets(fieldsets))
        names = {name: text for name, text in shown.items() if text in readonly}
        if not names:
            return fieldsets
        return [
            (title, {**options, "fields": _swap(options.get("fields", ()), names)})
            for title, options in fieldsets
        ]


class RefusedFormMixin:
    """Show a refusal raised as :class:`ServiceRefused` while saving on the form, with nothing changed.

    The admin's view runs in one transaction, so letting the exception leave it
    rolls back everything the attempt wrote (the log entry included). The form
    is then rendered again from the same POST, with the refusal on it.
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                cleaned_data = super().clean()
                show_refusal(self, refusal)
                return cleaned_data

        RefusedForm.__name__ = form.__name__
        return RefusedForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The second pass cannot save: the refused form never validates.
            request._service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)


class KeyedAdmin(ReadableReferences, ListLookupGuard, AuditHistoryMixin, admin.ModelAdmin):
    """String keys are chosen once: editable on the add form, read-only afterwards."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        pk = self.model._meta.pk
        # Django would save a record whose key changed as a copy under the new key.
        if obj is not None and pk.editable and pk.name not in fields:
            fields.insert(0, pk.name)
        return fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        pk = self.model._meta.pk.name
        if pk in fields:
            fields = [pk, *(name for name in fields if name != pk)]
        return fields


class TrackedAdmin(RefusedFormMixin, KeyedAdmin):
    """A record that says who created and last changed it, stamped on every admin save."""

    readonly_fields = AUDIT_FIELDS

    def save_model(self, request, obj, form, change):
        stamp(obj, request.user)
        try:
            # The form checked it; a save of the same key or scope at the same instant may still
            # have won: refused on the form, as the form's checks would now refuse it.
            save_checked(obj)
        except ValidationError as exc:
            raise ServiceRefused(exc) from exc

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            stamp(obj, request.user)
            obj.save()
        formset.save_m2m()


class ActiveChoicesMixin:
    """Offer only active values in autocomplete pickers; inactive ones are refused on save anyway."""

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path == reverse("admin:autocomplete"):
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates


class RefusalAdmin(RefusedFormMixin, ReadableReferences, ListLookupGuard, admin.ModelAdmin):
    """Turn a service's refusal during save or delete into a message, with nothing changed.

    ``save_model``/``save_related``/``delete_model`` raise :class:`ServiceRefused`:
    on the form when saving (:class:`RefusedFormMixin`), as a message when deleting.
    """

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)])
            )

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def log_deletions(self, request, queryset):
        # Django's bulk delete logs before it deletes, outside any transaction: a delete
        # the services then refuse would leave "deleted" entries for rows still there.
        # The bulk action's rows are logged once they are gone (delete_queryset); the
        # single delete page is atomic already.
        if isinstance(queryset, QuerySet):
            request._deletions_to_log = list(queryset)
            return None
        return super().log_deletions(request, queryset)

    def delete_queryset(self, request, queryset):
        # All or nothing: one refused row keeps every selected row, and its log entries too.
        with transaction.atomic():
            deleted = getattr(request, "_deletions_to_log", None)
            if deleted:
                # Before the deletes: a deleted instance has lost its primary key.
                super().log_deletions(request, deleted)
            for obj in queryset:
                self.delete_model(request, obj)


def _swap(fields, names):
    """Return ``fields`` (names, or rows of names) with each name in ``names`` replaced by its value."""
    return [
        _swap(field, names) if isinstance(field, (list, tuple)) else names.get(field, field)
        for field in fields
    ]


def _username(user):
    return None if user is None else user.get_username()


class DraftDocumentAdmin(RefusalAdmin, TrackedAdmin):
    """A postable document: written through its services while draft, final once posted.

    Subclasses name the services (``create_service``, ``update_service``,
    ``delete_service``, as ``staticmethod``) and the keyword that carries the
    document's key to them (``service_key``).
    """

    create_service = None
    update_service = None
    delete_service = None
    service_key = None

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_draft)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_draft)

    # A reference shown as a link to a page the reader may not open (a 403) is shown as text:
    # field -> (the permission its page needs, the field shown without it).
    plain_without_permission = {
        "gl_posting": ("accounting.view_journalposting", "gl_reference"),
        "return_posting": ("accounting.view_journalposting", "return_gl_reference"),
        "posted_by": ("auth.view_user", "posted_by_name"),
        "created_by": ("auth.view_user", "created_by_name"),
        "updated_by": ("auth.view_user", "updated_by_name"),
    }

    def _plain_fields(self, request):
        return {
            field: plain
            for field, (permission, plain) in self.plain_without_permission.items()
            if not request.user.has_perm(permission)
        }

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_draft:
            if self.fieldsets:
                fields = flatten_fieldsets(self.fieldsets)
            else:
                fields = [field.name for field in self.model._meta.fields]
        else:
            fields = super().get_readonly_fields(request, obj)
        return _swap(fields, self._plain_fields(request))

    def get_fieldsets(self, request, obj=None):
        plain = self._plain_fields(request)
        return [
            (title, {**options, "fields": _swap(options.get("fields", ()), plain)})
            for title, options in super().get_fieldsets(request, obj)
        ]

    @admin.display(description="posted by")
    def posted_by_name(self, obj):
        return _username(obj.posted_by)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return _username(obj.created_by)

    @admin.display(description="updated by")
    def updated_by_name(self, obj):
        return _username(obj.updated_by)

    def service_data(self, obj, form, change):
        """Return the fields the form edits, as the service's keyword arguments."""
        pk = self.model._meta.pk.name
        names = {field.name for field in self.model._meta.fields}
        data = {name: getattr(obj, name) for name in form.cleaned_data if name in names and name != pk}
        if not change:
            data[pk] = obj.pk
        return data

    def save_model(self, request, obj, form, change):
        data = self.service_data(obj, form, change)
        try:
            if change:
                saved = self.update_service(**{self.service_key: obj.pk}, user=request.user, **data)
            else:
                saved = self.create_service(user=request.user, **data)
        except REFUSALS as exc:
            raise ServiceRefused(exc) from exc
        copy_saved(saved, obj)

    def delete_model(self, request, obj):
        try:
            self.delete_service(**{self.service_key: obj.pk}, user=request.user)
        except REFUSALS as exc:
            raise ServiceRefused(exc) from exc


class ViewOnlyAdmin(ReadableReferences, ListLookupGuard, AuditHistoryMixin, admin.ModelAdmin):
    """Rows written once by a service (the ledger, imports): finance staff read them, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyInline(admin.TabularInline):
    """Related rows shown on their parent's page, read-only."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Users and role groups ---------------------------------------------------------------------


class RoleGroupAdmin(ListLookupGuard, GroupAdmin):
    """Django's group page, with each permission's model read in the same query.

    Read-only (the auditor), the page names every permission of the group, and a
    permission's name reads its content type: one query each (92 for the admin
    role) without this.
    """

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("permissions__content_type")


class StaffUserAdmin(ListLookupGuard, UserAdmin):
    """Django's user page, with the user's own permissions' models and groups read at once."""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user_permissions__content_type", "groups")


class GuardedTokenAdmin(ListLookupGuard, TokenAdmin):
    """DRF's API token list, with the same guard on its address as every other list.

    A key is shown whole once, when it is made; the list shows its first characters only. DRF's
    list showed every key in full to anyone who may view tokens, and a key is its user: with
    it, one person posts as another past segregation of duties and the audit trail.
    """

    list_display = ("key_start", "user", "created")

    @admin.display(description="key")
    def key_start(self, obj):
        return _key_start(obj.key)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                f"API token of {obj.user}: {obj.key}. Copy it now: it is not shown again (the list "
                f"shows its first {KEY_SHOWN} characters); a lost key is deleted and made anew.",
                messages.WARNING,
            )


# The part of an API key the token list shows: enough to tell keys apart, too little to use one.
KEY_SHOWN = 6


def _key_start(key):
    return f"{key[:KEY_SHOWN]}…"


def _token_name(token):
    return f"API token of {token.user} ({_key_start(token.key)})"


# DRF names a token by its key, and the admin writes that name on the change, delete and history
# pages and into its log of recent actions: a key anyone who may view tokens could then read.
TokenProxy.__str__ = _token_name


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, GuardedTokenAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleGroupAdmin)
admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
