"""The general ledger: chart of accounts, periods, postings and their GL lines.

A *posting* (``journal_postings``) is one balanced set of GL lines for one
source document, posted once: the pair (source type, source id, purpose) is
unique in the database, so a retry or a concurrent request can never post the
same document twice. Each GL line (``journal_entries``) is a debit or a credit,
never both and never negative; all lines of a posting share its ``reference``,
which contains the source's id. Lines carry their dimensions twice: as columns
for fast reports, and as ``dimension_assignments`` rows (one per dimension
type, an empty value meaning "unassigned") for the deployment guide's checks.

Posted lines are final. A correction is a reversal posting, dated in an open
period, whose lines mirror the original's and point back to them.
"""

import calendar
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from accounting.choices import AccountType, PeriodStatus, PostingPurpose, SourceType
from cnperp.exceptions import ConflictError
from cnperp.fields import CaseSensitiveCharField, KeyField, MoneyField, TrackedModel, key_field
from cnperp.hierarchy import HeldHierarchy
from dimensions.models import CostCenter, Department, DimensionType, Project

# The books' years. ASCII digits only: Python's \d also takes full-width and Arabic-Indic
# digits, which int() reads but the database keys would keep as typed. The bounds keep every
# month's arithmetic (90 days back for ageing, the day after its end) inside Python's dates.
FIRST_BOOK_YEAR, LAST_BOOK_YEAR = 1900, 2999


def in_books(day):
    """Return whether ``day`` falls in one of the books' years (a period can hold it)."""
    return FIRST_BOOK_YEAR <= day.year <= LAST_BOOK_YEAR


period_code_validator = RegexValidator(
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])\Z",
    message=f"Use the form YYYY-MM, for example 2025-10 (years {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}).",
    code="invalid_period",
)


class GLAccount(HeldHierarchy, TrackedModel):
    """An account of the chart of accounts."""

    id = key_field("gl")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    account_type = models.CharField(max_length=16, choices=AccountType.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        db_table = "gl_accounts"
        ordering = ["code"]
        verbose_name = "GL account"

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_debit_normal(self):
        """Assets and expenses grow with debits; the others with credits."""
        return self.account_type in (AccountType.ASSET, AccountType.EXPENSE)

    def clean(self):
        # A parent chain that loops back would make roll-ups of the chart never end. Here,
        # not in a serializer, so the API (record_update's full_clean) and the admin both refuse.
        # By id, so that a parent that does not exist (refused by its own field check) ends the walk.
        seen = {self.pk}
        node = self.parent_id
        while node is not None:
            if node in seen:
                raise ValidationError({"parent": "A GL account cannot be its own ancestor."})
            seen.add(node)
            node = GLAccount.objects.filter(pk=node).values_list("parent_id", flat=True).first()
        if not self.is_active and self.pk and not self._state.adding:
            # An active posting rule on an inactive account fails every posting it makes (409
            # account_inactive): retire or repoint the rule first, as PostingRule.clean asks.
            rules = self.posting_rules.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
            first = rules.first()
            if first is not None:
                raise ValidationError(
                    {
                        "is_active": f'Posting rule "{first}" still uses this account; deactivate the rule '
                        "or point it at another account first."
                    }
                )
            # Likewise a bank account's own GL account: every transaction of the bank would fail to
            # post, and a bank account's GL account is fixed once it has history.
            banks = self.bank_accounts.filter(is_active=True).order_by("pk")
            bank = banks.values_list("pk", flat=True).first()
            if bank is not None:
                raise ValidationError(
                    {
                        "is_active": f'Bank account "{bank}" keeps its books in this account; deactivate '
                        "the bank account first."
                    }
                )
        if self.pk and not self._state.adding:
            saved = GLAccount.objects.filter(pk=self.pk).values_list("account_type", flat=True).first()
            if saved is not None and saved != self.account_type and self.entries.exists():
                # The type decides which side an account grows on and whether it is balance sheet
                # or profit and loss: changed under posted lines, it would restate every report.
                raise ValidationError(
                    {
                        "account_type": f"This account has posted lines as {saved}; its type stays. "
                        "Open a new account of the right type for what is posted from now on."
                    }
                )


class AccountingPeriodQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=PeriodStatus.OPEN)

    def containing(self, day):
        return self.filter(start_date__lte=day, end_date__gte=day)


