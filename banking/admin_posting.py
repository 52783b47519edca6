"""Admin actions that post banking documents to the general ledger and reverse them.

Finance staff select documents on a changelist and choose an action; each
action calls the same service the API calls (``banking.posting``), so a rule
holds whichever door a request comes through, and reports what it did in
the staff's words: how many were posted, which were skipped and why.

Each action needs its own permission (``banking.post_<model>``,
``banking.reverse_<model>``; a float's return counts as posting it, reversing
one of its returns as reversing it). Without it the action is not offered,
and if it is called anyway it refuses and changes nothing. A refusal of the
service (closed period, already reversed, matched to a statement line) is
shown as an error message, never a 500.

Reversal asks for its date and reason on an intermediate page; "Reverse and
correct" then opens the corrected draft that replaces the transaction, and
"Reverse one of its returns" (one float at a time) also asks which return.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.widgets import AdminDateWidget
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from banking.choices import PostingStatus
from banking.models import FloatReturn
from banking.posting import (
    bank_transaction_correct,
    bank_transaction_reverse,
    bank_transactions_post_batch,
    cash_submission_deposit_record,
    cash_submission_post,
    cash_submission_reverse,
    float_allocation_post,
    float_allocation_reverse,
    float_return_post,
    float_return_reverse,
)
from cnperp.admin import REFUSALS, refusal_message

FORM_TEMPLATE = "admin/banking/posting_action_form.html"
# A message lists at most this many documents by name; the rest are counted.
LISTED = 20
# Drafts per posting transaction (as ``post_transactions`` does by default).
ADMIN_BATCH_SIZE = 1000


class ReversalForm(forms.Form):
    reversal_date = forms.DateField(
        label="Reversal date",
        widget=AdminDateWidget,
        help_text="The date of the reversal posting; it must fall in an open period (YYYY-MM-DD).",
    )
    reason = forms.CharField(
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why the posting is reversed; kept on the reversal posting.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the posting is reversed.")
        return reason


class FloatReturnForm(forms.Form):
    return_date = forms.DateField(
        label="Return date",
        widget=AdminDateWidget,
        help_text="The day the cash came back to the bank; it must fall in an open period.",
    )
    returned_amount = forms.DecimalField(
        label="Returned amount",
        required=False,
        min_value=0,
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        help_text="The total that has come back of each float to date, every instalment together. More "
        "than its returns already posted is posted as a new instalment; the same total posts nothing. "
        "Empty: the amount recorded on each float.",
    )


class DepositRecordForm(forms.Form):
    """The bank's credit of a cash submission posted before it."""

    deposit_transaction = forms.CharField(
        label="Deposit",
        max_length=64,
        help_text="The id of the bank deposit that carried the cash: a deposit into the submission's "
        "account, not reversed, and not posted through its deposit rule.",
    )
    deposited_amount = forms.DecimalField(
        label="Deposited amount",
        required=False,
        min_value=0,
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        help_text="What reached the bank. Empty: what the branch expected.",
    )
    deposit_date = forms.DateField(
        label="Deposit date",
        required=False,
        widget=AdminDateWidget,
        help_text="When it reached the bank. Empty: the deposit's date.",
    )


