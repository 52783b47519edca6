"""Banking documents: bank accounts, their transactions, branch cash, transfers,
statements and reconciliations.

Every amount is a positive ``Decimal`` with a direction (in or out of the bank
account), except statement lines, which keep the bank's signed amount exactly as
the statement gives it. Documents move from ``draft`` to ``posted`` (GL lines
written) and possibly to ``reversed``; a posted document is never edited.

A transfer between two of our accounts is one tracked object
(``bank_transfers``) with two legs, each an ordinary bank transaction of type
``transfer``: the sending leg on the source account and the receiving leg on the
destination account, both posted through the in-transit (clearing) account.
Its allocations (``bank_transfer_allocations``) split it across dimensions.
"""

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from accounting.choices import AccountType
from accounting.models import (
    FIRST_BOOK_YEAR,
    LAST_BOOK_YEAR,
    AccountingPeriod,
    GLAccount,
    JournalEntry,
    in_books,
)
from banking.choices import (
    TYPE_DIRECTION,
    AmountMode,
    BalanceStatus,
    CashSubmissionStatus,
    Direction,
    FloatStatus,
    LineMatchStatus,
    MatchStatus,
    PostingDocument,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    StatementFormat,
    TransactionType,
    TransferStatus,
)
from banking.statement_encodings import ACCEPTED as STATEMENT_ENCODING_NAMES
from banking.statement_encodings import validate_statement_encoding
from cnperp.fields import (
    KeyField,
    MoneyField,
    TrackedModel,
    key_field,
    not_negative_amount,
    positive_amount,
)
from dimensions.models import Branch, CostCenter, Department, Project

POSITIVE = Q(amount__gt=0)


def validate_book_date(value):
    """Refuse a document date outside the books' years.

    Posting files a document in the period of its date, and periods exist only
    for the years 1900 to 2999 (``accounting.models``): a date outside them
    could be saved but never posted, so it is refused where it is typed.
    """
    if value is not None and not in_books(value):
        raise ValidationError(
            f"Give a date in the years {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR}; {value.isoformat()} "
            "lies outside the books.",
            code="date_out_of_books",
        )


def _book_date(**kwargs):
    return models.DateField(validators=[validate_book_date], **kwargs)


# What a CSV profile's amounts may be written with: the importer strips the
# thousands separator and then reads the decimal mark (banking.importers.csv_profile),
# so anything else (a digit, a letter) would silently change the amounts.
CSV_DECIMAL_MARKS = (".", ",")
# Characters an amount is written with; a delimiter, quote or thousands separator among them would
# split, swallow or change amounts (a separator "1" read 12.50 as 2.50).
CSV_AMOUNT_CHARACTERS = frozenset("0123456789+-()")


def _amount_character(character):
    return character in CSV_AMOUNT_CHARACTERS or character.isalnum()


def _dimension(model, **kwargs):
    return models.ForeignKey(
        model, on_delete=models.PROTECT, null=True, blank=True, related_name="+", **kwargs
    )


def _user(**kwargs):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        **kwargs,
    )


class PostedDocument(TrackedModel):
    """The posting columns every postable document shares."""

    posting_status = models.CharField(
        max_length=10, choices=PostingStatus.choices, default=PostingStatus.DRAFT
    )
    posted_at = models.DateTimeField(null=True, blank=True, editable=False)
    posted_by = _user()
    gl_reference = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_draft(self):
        return self.posting_status == PostingStatus.DRAFT