class AccountingPeriod(models.Model):
    """A calendar month of the ledger, ``YYYY-MM``, open or closed."""

    id = KeyField(primary_key=True, validators=[period_code_validator])
    start_date = models.DateField(unique=True)
    end_date = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = AccountingPeriodQuerySet.as_manager()

    class Meta:
        db_table = "accounting_periods"
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="period_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.id} ({self.get_status_display().lower()})"

    @property
    def is_open(self):
        return self.status == PeriodStatus.OPEN

    @staticmethod
    def bounds(code):
        """Return the first and last day of the month ``code`` (``YYYY-MM``)."""
        period_code_validator(code)
        year, month = int(code[:4]), int(code[5:])
        last = calendar.monthrange(year, month)[1]
        return datetime.date(year, month, 1), datetime.date(year, month, last)

    @staticmethod
    def code_for(day):
        return f"{day.year:04d}-{day.month:02d}"

    def clean(self):
        if self.id:
            try:
                start, end = self.bounds(self.id)
            except ValidationError:
                # The id's own validator (period_code_validator) has said why; said again here,
                # the form showed the same message twice.
                return
            if self.start_date and self.start_date != start:
                raise ValidationError({"start_date": f"Period {self.id} starts on {start}."})
            if self.end_date and self.end_date != end:
                raise ValidationError({"end_date": f"Period {self.id} ends on {end}."})


class PostedRecordIsFinal(ConflictError):
    """A posted ledger row was about to be changed or deleted (rule 2 of the brief)."""

    code = "posted_is_final"

    def __init__(self, model):
        super().__init__(
            f"Posted {model._meta.verbose_name_plural} are final: they are never changed or deleted. "
            "Post a reversal instead."
        )


class LedgerQuerySet(models.QuerySet):
    """Rows that are written once: no bulk update, no bulk delete (the admin's delete action included)."""

    def update(self, **kwargs):
        raise PostedRecordIsFinal(self.model)

    def delete(self):
        raise PostedRecordIsFinal(self.model)


class LedgerRecord(models.Model):
    """A row of the ledger: inserted once, then final.

    The guard lives here, not in a service, because it must hold for every door
    that reaches the ORM (admin, shell, a careless migration); on MariaDB/MySQL
    triggers hold it again for raw SQL (``accounting/migrations/0002``).
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PostedRecordIsFinal(type(self))
        # A forced insert refuses to overwrite an existing key instead of updating it.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PostedRecordIsFinal(type(self))


class JournalPosting(LedgerRecord):
    """One balanced posting of one source document (or its reversal)."""

    id = key_field("jp")
    reference = CaseSensitiveCharField(max_length=100, unique=True)
    source_type = models.CharField(max_length=32, choices=SourceType.choices)
    source_id = KeyField()
    purpose = models.CharField(max_length=8, choices=PostingPurpose.choices, default=PostingPurpose.POST)
    entry_date = models.DateField()
    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="postings")
    description = models.CharField(max_length=255, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reason = models.CharField(max_length=255, blank=True, help_text="Why a reversal was made.")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField()
    # Tamper evidence (accounting.ledger_chain): the posting's seal, chained to the one before.
    # Written with the posting, never after; NULL only for rows written behind the posting service.
    chain_sequence = models.BigIntegerField(unique=True, null=True, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        db_table = "journal_postings"
        ordering = ["-posted_at", "reference"]
        constraints = [
            # Rule 3: one source, one posting (and at most one reversal).
            models.UniqueConstraint(
                fields=["source_type", "source_id", "purpose"], name="one_posting_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["period", "entry_date"], name="posting_period_date_idx"),
            # The reversals dated after a month, per kind of document: the reports' month-end view
            # reads them as a range of this index (a few rows) instead of every later posting.
            models.Index(
                fields=["purpose", "source_type", "entry_date", "source_id"], name="posting_purpose_date_idx"
            ),
        ]

    def __str__(self):
        return self.reference


class LedgerChainHead(models.Model):
    """The end of the seal chain: the one row every posting transaction locks to extend it in order.

    It holds the sequence and hash of the newest seal, so a posting deleted from
    the end of the ledger still leaves a trace (``verify_ledger`` compares them).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ledger_chain_head"
        verbose_name = "ledger chain head"

    def __str__(self):
        return f"seal {self.last_sequence}: {self.last_hash[:12]}"


