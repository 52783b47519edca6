"""What every statement parser produces, and the checks they share.

A parser turns a file into :class:`ParsedStatement` objects: plain data, no
database. Amounts are signed ``Decimal`` (positive: money into the account,
negative: money out), exactly as the bank states them, never ``float``.

A statement's own arithmetic is a fact about the file, not something to fix:
``opening + sum(lines) = closing`` is computed exactly and kept on the result
(``is_consistent``, ``balance_difference``) so that an inconsistent statement
imports with the fact recorded and shown. When the file gives no opening or no
closing balance the check cannot be made and ``is_consistent`` is ``None``.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings

from accounting.models import FIRST_BOOK_YEAR, LAST_BOOK_YEAR, AccountingPeriod, in_books

# What a streaming parser yields (``camt.stream``, ``banking.importers.stream_statements``).
LINES = "lines"
STATEMENT = "statement"


class StatementParseError(Exception):
    """The file is not a statement we can read; ``line`` says where, when known."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        if self.line is not None:
            return f"line {self.line}: {self.message}"
        return self.message


@dataclass(slots=True)
class ParsedLine:
    booking_date: datetime.date
    value_date: datetime.date | None
    amount: Decimal
    currency: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""
    fitid: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    narrative: str = ""
    transaction_code: str = ""
    is_reversal: bool = False