class FloatReturnReversalForm(ReversalForm):
    """Which of the float's returns to reverse, with the reversal's date and reason."""

    float_return = forms.ChoiceField(
        label="Return",
        help_text="The float's returns not reversed; the one chosen is mirrored on the reversal date.",
    )
    field_order = ["float_return", "reversal_date", "reason"]

    def __init__(self, *args, returns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["float_return"].choices = [
            (item.pk, f"{item.gl_reference}: {item.amount} on {item.return_date.isoformat()}")
            for item in returns
        ]


def _listed(items):
    shown = "; ".join(items[:LISTED])
    if len(items) > LISTED:
        shown += f"; and {len(items) - LISTED} more"
    return shown


class PostingActionsMixin:
    """Post and reverse actions for a document admin; subclasses name the services and permissions."""

    post_permission = ""
    reverse_permission = ""
    document_label = "document"

    def has_post_permission(self, request):
        return request.user.has_perm(self.post_permission)

    def has_reverse_permission(self, request):
        return request.user.has_perm(self.reverse_permission)

    def _refused(self, request, permission):
        """Refuse (with a message) a user without ``permission`` who called the action anyway."""
        if request.user.has_perm(permission):
            return False
        self.message_user(
            request, f"You do not have the permission this action needs ({permission}).", messages.ERROR
        )
        return True

    def _plural(self, count):
        return f"{count} {self.document_label}{'' if count == 1 else 's'}"

    def _named(self, pk):
        # The kind before the id: "Bank transaction bt-1: ..." says what bt-1 is (and Django's
        # admin page used to capitalise a message's first letter: ids are case-sensitive).
        return f"{self.document_label.capitalize()} {pk}"

    def _report(self, request, *, done, verb, refused=(), left_alone=()):
        if done:
            self.message_user(request, f"{self._plural(done)} {verb}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"{self._plural(len(refused))} refused: {_listed(refused)}", messages.ERROR
            )
        if left_alone:
            message = f"{self._plural(len(left_alone))} left alone: {_listed(left_alone)}"
            self.message_user(request, message, messages.WARNING)
        if not (done or refused or left_alone):
            self.message_user(request, "Nothing to do.", messages.INFO)

    def _post_each(self, request, queryset, post):
        """Post the drafts of ``queryset`` one by one through ``post(pk)``; report what happened."""
        done, refused, left_alone = 0, [], []
        for pk, status in queryset.order_by("pk").values_list("pk", "posting_status"):
            if status != PostingStatus.DRAFT:
                left_alone.append(f"{pk}: already {PostingStatus(status).label.lower()}")
                continue
            try:
                _posting, created = post(pk)
            except REFUSALS as exc:
                refused.append(f"{pk}: {refusal_message(exc)}")
                continue
            if created:
                done += 1
            else:
                left_alone.append(f"{pk}: already posted")
        self._report(
            request, done=done, verb="posted to the general ledger", refused=refused, left_alone=left_alone
        )

    def _form_page(self, request, queryset, *, form, action, title, explanation, submit_label):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "explanation": explanation,
            "queryset": queryset.order_by("pk"),
            "form": form,
            "media": self.media + form.media,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit_label,
        }
        return TemplateResponse(request, FORM_TEMPLATE, context)

    def _one_to_reverse(self, request, queryset, one_at_a_time):
        """The one selected record's key for an action that reverses one at a time, else None
        (refused without the permission, or ``one_at_a_time`` said when not exactly one)."""
        return self._one_selected(request, queryset, self.reverse_permission, one_at_a_time)

    def _one_selected(self, request, queryset, permission, one_at_a_time):
        """The one selected record's key for an action that needs ``permission``, else None."""
        if self._refused(request, permission):
            return None
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        if len(ids) != 1:
            self.message_user(request, one_at_a_time, messages.ERROR)
            return None
        return ids[0]

    def _bound(self, request, form_class):
        """Return the intermediate form, bound when the user submitted it."""
        return form_class(request.POST) if request.POST.get("confirm") else form_class()

    def _reverse_each(self, request, queryset, reverse_one, *, action):
        """Ask for the reversal's date and reason, then reverse each selected document."""
        if self._refused(request, self.reverse_permission):
            return None
        form = self._bound(request, ReversalForm)
        if not form.is_bound or not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                action=action,
                title=f"Reverse {self.model._meta.verbose_name_plural}",
                explanation="Each posting below is mirrored by a reversal posting on the date you give; "
                "the original GL lines stay as they were.",
                submit_label="Reverse",
            )
        done, refused = 0, []
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                reverse_one(pk, form.cleaned_data["reversal_date"], form.cleaned_data["reason"])
            except REFUSALS as exc:
                refused.append(f"{pk}: {refusal_message(exc)}")
            else:
                done += 1
        self._report(request, done=done, verb="reversed", refused=refused)
        return None


