"""The statement upload form of the admin: the same service as the API and
``manage.py import_statement``, so the three give the same numbers.

Hook it into the statement admin with one change in ``banking/admin.py``:
add ``StatementImportAdminMixin`` first in ``BankStatementAdmin``'s bases
(``class BankStatementAdmin(StatementImportAdminMixin, ViewOnlyAdmin):``, with
``from banking.admin_import import StatementImportAdminMixin``). The statement
list then shows an "Import statement" button (for users holding
``banking.import_bankstatement``) leading to ``import/``, a form of bank account,
file, format and CSV profile. After an import the page shows the summary: per
statement the balances, whether they add up, new lines and duplicates, and any
statements of other accounts that were skipped. Errors appear on the field at
fault and nothing is imported.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from banking.models import BankAccount, StatementCsvProfile
from banking.statement_import import statement_import, statement_max_bytes
from cnperp.exceptions import DomainError

IMPORT_PERMISSION = "banking.import_bankstatement"
FORMAT_CHOICES = [
    ("auto", "Detect from the file"),
    ("camt", "ISO 20022 camt.052 / 053 / 054"),
    ("mt940", "SWIFT MT940 / MT942"),
    ("ofx", "OFX 1.x / 2.x"),
    ("bai2", "BAI2"),
    ("csv", "CSV (choose the bank's profile)"),
]
# Where a service error lands on the form.
_FORM_FIELDS = {
    "account": "bank_account",
    "currency": "bank_account",
    "file": "file",
    "format": "format",
    "profile": "profile",
}


class _AccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj) if obj.is_active else f"{obj} (inactive)"


class StatementImportForm(forms.Form):
    # Inactive accounts too, as the API and import_statement take them: a closed account's last
    # statements still have to be imported to reconcile its final months.
    bank_account = _AccountChoice(queryset=BankAccount.objects.order_by("-is_active", "pk"))
    file = forms.FileField(help_text="camt.052/053/054, MT940/942, OFX, BAI2 or CSV.")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, initial="auto")
    profile = forms.ModelChoiceField(
        queryset=StatementCsvProfile.objects.all(),
        required=False,
        help_text="For CSV files: how this bank lays out its columns.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = statement_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,} (BANKING_STATEMENT_MAX_BYTES)."
            )
        return upload


class StatementImportAdminMixin:
    """Add ``import/`` and its button to a ``BankStatement`` model admin."""

    change_list_template = "admin/banking/bankstatement/change_list.html"
    import_template = "admin/banking/bankstatement/import.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [path("import/", self.admin_site.admin_view(self.import_view), name=name), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": request.user.has_perm(IMPORT_PERMISSION)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        result = None
        form = StatementImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = statement_import(
                    bank_account=data["bank_account"],
                    content=data["file"].read(),
                    file_name=data["file"].name,
                    format=data["format"],
                    profile=data["profile"],
                    user=request.user,
                )
            except DomainError as exc:
                form.add_error(_FORM_FIELDS.get(exc.field), exc.message)
            else:
                level = messages.WARNING if result.inconsistent_statements else messages.SUCCESS
                messages.add_message(
                    request,
                    level,
                    f"{result.file_name}: {result.lines_read} line(s) read, {result.new_lines} new, "
                    f"{result.duplicate_lines} duplicate(s) skipped.",
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import a bank statement",
            "form": form,
            "result": result,
            "result_rows": _result_rows(result),
            "changelist_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
        }
        return TemplateResponse(request, self.import_template, context)


def _result_rows(result):
    """Each imported statement with the month it closes and the link to reconcile that month."""
    if result is None:
        return []
    rows = []
    for outcome in result.statements:
        day = outcome.statement.to_date or outcome.statement.from_date
        period = f"{day:%Y-%m}" if day else ""
        url = (
            reverse("admin:banking_bankaccount_reconcile", args=[result.bank_account_id, period])
            if period
            else ""
        )
        rows.append((outcome, period, url))
    return rows
