from django.db import models


class TransactionType(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRANSFER = "transfer", "Transfer"
    FEE = "fee", "Bank fee"
    INTEREST = "interest", "Interest"
    CHEQUE = "cheque", "Cheque payment"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CARD_PAYMENT = "card_payment", "Card payment"
    STANDING_ORDER = "standing_order", "Standing order"
    ADJUSTMENT = "adjustment", "Adjustment"


class Direction(models.TextChoices):
    """Money into the bank account, or out of it."""

    IN = "in", "In"
    OUT = "out", "Out"


# The direction each type implies; transfers and adjustments say their own.
TYPE_DIRECTION = {
    TransactionType.DEPOSIT: Direction.IN,
    TransactionType.INTEREST: Direction.IN,
    TransactionType.WITHDRAWAL: Direction.OUT,
    TransactionType.FEE: Direction.OUT,
    TransactionType.CHEQUE: Direction.OUT,
    TransactionType.DIRECT_DEBIT: Direction.OUT,
    TransactionType.CARD_PAYMENT: Direction.OUT,
    TransactionType.STANDING_ORDER: Direction.OUT,
}


class PostingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    POSTED = "posted", "Posted"
    REVERSED = "reversed", "Reversed"


class ReconciliationStatus(models.TextChoices):
    """Where a book item stands against the bank statement."""

    UNRECONCILED = "unreconciled", "Unreconciled"
    MATCHED = "matched", "Matched"
    RECONCILED = "reconciled", "Reconciled"


class TransferStatus(models.TextChoices):
    INITIATED = "initiated", "Initiated"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    FAILED = "failed", "Failed"


class CashSubmissionStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted by branch"
    DEPOSITED = "deposited", "Deposited at bank"
    CANCELLED = "cancelled", "Cancelled"


class FloatStatus(models.TextChoices):
    ALLOCATED = "allocated", "Allocated"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "ISO 20022 camt.053"
    CAMT052 = "camt052", "ISO 20022 camt.052"
    CAMT054 = "camt054", "ISO 20022 camt.054"
    MT940 = "mt940", "SWIFT MT940"
    MT942 = "mt942", "SWIFT MT942"
    OFX = "ofx", "OFX"
    BAI2 = "bai2", "BAI2"
    CSV = "csv", "CSV (bank profile)"


class LineMatchStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"
    SUGGESTED = "suggested", "Suggested"
    MATCHED = "matched", "Matched"


class MatchStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class ReconciliationState(models.TextChoices):
    """The life of a reconciliation snapshot: prepared, then signed off and locked."""

    DRAFT = "draft", "Draft"
    FINALIZED = "finalized", "Finalized"


class BalanceStatus(models.TextChoices):
    """Book against statement, judged by ``BANKING_RECONCILIATION_THRESHOLD``."""

    BALANCED = "balanced", "Balanced"
    WITHIN_THRESHOLD = "within_threshold", "Variance within threshold"
    OUT_OF_BALANCE = "out_of_balance", "Out of balance"
    NO_STATEMENT = "no_statement", "No statement"


class PostingDocument(models.TextChoices):
    """What a posting rule applies to: a bank transaction type or another document."""

    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRANSFER = "transfer", "Transfer (in-transit account)"
    FEE = "fee", "Bank fee"
    INTEREST = "interest", "Interest"
    CHEQUE = "cheque", "Cheque payment"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CARD_PAYMENT = "card_payment", "Card payment"
    STANDING_ORDER = "standing_order", "Standing order"
    ADJUSTMENT = "adjustment", "Adjustment"
    CASH_SUBMISSION = "cash_submission", "Cash submission (branch cash)"
    CASH_IN_TRANSIT = "cash_in_transit", "Cash in transit"
    CASH_SHORTAGE = "cash_shortage", "Cash over and short"
    FLOAT_ALLOCATION = "float_allocation", "Branch float"


class AmountMode(models.TextChoices):
    SIGNED = "signed", "One signed amount column"
    SPLIT = "split", "Separate debit and credit columns"