class BankTransactionActionsMixin(PostingActionsMixin):
    post_permission = "banking.post_banktransaction"
    reverse_permission = "banking.reverse_banktransaction"
    document_label = "bank transaction"
    actions = ["post_to_ledger", "reverse_posted", "reverse_and_correct"]

    @admin.action(description="Post to the general ledger", permissions=["post"])
    def post_to_ledger(self, request, queryset):
        if self._refused(request, self.post_permission):
            return
        states = dict(queryset.values_list("pk", "posting_status"))
        drafts = sorted(pk for pk, status in states.items() if status == PostingStatus.DRAFT)
        left_alone = [
            f"{pk}: already {PostingStatus(status).label.lower()}"
            for pk, status in sorted(states.items())
            if status != PostingStatus.DRAFT
        ]
        posted, skipped = [], {}
        # The batch service: a transaction per batch, a few multi-row INSERTs each, a reason per
        # skipped draft. Batches keep "select all" over a long list from one huge transaction.
        for start in range(0, len(drafts), ADMIN_BATCH_SIZE):
            try:
                result = bank_transactions_post_batch(
                    transaction_ids=drafts[start : start + ADMIN_BATCH_SIZE], user=request.user
                )
            except REFUSALS as exc:
                skipped.update({pk: refusal_message(exc) for pk in drafts[start : start + ADMIN_BATCH_SIZE]})
                continue
            posted += result.posted
            skipped.update(result.skipped)
        # A draft posted or changed by someone else between the read and the lock.
        gone = set(drafts) - set(posted) - set(skipped)
        left_alone += [f"{pk}: no longer a draft" for pk in sorted(gone)]
        self._report(
            request,
            done=len(posted),
            verb="posted to the general ledger",
            refused=[f"{pk}: {reason}" for pk, reason in sorted(skipped.items())],
            left_alone=left_alone,
        )

    @admin.action(description="Reverse (asks for the date and reason)", permissions=["reverse"])
    def reverse_posted(self, request, queryset):
        return self._reverse_each(
            request,
            queryset,
            lambda pk, day, reason: bank_transaction_reverse(
                transaction_id=pk, user=request.user, reversal_date=day, reason=reason
            ),
            action="reverse_posted",
        )

    @admin.action(description="Reverse and correct (opens the corrected draft)", permissions=["reverse"])
    def reverse_and_correct(self, request, queryset):
        pk = self._one_to_reverse(
            request, queryset, "Select one transaction to reverse and correct at a time."
        )
        if pk is None:
            return None
        form = self._bound(request, ReversalForm)
        if not form.is_bound or not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                action="reverse_and_correct",
                title="Reverse and correct a bank transaction",
                explanation="The posting is reversed on the date you give, and a draft copy of the "
                "transaction opens for you to put right and post.",
                submit_label="Reverse and open the correction",
            )
        try:
            draft = bank_transaction_correct(
                transaction_id=pk,
                user=request.user,
                reversal_date=form.cleaned_data["reversal_date"],
                reason=form.cleaned_data["reason"],
            )
        except REFUSALS as exc:
            self.message_user(request, f"{self._named(pk)}: {refusal_message(exc)}", messages.ERROR)
            return None
        self.message_user(
            request,
            f'{pk} is reversed; its correction "{draft.pk}" is a draft: change what was wrong, '
            "save, then post it.",
            messages.SUCCESS,
        )
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(draft.pk)])
        )


class CashSubmissionActionsMixin(PostingActionsMixin):
    post_permission = "banking.post_cashsubmission"
    reverse_permission = "banking.reverse_cashsubmission"
    document_label = "cash submission"
    actions = ["post_to_ledger", "record_deposit", "reverse_posted"]

    @admin.action(description="Post to the general ledger", permissions=["post"])
    def post_to_ledger(self, request, queryset):
        if self._refused(request, self.post_permission):
            return
        self._post_each(
            request, queryset, lambda pk: cash_submission_post(submission_id=pk, user=request.user)
        )

    @admin.action(description="Reverse (asks for the date and reason)", permissions=["reverse"])
    def reverse_posted(self, request, queryset):
        return self._reverse_each(
            request,
            queryset,
            lambda pk, day, reason: cash_submission_reverse(
                submission_id=pk, user=request.user, reversal_date=day, reason=reason
            ),
            action="reverse_posted",
        )

    @admin.action(
        description="Record the bank's deposit (asks which deposit and how much)", permissions=["post"]
    )
    def record_deposit(self, request, queryset):
        pk = self._one_selected(
            request,
            queryset,
            self.post_permission,
            "Select one cash submission at a time to record its deposit.",
        )
        if pk is None:
            return None
        form = self._bound(request, DepositRecordForm)
        if not form.is_bound or not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                action="record_deposit",
                title="Record the bank's deposit of a posted cash submission",
                explanation="The submission was posted before the bank credited it, so all the branch sent "
                "is in cash in transit. Name the deposit that carried the cash: it will post through cash in "
                "transit. What the branch sent and did not reach the bank (or the excess) is posted now to "
                "cash over/short, on the deposit date.",
                submit_label="Record the deposit",
            )
        data = form.cleaned_data
        try:
            submission, difference, created = cash_submission_deposit_record(
                submission_id=pk,
                user=request.user,
                deposit_transaction_id=data["deposit_transaction"],
                deposited_amount=data["deposited_amount"],
                deposit_date=data["deposit_date"],
            )
        except REFUSALS as exc:
            self.message_user(request, f"{self._named(pk)}: {refusal_message(exc)}", messages.ERROR)
            return None
        said = (
            f"{self._named(pk)}: {submission.deposited_amount} reached the bank on "
            f"{submission.deposit_date.isoformat()} through {submission.deposit_transaction_id}"
        )
        if difference is not None:
            variance = submission.variance
            said += (
                f"; {abs(variance)} {'short' if variance < 0 else 'over'} posted as {difference.reference}"
            )
        if created:
            self.message_user(request, f"{said}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{said}: already recorded, nothing new.", messages.WARNING)
        return None