class BankAccount(TrackedModel):
    """One of the business's bank accounts, such as ``ba-op``, linked to its GL account."""

    id = key_field("ba")
    name = models.CharField(max_length=200)
    bank_name = models.CharField(max_length=200)
    account_number = models.CharField(max_length=64, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True, db_index=True)
    bic = models.CharField("BIC", max_length=11, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="bank_accounts")
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="bank_accounts"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "bank_accounts"
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.id})"

    def _check_bank_details(self):
        """Refuse an IBAN whose check digits fail and a BIC of the wrong shape, as typed or changed.

        The statement import finds the account by its IBAN: one mistyped would match no
        statement. Written in groups ("GB33 BUKB ...") or in lower case, it is kept compact and in
        capitals. An account recorded before the check keeps its IBAN until someone changes it.
        """
        stored = BankAccount.objects.filter(pk=self.pk).values_list("iban", "bic").first() or ("", "")
        stored = [compact_code(code) for code in stored]
        if self.iban:
            self.iban = compact_code(self.iban)
            if self.iban != stored[0] and not iban_valid(self.iban):
                raise ValidationError(
                    {"iban": f"{self.iban} is not an IBAN: its check digits or its length do not fit."}
                )
        if self.bic:
            self.bic = compact_code(self.bic)
            if self.bic != stored[1] and not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", self.bic):
                raise ValidationError(
                    {"bic": f"{self.bic} is not a BIC: 8 or 11 letters and digits, such as DEUTDEFF500."}
                )

    def _check_gl_account_holds_money(self):
        """The bank's books are the lines on its GL account: an income or expense account (sales,
        bank charges) would show its revenue or costs as the bank's cash, and a posting rule's
        account (cash in transit, branch floats) the other side of the bank's own postings."""
        kind = GLAccount.objects.filter(pk=self.gl_account_id).values_list("account_type", flat=True).first()
        if kind not in (None, AccountType.ASSET, AccountType.LIABILITY):
            raise ValidationError(
                {
                    "gl_account": f"GL account {self.gl_account_id} is an {kind} account; a bank account "
                    "keeps its books on an asset account (or a liability one, for an overdraft)."
                }
            )
        rule = (
            PostingRule.objects.filter(contra_account_id=self.gl_account_id)
            .values_list("document_type", flat=True)
            .first()
        )
        if rule is not None:
            raise ValidationError(
                {
                    "gl_account": f"GL account {self.gl_account_id} is the account of a "
                    f"{PostingDocument(rule).label.lower()} posting rule; a bank account needs a GL "
                    "account of its own."
                }
            )

    def clean(self):
        # A to Z only: "éur" is no ISO 4217 code, and "ßus" upper-cases to four letters (SSUS).
        if self.currency and not re.fullmatch(r"[A-Za-z]{3}", self.currency):
            raise ValidationError({"currency": "Use a three-letter ISO 4217 code, such as USD."})
        if self.currency:
            self.currency = self.currency.upper()
        if not self.account_number and not self.iban:
            raise ValidationError({"account_number": "Give an account number or an IBAN."})
        self._check_bank_details()
        # The GL account is checked when chosen: an account kept on one made inactive since, or
        # sharing one with another account from before that rule, stays editable.
        stored = (
            None
            if self._state.adding
            else BankAccount.objects.filter(pk=self.pk).values_list("gl_account_id", flat=True).first()
        )
        chosen = bool(self.gl_account_id) and (self._state.adding or stored != self.gl_account_id)
        if chosen and not _gl_account_active(self.gl_account_id):
            raise ValidationError(
                {"gl_account": f"GL account {self.gl_account_id} is inactive; choose an active one."}
            )
        if chosen:
            self._check_gl_account_holds_money()
        # The books of a bank account are the lines on its GL account: two accounts on one GL
        # account would each show the other's money, and the reports' totals would disagree.
        sharing = (
            BankAccount.objects.filter(gl_account_id=self.gl_account_id)
            .exclude(pk=self.pk)
            .values_list("pk", flat=True)
            if chosen
            else []
        )
        if sharing:
            raise ValidationError(
                {
                    "gl_account": f"GL account {self.gl_account_id} is already the ledger account of bank "
                    f"account {sharing[0]}; each bank account needs a GL account of its own."
                }
            )
        refusal = self.ledger_change_refusal()
        if refusal:
            field, message = refusal
            raise ValidationError({field: message}, code="bank_account_in_use")

    # The reports find an account's history through its GL account and show it in
    # its currency: changing either once there is history would make the history
    # vanish from the account's reports (or show it in the wrong currency).
    LEDGER_FIELDS = (("gl_account_id", "gl_account", "GL account"), ("currency", "currency", "currency"))

    def ledger_change_refusal(self):
        """Return ``(field, message)`` when this unsaved change moves the GL account or the
        currency of an account that already has history; ``None`` when the change may be saved."""
        if self._state.adding or self.pk is None:
            return None
        saved = BankAccount.objects.filter(pk=self.pk).values("gl_account_id", "currency").first()
        if saved is None:
            return None
        # Keys are case-sensitive (GL-1010 is not gl-1010); a currency code is not.
        changed = [
            (field, label)
            for attribute, field, label in self.LEDGER_FIELDS
            if (getattr(self, attribute) or "") != (saved[attribute] or "")
            and not (
                attribute == "currency" and (self.currency or "").upper() == (saved["currency"] or "").upper()
            )
        ]
        if not changed:
            return None
        history = self.history(saved["gl_account_id"])
        if not history:
            return None
        field, label = changed[0]
        return field, (
            f"The {label} of bank account {self.pk} cannot change: the account already has "
            f"{' and '.join(history)}, which would disappear from its reports. "
            "Open a new bank account instead."
        )

    def history(self, gl_account_id):
        """Name what ties this account to its GL account and currency (empty: nothing yet).

        Whatever its reports show: any line on its GL account (the reports read the books by
        GL account, so a manual opening balance counts), its documents, transfers, statements
        and reconciliations. The cheap look-ups first; the first found is enough to refuse.
        """
        tied = (
            ("bank transactions", BankTransaction.objects.filter(bank_account_id=self.pk)),
            ("statements", BankStatement.objects.filter(bank_account_id=self.pk)),
            (
                "transfers",
                BankTransfer.objects.filter(Q(from_bank_account_id=self.pk) | Q(to_bank_account_id=self.pk)),
            ),
            ("cash submissions", CashSubmission.objects.filter(bank_account_id=self.pk)),
            ("float allocations", FloatAllocation.objects.filter(bank_account_id=self.pk)),
            ("reconciliations", BankReconciliation.objects.filter(bank_account_id=self.pk)),
            ("lines on its GL account", JournalEntry.objects.filter(account_id=gl_account_id)),
        )
        for name, queryset in tied:
            if queryset.exists():
                return [name]
        return []


