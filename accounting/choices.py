from django.db import models


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SourceType(models.TextChoices):
    """The kind of document a posting comes from."""

    BANK_TRANSACTION = "bank_transaction", "Bank transaction"
    CASH_SUBMISSION = "cash_submission", "Cash submission"
    # The over or short of a submission whose deposit was recorded after it was posted.
    CASH_DEPOSIT = "cash_deposit", "Cash submission deposit"
    FLOAT_ALLOCATION = "float_allocation", "Float allocation"
    FLOAT_RETURN = "float_return", "Float return"
    MANUAL = "manual", "Manual journal"


class PostingPurpose(models.TextChoices):
    """A source is posted once and reversed at most once."""

    POST = "post", "Posting"
    REVERSE = "reverse", "Reversal"