class FloatAllocationActionsMixin(PostingActionsMixin):
    post_permission = "banking.post_floatallocation"
    reverse_permission = "banking.reverse_floatallocation"
    document_label = "float allocation"
    actions = ["post_to_ledger", "post_return", "reverse_return", "reverse_posted"]

    @admin.action(description="Post to the general ledger", permissions=["post"])
    def post_to_ledger(self, request, queryset):
        if self._refused(request, self.post_permission):
            return
        self._post_each(
            request, queryset, lambda pk: float_allocation_post(allocation_id=pk, user=request.user)
        )

    @admin.action(description="Post the float's return (asks for the date)", permissions=["post"])
    def post_return(self, request, queryset):
        if self._refused(request, self.post_permission):
            return None
        form = self._bound(request, FloatReturnForm)
        if not form.is_bound or not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                action="post_return",
                title="Post the return of floats",
                explanation="What came back of each float is posted: the bank debited, the branch float "
                "credited. Give the total returned to date: the part not posted yet is posted as a new "
                "instalment on the return date.",
                submit_label="Post the return",
            )
        done, refused, left_alone = 0, [], []
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                _posting, created = float_return_post(
                    allocation_id=pk,
                    user=request.user,
                    returned_amount=form.cleaned_data["returned_amount"],
                    return_date=form.cleaned_data["return_date"],
                )
            except REFUSALS as exc:
                refused.append(f"{pk}: {refusal_message(exc)}")
                continue
            if created:
                done += 1
            else:
                left_alone.append(f"{pk}: that total is already posted, nothing more came back")
        self._report(request, done=done, verb="returned and posted", refused=refused, left_alone=left_alone)
        return None

    @admin.action(
        description="Reverse one of its returns (asks which, the date and reason)", permissions=["reverse"]
    )
    def reverse_return(self, request, queryset):
        pk = self._one_to_reverse(
            request, queryset, "Select one float at a time to reverse one of its returns."
        )
        if pk is None:
            return None
        standing = FloatReturn.objects.filter(allocation_id=pk, posting_status=PostingStatus.POSTED).order_by(
            "number"
        )
        if not standing.exists():
            self.message_user(request, f"{self._named(pk)}: no posted return to reverse.", messages.WARNING)
            return None
        data = request.POST if request.POST.get("confirm") else None
        form = FloatReturnReversalForm(data, returns=list(standing))
        if not form.is_bound or not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                action="reverse_return",
                title="Reverse a return of a float",
                explanation="The return you choose is mirrored by a reversal posting on the date you "
                "give (the bank credited, the branch float debited back); its posting stays as it was, and "
                "the float's returned amount and status follow. Post the right total afterwards if some "
                "cash did come back.",
                submit_label="Reverse the return",
            )
        chosen = form.cleaned_data["float_return"]
        try:
            reversal = float_return_reverse(
                return_id=chosen,
                user=request.user,
                reversal_date=form.cleaned_data["reversal_date"],
                reason=form.cleaned_data["reason"],
            )
        except REFUSALS as exc:
            self.message_user(request, f"{self._named(pk)}: {refusal_message(exc)}", messages.ERROR)
            return None
        self.message_user(
            request, f"{self._named(pk)}: return {chosen} reversed by {reversal.reference}.", messages.SUCCESS
        )
        return None

    @admin.action(description="Reverse (asks for the date and reason)", permissions=["reverse"])
    def reverse_posted(self, request, queryset):
        return self._reverse_each(
            request,
            queryset,
            lambda pk, day, reason: float_allocation_reverse(
                allocation_id=pk, user=request.user, reversal_date=day, reason=reason
            ),
            action="reverse_posted",
        )