class BankTransfer(TrackedModel):
    """Money moved between two of our bank accounts, tracked from start to receipt."""

    id = key_field("tr")
    from_bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transfers_out")
    to_bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transfers_in")
    amount = MoneyField(validators=[positive_amount])
    received_amount = MoneyField(null=True, blank=True, validators=[not_negative_amount])
    initiated_date = _book_date()
    received_date = _book_date(null=True, blank=True)
    status = models.CharField(max_length=12, choices=TransferStatus.choices, default=TransferStatus.INITIATED)
    reference = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    # When it was known not to arrive: a past month's transfer tracking shows it open until then.
    failed_date = _book_date(null=True, blank=True)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    cost_center = _dimension(CostCenter)
    project = _dimension(Project)
    department = _dimension(Department)

    class Meta:
        db_table = "bank_transfers"
        ordering = ["-initiated_date", "id"]
        # Transfer tracking reads an account's transfers of a month in parts, each a
        # range of one of these (banking.reports): sent in it (by initiated date, per
        # side), sent before it and received in or after it (by received date, per
        # side; a past month reads the index entries of every later receipt, index
        # only), still open (by status) and failed in or after it (by status and
        # failed date). The current month reads about its own transfers, where one
        # OR over the account read its whole history.
        indexes = [
            models.Index(fields=["from_bank_account", "initiated_date"], name="transfer_from_initiated"),
            models.Index(fields=["to_bank_account", "initiated_date"], name="transfer_to_initiated"),
            models.Index(
                fields=["from_bank_account", "received_date", "initiated_date"], name="transfer_from_received"
            ),
            models.Index(
                fields=["to_bank_account", "received_date", "initiated_date"], name="transfer_to_received"
            ),
            models.Index(fields=["status", "initiated_date"], name="transfer_status_initiated"),
            # Failed in or after a month: the failed ones of those days, not every failure ever.
            models.Index(fields=["status", "failed_date"], name="transfer_status_failed"),
            # Failed before a month, per side: the account's own failures (few), whose sending legs
            # say whether the money is still stranded in transit.
            models.Index(fields=["from_bank_account", "status", "failed_date"], name="transfer_from_failed"),
            models.Index(fields=["to_bank_account", "status", "failed_date"], name="transfer_to_failed"),
        ]
        constraints = [
            models.CheckConstraint(condition=POSITIVE, name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=Q(received_amount__isnull=True) | Q(received_amount__gte=0),
                name="transfer_received_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(from_bank_account=models.F("to_bank_account")),
                name="transfer_between_two_accounts",
            ),
        ]

    def __str__(self):
        return f"Transfer {self.id}: {self.from_bank_account_id} -> {self.to_bank_account_id} {self.amount}"

    def clean(self):
        if self.from_bank_account_id and self.from_bank_account_id == self.to_bank_account_id:
            raise ValidationError({"to_bank_account": "A transfer needs two different accounts."})
        _not_before(
            self.failed_date,
            self.initiated_date,
            "failed_date",
            f"A transfer initiated on {self.initiated_date} cannot fail before, on {self.failed_date}.",
        )
        if self._state.adding:
            # Recorded when it is sent: dated ahead, it could be neither received nor failed (both
            # are news from the bank, never dated after today) while its leg could post into transit.
            not_after_today(self.initiated_date, "initiated_date", "A transfer cannot be sent")
        if self._state.adding and self.from_bank_account_id and self.to_bank_account_id:
            # Nothing here converts money: 1,000 USD would arrive as 1,000 EUR, and the
            # transit account would still net to zero. Checked when recorded only: one
            # recorded before the check must still be failed or received.
            sent, kept = self.from_bank_account.currency.upper(), self.to_bank_account.currency.upper()
            if sent != kept:
                raise ValidationError(
                    {
                        "to_bank_account": f"{self.to_bank_account_id} is kept in {kept} and "
                        f"{self.from_bank_account_id} in {sent}: a transfer moves one currency. "
                        "Record the exchange as a withdrawal and a deposit."
                    }
                )
        _not_before(
            self.received_date,
            self.initiated_date,
            "received_date",
            "The transfer cannot arrive before it was sent.",
        )