@dataclass(slots=True)
class ParsedStatement:
    statement_id: str
    account_identifier: str
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    from_date: datetime.date | None
    to_date: datetime.date | None
    lines: list[ParsedLine] = field(default_factory=list)
    format: str = ""

    @property
    def lines_total(self):
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def balance_difference(self):
        """Closing minus (opening + lines): zero when the statement adds up."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        return self.closing_balance - (self.opening_balance + self.lines_total)

    @property
    def is_consistent(self):
        difference = self.balance_difference
        return None if difference is None else difference == 0

    @property
    def later_lines_total(self):
        """What its lines booked after the month of its end date add up to.

        Its closing balance adds up every line (opening + lines = closing), so a statement
        whose lines run on past the month it says it ends in closes after them: the month of
        its end date takes its closing less these (the SIX camt.053 sample ends on 30 April
        2016 and books 1,620.00 on 27 May).
        """
        if self.to_date is None:
            return Decimal("0.00")
        month_end = AccountingPeriod.bounds(AccountingPeriod.code_for(self.to_date))[1]
        return sum((line.amount for line in self.lines if line.booking_date > month_end), Decimal("0.00"))

    def fill_dates(self):
        """Take the period from the lines when the file does not state it."""
        if self.lines and (self.from_date is None or self.to_date is None):
            dates = [line.booking_date for line in self.lines]
            self.from_date = self.from_date or min(dates)
            self.to_date = self.to_date or max(dates)


# [0-9], not \d: \d matches every script's digits ("٥.٠٠", "５"), which
# Decimal() reads as numbers, though no bank format writes them.
_AMOUNT = re.compile(r"^[+-]?([0-9]+)(?:[.,]([0-9]*))?$")
# The sign and the decimal mark of an amount written without its leading zero ("+.50", "-.50"):
# OFX allows that form; a digit must follow the mark, so "+." and "." stay refused.
_BARE_FRACTION = re.compile(r"^([+-]?)(?=[.,][0-9])")
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")


def check_ascii_digits(text, *, line=None, what):
    """Refuse ``text`` when it holds a digit other than 0-9.

    For the fields read by a library or ``strptime``, which take any script's
    digits for numbers (``int("٥")`` is 5) where our own parsing would not.
    """
    found = _NON_ASCII_DIGIT.search(text or "")
    if found:
        raise StatementParseError(
            f'The {what} "{text.strip()[:40]}" holds the digit "{found.group()}" '
            f"(U+{ord(found.group()):04X}); statement files write numbers and dates in the digits 0-9.",
            line,
        )


def check_short_date(text, *, line=None, what):
    """Refuse a YYMMDD date (as MT940 and BAI2 write them) that is no day of the calendar.

    The libraries read it with ``strptime`` and fail with a bare "unconverted data remains" or
    "month must be in 1..12", naming neither the line nor the field.
    """
    try:
        datetime.datetime.strptime(text, "%y%m%d")
    except ValueError:
        raise StatementParseError(f'The {what} "{text[:20]}" is not a date (YYMMDD).', line) from None


def money(text, *, line=None, what="amount", bare_fraction=False):
    """Return ``text`` as a ``Decimal`` with the project's precision, refusing anything else.

    A bank amount with more decimals than we store (``10.005``) would be
    rounded on save; it is refused instead so no cent is invented or lost.

    ``bare_fraction`` also takes an amount without a digit before its decimal
    mark (``+.50``, ``.50``, ``-.50``), as OFX writes them. Only the OFX parser
    asks for it: in the other formats such an amount is not what the bank's
    layout says, and is refused as before.
    """
    raw = (text or "").strip()
    check_ascii_digits(raw, line=line, what=what)
    # The zero is put back for reading only: an error still quotes the amount as the bank wrote it.
    digits = _BARE_FRACTION.sub(r"\g<1>0", raw, count=1) if bare_fraction else raw
    match = _AMOUNT.match(digits)
    if not match:
        raise StatementParseError(f'The {what} "{raw[:40]}" is not a number.', line)
    places = settings.MONEY_DECIMAL_PLACES
    integer, fraction = match.group(1), (match.group(2) or "")
    if len(fraction.rstrip("0")) > places:
        raise StatementParseError(f'The {what} "{raw[:40]}" has more than {places} decimal places.', line)
    if len(integer.lstrip("0")) > settings.MONEY_MAX_DIGITS - places:
        raise StatementParseError(f'The {what} "{raw[:40]}" is too large.', line)
    try:
        value = Decimal(digits.replace(",", "."))
    except InvalidOperation:
        raise StatementParseError(f'The {what} "{raw[:40]}" is not a number.', line) from None
    return value.quantize(Decimal(1).scaleb(-places))


def minor_units_to_money(units, decimals, *, line=None):
    """Return an amount given in minor units (BAI2's implied decimals) as money."""
    value = Decimal(units).scaleb(-decimals)
    return money(format(value, "f"), line=line)


def iso_date(text, *, line=None, what="date"):
    """Return the date at the start of an ISO 8601 date or date-time."""
    raw = (text or "").strip()
    try:
        return datetime.date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementParseError(f'The {what} "{raw[:30]}" is not a date (YYYY-MM-DD).', line) from None


def decode_utf8(content):
    """Return ``content`` as text, refusing bytes that are not UTF-8 with where they are."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StatementParseError(
            f"The file is not UTF-8 text: byte 0x{content[exc.start]:02x} at offset {exc.start} "
            "cannot be decoded.",
            line,
        ) from None
    return text


def _in_books(day):
    return day is None or in_books(day)


def check_line_dates(lines, *, first, where):
    """Refuse a line booked or valued outside the years the books hold.

    ``lines`` are numbered from ``first`` as they are stored (``line_number``)
    within the statement ``where`` names. A line of year 1 or 9999 is a
    placeholder or a typing error, not a booking: the books hold no period for
    it (``accounting.models.FIRST_BOOK_YEAR`` to ``LAST_BOOK_YEAR``), so it
    could never be reconciled or posted.
    """
    for number, line in enumerate(lines, start=first):
        for what, day in (("booking date", line.booking_date), ("value date", line.value_date)):
            if not _in_books(day):
                raise StatementParseError(
                    f"Line {number} of {where} (amount {line.amount}) has the {what} {day.isoformat()}, "
                    f"outside the years {FIRST_BOOK_YEAR} to {LAST_BOOK_YEAR} that the books hold."
                )


def check_statement_dates(parsed, *, where):
    """Refuse a statement whose period starts or ends outside the years the books hold."""
    for what, day in (("start date", parsed.from_date), ("end date", parsed.to_date)):
        if not _in_books(day):
            raise StatementParseError(
                f"The {what} {day.isoformat()} of {where} is outside the years {FIRST_BOOK_YEAR} to "
                f"{LAST_BOOK_YEAR} that the books hold."
            )