class JournalEntryQuerySet(LedgerQuerySet):
    def for_period(self, code):
        start, end = AccountingPeriod.bounds(code)
        return self.filter(entry_date__gte=start, entry_date__lte=end)

    def for_reference(self, reference):
        return self.filter(reference=reference)


class JournalEntry(LedgerRecord):
    """One GL line: a debit or a credit to one account, with its dimensions."""

    id = key_field("je")
    posting = models.ForeignKey(JournalPosting, on_delete=models.PROTECT, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    reference = models.CharField(max_length=100, db_index=True)
    entry_date = models.DateField()
    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="entries")
    debit = MoneyField(default=0)
    credit = MoneyField(default=0)
    description = models.CharField(max_length=255, blank=True)
    source_type = models.CharField(max_length=32, choices=SourceType.choices)
    source_id = KeyField()
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField()
    reversal_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    cost_center = models.ForeignKey(
        CostCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = JournalEntryQuerySet.as_manager()

    class Meta:
        db_table = "journal_entries"
        ordering = ["posting_id", "line_number"]
        verbose_name = "GL line"
        verbose_name_plural = "GL lines"
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="gl_line_is_debit_or_credit",
            ),
            models.UniqueConstraint(fields=["posting", "line_number"], name="gl_line_number_unique"),
        ]
        indexes = [
            # Reports read one account over a date range and sum debit and credit,
            # grouped by dimension; the covering index answers them without touching
            # the rows.
            models.Index(
                fields=["account", "entry_date", "cost_center", "project", "department", "debit", "credit"],
                name="gl_account_date_idx",
            ),
            models.Index(fields=["source_type", "source_id"], name="gl_source_idx"),
            models.Index(fields=["period", "account"], name="gl_period_account_idx"),
        ]

    def __str__(self):
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.reference} #{self.line_number} {side}"


class DimensionAssignment(LedgerRecord):
    """The value of one dimension on one GL line; all values empty means unassigned."""

    id = key_field("da")
    journal_entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="dimension_assignments"
    )
    dimension_type = models.CharField(max_length=16, choices=DimensionType.choices)
    cost_center = models.ForeignKey(
        CostCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        db_table = "dimension_assignments"
        constraints = [
            models.UniqueConstraint(
                fields=["journal_entry", "dimension_type"], name="one_assignment_per_dimension"
            ),
            # A row names a value of its own dimension type only.
            models.CheckConstraint(
                condition=(
                    Q(dimension_type=DimensionType.COST_CENTER, project__isnull=True, department__isnull=True)
                    | Q(
                        dimension_type=DimensionType.PROJECT,
                        cost_center__isnull=True,
                        department__isnull=True,
                    )
                    | Q(
                        dimension_type=DimensionType.DEPARTMENT,
                        cost_center__isnull=True,
                        project__isnull=True,
                    )
                ),
                name="assignment_matches_its_type",
            ),
        ]

    def __str__(self):
        return f"{self.journal_entry_id} {self.dimension_type}={self.value_id or 'unassigned'}"

    @property
    def value_id(self):
        return getattr(self, f"{self.dimension_type}_id")

    @property
    def is_unassigned(self):
        return self.value_id is None