class BankTransaction(PostedDocument):
    """A movement on a bank account, tagged with branch and dimensions, posted to the GL."""

    id = key_field("bt")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transactions")
    transaction_type = models.CharField(max_length=20, choices=TransactionType.choices)
    direction = models.CharField(
        max_length=3,
        choices=Direction.choices,
        blank=True,
        help_text="Filled from the type when left empty; transfers and adjustments must say it.",
    )
    amount = MoneyField(validators=[positive_amount])
    transaction_date = _book_date()
    value_date = _book_date(null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    end_to_end_id = models.CharField("end-to-end id", max_length=100, blank=True)
    description = models.CharField(max_length=255, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="bank_transactions"
    )
    cost_center = _dimension(CostCenter)
    project = _dimension(Project)
    department = _dimension(Department)
    reconciliation_status = models.CharField(
        max_length=12, choices=ReconciliationStatus.choices, default=ReconciliationStatus.UNRECONCILED
    )
    reconciled_at = models.DateTimeField(null=True, blank=True, editable=False)
    transfer = models.ForeignKey(
        BankTransfer, on_delete=models.PROTECT, null=True, blank=True, related_name="legs"
    )
    # A transfer has one live leg per direction; a reversed leg is no longer live (NULL, which a
    # unique index lets repeat), so a receipt reversed in the books can be received again.
    live_leg = models.BooleanField(null=True, default=True, db_default=True, editable=False)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        help_text="The reversed transaction this one replaces.",
    )

    class Meta:
        db_table = "bank_transactions"
        ordering = ["-transaction_date", "id"]
        constraints = [
            models.CheckConstraint(condition=POSITIVE, name="bank_transaction_amount_positive"),
            models.CheckConstraint(
                condition=Q(direction__in=[Direction.IN, Direction.OUT]), name="bank_transaction_direction"
            ),
            models.UniqueConstraint(
                fields=["transfer", "direction", "live_leg"], name="one_live_leg_per_direction"
            ),
        ]
        indexes = [
            models.Index(fields=["bank_account", "transaction_date"], name="idx_bt_account_date"),
            models.Index(fields=["posting_status", "transaction_date"], name="idx_bt_status_date"),
            models.Index(fields=["cost_center", "transaction_date"], name="idx_bt_cost_center"),
            models.Index(fields=["project", "transaction_date"], name="idx_bt_project"),
            models.Index(fields=["department", "transaction_date"], name="idx_bt_department"),
            # Covering for the variance report's open items, in the order it groups
            # them: the account's open items are read already grouped by dimension
            # (no temporary table), aged and summed from the index alone. Queries
            # of one month's open items use idx_bt_account_date.
            models.Index(
                fields=[
                    "bank_account",
                    "reconciliation_status",
                    "cost_center",
                    "project",
                    "department",
                    "transaction_date",
                    "posting_status",
                    "direction",
                    "amount",
                ],
                name="idx_bt_recon",
            ),
            models.Index(fields=["reference"], name="idx_bt_reference"),
        ]

    def __str__(self):
        return f"{self.id} {self.get_transaction_type_display()} {self.amount}"

    def save(self, *args, **kwargs):
        # The deployment guide creates transactions with a type and no direction;
        # the type alone says which way a deposit or a fee moves money.
        if not self.direction:
            self.direction = TYPE_DIRECTION.get(self.transaction_type, "")
        super().save(*args, **kwargs)

    @property
    def signed_amount(self):
        return self.amount if self.direction == Direction.IN else -self.amount


class BankTransferAllocation(TrackedModel):
    """The share of a transfer that belongs to one combination of dimensions."""

    id = key_field("bta")
    transfer = models.ForeignKey(BankTransfer, on_delete=models.PROTECT, related_name="allocations")
    line_number = models.PositiveSmallIntegerField(default=1)
    # Copied from the transfer so that per-account tracking reads one table.
    from_bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    to_bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(validators=[positive_amount])
    received_amount = MoneyField(null=True, blank=True)
    cost_center = _dimension(CostCenter)
    project = _dimension(Project)
    department = _dimension(Department)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "bank_transfer_allocations"
        ordering = ["transfer_id", "line_number"]
        constraints = [
            models.CheckConstraint(condition=POSITIVE, name="allocation_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["transfer", "line_number"], name="idx_bta_transfer"),
            models.Index(fields=["cost_center", "project", "department"], name="idx_bta_dimensions"),
        ]

    def __str__(self):
        return f"{self.transfer_id} #{self.line_number} {self.amount}"


class CashSubmission(PostedDocument):
    """Cash a branch sends to the bank: what the branch counted against what the bank credited."""

    id = key_field("cs")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="cash_submissions")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="cash_submissions")
    submission_date = _book_date()
    expected_amount = MoneyField(validators=[positive_amount])
    deposited_amount = MoneyField(null=True, blank=True, validators=[not_negative_amount])
    deposit_date = _book_date(null=True, blank=True)
    deposit_transaction = models.ForeignKey(
        BankTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cash_submissions",
        help_text="The bank deposit this cash went into.",
    )
    status = models.CharField(
        max_length=10, choices=CashSubmissionStatus.choices, default=CashSubmissionStatus.SUBMITTED
    )
    reference = models.CharField(max_length=100, blank=True)
    submitted_by_name = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    cost_center = _dimension(CostCenter)
    project = _dimension(Project)
    department = _dimension(Department)

    class Meta:
        db_table = "cash_submissions"
        ordering = ["-submission_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(expected_amount__gt=0), name="submission_expected_positive"),
            models.CheckConstraint(
                condition=Q(deposited_amount__isnull=True) | Q(deposited_amount__gte=0),
                name="submission_deposited_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["branch", "submission_date"], name="idx_cs_branch_date")]

    def __str__(self):
        return f"{self.id} {self.branch_id} {self.expected_amount}"

    def clean(self):
        _not_before(
            self.deposit_date,
            self.submission_date,
            "deposit_date",
            f"Cash submitted on {self.submission_date} cannot be deposited before, on {self.deposit_date}.",
        )
        # Its over/short would post on a day not come.
        not_after_today(self.deposit_date, "deposit_date", "The bank cannot have credited the cash")
        # Posted ahead, its cash would sit in transit in a month not come, and no deposit could
        # ever be recorded for it (a deposit is never dated before the cash was submitted).
        not_after_today(self.submission_date, "submission_date", "A branch cannot have submitted the cash")
        # The status says where the cash is; the amounts say it too, and must not say otherwise.
        if self.status == CashSubmissionStatus.DEPOSITED and self.deposited_amount is None:
            raise ValidationError(
                {
                    "status": "A submission is deposited once what reached the bank is given: fill in "
                    "the deposited amount (and its date), or leave it submitted."
                }
            )

    @property
    def variance(self):
        """Deposited less expected: negative when cash went missing."""
        if self.deposited_amount is None:
            return None
        return self.deposited_amount - self.expected_amount


def _not_before(later, earlier, field, message):
    """Refuse ``later`` dated before ``earlier`` (either may be unset), naming ``field``."""
    if later and earlier and later < earlier:
        raise ValidationError({field: message})


def not_after_today(day, field, what):
    """Refuse ``day`` (may be unset) after today, naming ``field``: news from the bank (a receipt, a
    failure, a credit) cannot be dated on a day that has not come; ``what`` says what happened."""
    today = timezone.localdate()
    if day and day > today:
        raise ValidationError({field: f"{what} on {day}, after today ({today})."})


# The IBAN's length in each country of the ISO 13616 registry that uses it; a country not listed
# is held to the general 15 to 34 characters.
IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "TL"], 23),
    **dict.fromkeys(["CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
}


def compact_code(text):
    """An IBAN or BIC as typed ("gb33 bukb ..."), without its spaces and in capitals."""
    return "".join((text or "").split()).upper()


def iban_valid(iban):
    """Whether ``iban`` (compact, in capitals) has an IBAN's shape, length and check digits (ISO 13616)."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    if len(iban) != IBAN_LENGTHS.get(iban[:2], len(iban)):
        return False
    digits = "".join(str(int(char, 36)) for char in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def float_status(amount, returned):
    """The status of a float of ``amount`` with ``returned`` back: it follows the amounts."""
    if not returned:
        return FloatStatus.ALLOCATED
    return FloatStatus.RETURNED if returned == amount else FloatStatus.PARTIALLY_RETURNED


class FloatAllocation(PostedDocument):
    """A cash float given to a branch from a bank account, and what came back of it."""

    id = key_field("fa")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="float_allocations")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="float_allocations")
    allocation_date = _book_date()
    amount = MoneyField(validators=[positive_amount])
    purpose = models.CharField(max_length=255, blank=True)
    custodian = models.CharField(max_length=200, blank=True)
    returned_amount = MoneyField(default=0, validators=[not_negative_amount])
    return_date = _book_date(null=True, blank=True)
    return_gl_reference = models.CharField(max_length=100, blank=True, editable=False)
    status = models.CharField(max_length=20, choices=FloatStatus.choices, default=FloatStatus.ALLOCATED)
    cost_center = _dimension(CostCenter)
    department = _dimension(Department)

    class Meta:
        db_table = "float_allocations"
        ordering = ["-allocation_date", "id"]
        constraints = [
            models.CheckConstraint(condition=POSITIVE, name="float_amount_positive"),
            models.CheckConstraint(
                condition=Q(returned_amount__gte=0) & Q(returned_amount__lte=models.F("amount")),
                name="float_return_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["branch", "allocation_date"], name="idx_fa_branch_date")]

    def __str__(self):
        return f"{self.id} {self.branch_id} {self.amount}"

    def clean(self):
        _not_before(
            self.return_date,
            self.allocation_date,
            "return_date",
            f"A float given on {self.allocation_date} cannot come back before, on {self.return_date}.",
        )
        # Cash handed over, or handed back: facts of a day that has come, as the bank's news is.
        not_after_today(self.allocation_date, "allocation_date", "A float cannot have been given")
        not_after_today(self.return_date, "return_date", "A float cannot have come back")
        if (
            self.returned_amount is not None
            and self.amount is not None
            and self.amount > 0
            and self.returned_amount > self.amount
        ):
            raise ValidationError(
                {"returned_amount": f"More cannot come back than was allocated ({self.amount})."}
            )

    @property
    def outstanding_amount(self):
        # A reversed float was never given: the branch holds none of it, as its float account says.
        if self.posting_status == PostingStatus.REVERSED:
            return Decimal("0.00")
        # Posted, it counts the returns posted (the summary those keep), as the float account does:
        # a return recorded on the float before posting is what post-return will take, not yet back.
        if self.posting_status == PostingStatus.POSTED and not self.return_gl_reference:
            return self.amount
        return self.amount - self.returned_amount


class FloatReturn(PostedDocument):
    """One instalment of cash a branch handed back from its float, posted on its own.

    A branch may return its float in several instalments; each is posted as its
    own balanced posting (bank debited, branch float credited) whose source is
    this row, and a wrong one is reversed on its own. The float allocation keeps
    the running summary (``returned_amount``, ``return_date``,
    ``return_gl_reference``, ``status``) of the instalments not reversed.

    A float's first return takes the float's own id (its posting is
    ``FR-fa-1``, as before instalments, and the returns posted before this table
    existed keep their postings that way: banking 0011); later ones get a key of
    their own (``fr-...``). ``number`` counts a float's instalments, reversed
    ones included, and is unique per float: two instalments recorded at the same
    moment cannot both be the third.
    """

    id = key_field("fr")
    allocation = models.ForeignKey(FloatAllocation, on_delete=models.PROTECT, related_name="returns")
    number = models.PositiveIntegerField(help_text="The float's first, second, ... return.")
    return_date = _book_date()
    amount = MoneyField(validators=[positive_amount])
    reversal_date = _book_date(null=True, blank=True, editable=False)
    reversal_reason = models.CharField(max_length=255, blank=True, editable=False)
    reversal_gl_reference = models.CharField(max_length=100, blank=True, editable=False)
    reversed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reversed_by = _user()

    class Meta:
        db_table = "float_returns"
        ordering = ["allocation_id", "number"]
        constraints = [
            models.CheckConstraint(condition=POSITIVE, name="float_return_amount_positive"),
            models.UniqueConstraint(fields=["allocation", "number"], name="float_return_number_once"),
        ]

    def __str__(self):
        return f"{self.gl_reference or self.id}: {self.amount} on {self.return_date}"

    @property
    def is_reversed(self):
        return self.posting_status == PostingStatus.REVERSED


class PostingRule(TrackedModel):
    """Which GL account takes the other side of a document's bank line.

    A rule without a bank account is the default for its document type; a rule
    with one overrides the default for that account (and one with a branch, for
    that branch's cash).
    """

    id = key_field("pr")
    document_type = models.CharField(max_length=20, choices=PostingDocument.choices)
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="posting_rules"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    contra_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="posting_rules")
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    # The rule's scope as one value the database computes: "<bank account>|<branch>", each "" when
    # empty ("|" for the default). NULLs never collide in a unique index, so a unique constraint on
    # the two nullable keys let two default rules saved at the same instant both stand.
    scope = models.GeneratedField(
        expression=Concat(
            Coalesce("bank_account_id", Value("")), Value("|"), Coalesce("branch_id", Value(""))
        ),
        output_field=models.CharField(max_length=129),  # two keys of 64 and the bar
        db_persist=True,
        editable=False,
    )

    class Meta:
        db_table = "posting_rules"
        ordering = ["document_type", "bank_account_id", "branch_id"]
        constraints = [
            models.UniqueConstraint(fields=["document_type", "scope"], name="one_rule_per_scope"),
        ]

    def __str__(self):
        scope = self.bank_account_id or self.branch_id or "default"
        return f"{self.get_document_type_display()} ({scope}) -> {self.contra_account}"

    def validate_constraints(self, exclude=None):
        # Django checks a unique constraint over a generated field by comparing the column with
        # its own expression (true on every row), not with this rule's scope: every rule of a
        # document type would clash. clean() checks the scope itself, naming document_type.
        super().validate_constraints(exclude={*(exclude or ()), "scope"})

    def clean(self):
        # NULLs never collide in a unique index, so the default rule is checked here.
        clash = PostingRule.objects.filter(
            document_type=self.document_type,
            bank_account_id=self.bank_account_id,
            branch_id=self.branch_id,
        ).exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError(
                {"document_type": "A rule for this document type and scope already exists."}
            )
        # An active rule on an inactive account would refuse every posting it scopes.
        if self.is_active and self.contra_account_id and not _gl_account_active(self.contra_account_id):
            raise ValidationError(
                {"contra_account": f"GL account {self.contra_account_id} is inactive; choose an active one."}
            )
        # The other side of BankAccount._check_gl_account_holds_money: a bank's GL account is its books,
        # so a rule posting to it would put another account's money, unchecked, into them.
        bank = (
            BankAccount.objects.filter(gl_account_id=self.contra_account_id)
            .values_list("pk", flat=True)
            .first()
            if self.contra_account_id
            else None
        )
        if bank is not None:
            raise ValidationError(
                {
                    "contra_account": f"GL account {self.contra_account_id} is the ledger account of bank "
                    f"account {bank}: its books. A posting rule needs an account of its own."
                }
            )


def _gl_account_active(account_id):
    return GLAccount.objects.filter(pk=account_id, is_active=True).exists()


class StatementCsvProfile(TrackedModel):
    """How one bank lays out its CSV statements; finance staff define these in the admin."""

    id = key_field("csv")
    name = models.CharField(max_length=100, unique=True)
    delimiter = models.CharField(max_length=1, default=",")
    quote_char = models.CharField(max_length=1, default='"')
    encoding = models.CharField(
        max_length=20,
        default="utf-8",
        validators=[validate_statement_encoding],
        help_text=f"The file's character set, one of: {', '.join(STATEMENT_ENCODING_NAMES)}.",
    )
    decimal_mark = models.CharField(max_length=1, default=".")
    thousands_separator = models.CharField(max_length=1, blank=True)
    date_format = models.CharField(max_length=20, default="%Y-%m-%d")
    skip_rows = models.PositiveSmallIntegerField(default=0, help_text="Rows to skip before the header.")
    has_header = models.BooleanField(default=True)
    amount_mode = models.CharField(max_length=8, choices=AmountMode.choices, default=AmountMode.SIGNED)
    negate_amounts = models.BooleanField(default=False, help_text="The bank prints debits as positive.")
    # Columns are named by header text, or by 0-based position when there is no header.
    date_column = models.CharField(max_length=64)
    value_date_column = models.CharField(max_length=64, blank=True)
    amount_column = models.CharField(max_length=64, blank=True)
    debit_column = models.CharField(max_length=64, blank=True)
    credit_column = models.CharField(max_length=64, blank=True)
    description_column = models.CharField(max_length=64, blank=True)
    reference_column = models.CharField(max_length=64, blank=True)
    counterparty_column = models.CharField(max_length=64, blank=True)
    counterparty_iban_column = models.CharField(max_length=64, blank=True)
    balance_column = models.CharField(max_length=64, blank=True)

    # Single characters that may be white space (a tab, a no-break space): never trimmed.
    SEPARATOR_FIELDS = ("delimiter", "quote_char", "decimal_mark", "thousands_separator")

    class Meta:
        db_table = "statement_csv_profiles"
        ordering = ["name"]
        verbose_name = "CSV statement profile"

    def __str__(self):
        return self.name

    def clean(self):
        if self.amount_mode == AmountMode.SIGNED and not self.amount_column:
            raise ValidationError({"amount_column": "A signed-amount profile needs the amount column."})
        if self.amount_mode == AmountMode.SPLIT and not (self.debit_column and self.credit_column):
            raise ValidationError({"debit_column": "A split profile needs both debit and credit columns."})
        errors = {}
        if self.amount_mode == AmountMode.SPLIT:
            # Negating is for a signed column. Split, the column says the direction: negating
            # turned a credit of 100.00 into -100.00 and a debit of 40.00 into +40.00.
            if self.negate_amounts:
                errors["negate_amounts"] = (
                    "Only for one signed amount column: with separate debit and credit columns a debit "
                    "is money out and a credit money in, whatever sign the bank prints."
                )
            # Header names are matched without case or surrounding spaces, as the importer reads them.
            if self.debit_column.strip().lower() == self.credit_column.strip().lower():
                errors["credit_column"] = (
                    "The credit column must differ from the debit column: one column cannot hold both."
                )
        # An empty mark or delimiter is already refused as a required field.
        if self.decimal_mark and self.decimal_mark not in CSV_DECIMAL_MARKS:
            errors["decimal_mark"] = 'Use "." or ",".'
        # The importer strips the thousands separator, then reads the decimal mark: any other
        # punctuation or space works (",", ".", "'", "’", a no-break space), a digit or letter does not.
        if self.thousands_separator and _amount_character(self.thousands_separator):
            errors["thousands_separator"] = (
                "Leave it empty or use a punctuation mark or a space: not a digit, letter, sign or bracket."
            )
        elif self.thousands_separator and self.thousands_separator == self.decimal_mark:
            errors["thousands_separator"] = "It must differ from the decimal mark."
        for field, label in (("delimiter", "delimiter"), ("quote_char", "quote character")):
            character = getattr(self, field)
            if character and _amount_character(character):
                errors[field] = (
                    f"The {label} cannot be a digit, letter, sign or bracket: amounts are written with them."
                )
        # A comma may both delimit and mark decimals when amounts are quoted ("1234,56"); a quote
        # character that is the decimal mark would swallow amounts.
        if "quote_char" not in errors and self.quote_char and self.quote_char == self.decimal_mark:
            errors["quote_char"] = "The quote character cannot be the decimal mark."
        if "quote_char" not in errors and self.delimiter and self.delimiter == self.quote_char:
            errors["quote_char"] = "The quote character must differ from the delimiter."
        if self.date_format and not _date_format_readable(self.date_format):
            errors["date_format"] = (
                f'"{self.date_format}" cannot read a date back: give the day, month and year with '
                "Python's codes, such as %d/%m/%Y or %Y-%m-%d."
            )
        if errors:
            raise ValidationError(errors)


def _date_format_readable(date_format):
    """Whether a date written in ``date_format`` reads back as the same day (day, month, year all in it).

    Written from a moment with a time and a zone, so that a timestamp format (``%Y-%m-%dT%H:%M:%S%z``)
    reads back too.
    """
    utc = datetime.UTC
    moments = (
        datetime.datetime(2025, 10, 31, 13, 45, 30, tzinfo=utc),
        datetime.datetime(2024, 2, 9, tzinfo=utc),
    )
    for moment in moments:
        try:
            written = moment.strftime(date_format)
            if datetime.datetime.strptime(written, date_format).date() != moment.date():
                return False
        except ValueError:
            return False
    return True


class BankStatement(TrackedModel):
    """One imported statement (or report) for one account, with its own balances."""

    id = key_field("st")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(max_length=10, choices=StatementFormat.choices)
    statement_number = models.CharField(max_length=100, blank=True, help_text="The bank's own id.")
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    account_identifier = models.CharField(max_length=64, blank=True, help_text="IBAN or number in the file.")
    from_date = models.DateField(null=True, blank=True)
    to_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    opening_balance = MoneyField(null=True, blank=True)
    closing_balance = MoneyField(null=True, blank=True)
    lines_total = MoneyField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    is_consistent = models.BooleanField(
        null=True, blank=True, help_text="Opening + lines = closing; empty when the file has no balances."
    )
    balance_difference = MoneyField(null=True, blank=True)
    later_lines_total = MoneyField(
        default=0,
        help_text="Its lines booked after the month of its end date, which its closing balance includes.",
    )
    new_line_count = models.PositiveIntegerField(default=0)
    duplicate_line_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "bank_statements"
        ordering = ["-to_date", "id"]
        constraints = [
            # The same file for the same account imports once.
            models.UniqueConstraint(
                fields=["bank_account", "file_sha256", "statement_number"], name="statement_imported_once"
            ),
        ]

    def __str__(self):
        return f"{self.bank_account_id} {self.statement_number or self.id} ({self.from_date}..{self.to_date})"


class StatementLine(models.Model):
    """One line of a bank statement, with the bank's signed amount."""

    id = key_field("sl")
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statement_lines")
    line_number = models.PositiveIntegerField()
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = MoneyField(help_text="Positive for money in, negative for money out.")
    currency = models.CharField(max_length=3, blank=True)
    end_to_end_id = models.CharField("end-to-end id", max_length=100, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    fitid = models.CharField("FITID", max_length=100, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=64, blank=True)
    narrative = models.TextField(blank=True)
    transaction_code = models.CharField(max_length=32, blank=True)
    is_reversal = models.BooleanField(default=False)
    dedupe_key = models.CharField(
        max_length=100, help_text="Bank reference, or a content hash with an occurrence counter."
    )
    match_status = models.CharField(
        max_length=10, choices=LineMatchStatus.choices, default=LineMatchStatus.UNMATCHED
    )

    class Meta:
        db_table = "bank_statement_lines"
        ordering = ["booking_date", "statement_id", "line_number"]
        constraints = [
            # A line seen in two overlapping statements is stored once.
            models.UniqueConstraint(fields=["bank_account", "dedupe_key"], name="statement_line_once"),
        ]
        indexes = [
            models.Index(fields=["bank_account", "booking_date"], name="stmt_line_account_date"),
            models.Index(fields=["bank_account", "match_status", "amount"], name="stmt_line_open_amount"),
        ]

    def __str__(self):
        return f"{self.booking_date} {self.amount} {self.counterparty_name or self.narrative[:40]}"


class ReconciliationMatch(TrackedModel):
    """A statement line paired with a book transaction, with the matcher's score and reason.

    Several rows sharing a ``group_key`` form one match of many to one (a deposit
    of three submissions) or one to many (one transfer split in two).
    """

    id = key_field("m")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    statement_line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="matches")
    bank_transaction = models.ForeignKey(BankTransaction, on_delete=models.PROTECT, related_name="matches")
    group_key = KeyField()
    amount = MoneyField()
    score = models.DecimalField(max_digits=5, decimal_places=2)
    stage = models.CharField(max_length=32)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=MatchStatus.choices, default=MatchStatus.SUGGESTED)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = _user()

    class Meta:
        db_table = "bank_reconciliation_matches"
        ordering = ["statement_line_id", "-score"]
        verbose_name_plural = "reconciliation matches"
        constraints = [
            models.UniqueConstraint(fields=["statement_line", "bank_transaction"], name="match_pair_once"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="match_score_0_100"),
        ]
        indexes = [models.Index(fields=["bank_account", "status"], name="match_account_status")]

    def __str__(self):
        return f"{self.statement_line_id} ~ {self.bank_transaction_id} ({self.score})"


class BankReconciliation(TrackedModel):
    """The reconciliation of one account for one period: balances, variance, sign-off."""

    id = key_field("rec")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="reconciliations")
    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="+")
    reconciliation_date = models.DateField()
    book_opening_balance = MoneyField(default=0)
    book_closing_balance = MoneyField(default=0)
    statement_opening_balance = MoneyField(null=True, blank=True)
    statement_closing_balance = MoneyField(null=True, blank=True)
    # Statement closing less book closing; none without a statement (balance_status no_statement).
    variance = MoneyField(null=True, blank=True)
    balance_status = models.CharField(
        max_length=16, choices=BalanceStatus.choices, default=BalanceStatus.NO_STATEMENT
    )
    status = models.CharField(
        max_length=10, choices=ReconciliationState.choices, default=ReconciliationState.DRAFT
    )
    matched_count = models.PositiveIntegerField(default=0)
    matched_amount = MoneyField(default=0)
    unmatched_book_count = models.PositiveIntegerField(default=0)
    unmatched_book_amount = MoneyField(default=0)
    unmatched_statement_count = models.PositiveIntegerField(default=0)
    unmatched_statement_amount = MoneyField(default=0)
    notes = models.TextField(blank=True)
    # Dimension scope (empty: the whole account) and the breakdown by dimension.
    cost_center = _dimension(CostCenter)
    project = _dimension(Project)
    department = _dimension(Department)
    scope_key = models.CharField(max_length=200, default="", blank=True, editable=False)
    dimension_breakdown = models.JSONField(default=dict, blank=True)
    prepared_by = _user()
    approved_by = _user()
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "bank_reconciliations"
        ordering = ["-period_id", "bank_account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "period", "scope_key"], name="one_reconciliation_per_scope"
            ),
        ]

    def __str__(self):
        return f"{self.bank_account_id} {self.period_id} ({self.get_status_display().lower()})"

    @property
    def is_finalized(self):
        return self.status == ReconciliationState.FINALIZED
