"""BAI2 cash-management files, read with the ``bai2`` library plus totals
checks of our own.

A BAI2 file holds groups (``02``, one as-of date each) of accounts (``03``),
each with its balances as summary codes and its transactions (``16``), and
``88`` records continuing the record before them. Each account of each group
becomes one statement: opening balance from ``010`` (opening ledger), closing
from ``015`` (closing ledger). Type codes 100-399 are credits, 400-699 debits.

Type code 890 ("Contains Non-monetary Information") is a message from the
bank in a ``16`` record, with no amount: it is not a statement line (a 0.00
line would stay unmatched in every reconciliation), so it is left out of the
lines. It still counts in the trailers' record counts, which are checked on
the file as written. Its text is not kept: a statement has no field for it.
An 890 record with an amount is refused, since its type code does not say
whether the money came in or went out.

Amounts carry no decimal point: the currency's minor units are implied
(``34726979`` USD is 347,269.79; JPY has none, BHD three).

The library's own integrity checks stop at the first difference with a bare
exception; we parse without them and check every control total and record
count ourselves (account ``49``, group ``98``, file ``99``), so the error says
which account or group is off and by how much: a file whose trailers disagree
with its records is truncated or edited, and is refused whole.

Every error names the file's line of the record at fault (its trailer for a
total), blank lines counted though the library skips them.
"""

from decimal import Decimal

from bai2.constants import RecordCode, TypeCodeTransaction
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException
from bai2.helpers import IteratorHelper
from bai2.parsers import Bai2FileParser

from banking.importers.base import (
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    check_ascii_digits,
    check_short_date,
    decode_utf8,
    minor_units_to_money,
)

OPENING_LEDGER = "010"
CLOSING_LEDGER = "015"
# ISO 4217 currencies whose minor unit is not the cent.
MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


class _Records(IteratorHelper):
    """The library's record reader, counting the records it has read: which one it failed on."""

    def __init__(self, lines):
        self.read = 0
        super().__init__(lines)

    def advance(self):
        super().advance()
        self.read += 1


def parse(content):
    """Return one statement per account and group of a BAI2 file."""
    text = decode_utf8(content)
    # Blank lines are skipped, as the library skips them, but errors name the file's own lines.
    numbered = [
        (number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not numbered or not numbered[0][1].startswith("01,"):
        raise StatementParseError("A BAI2 file starts with a 01 (file header) record.", 1)
    if not numbered[-1][1].startswith("99,"):
        raise StatementParseError(
            "The BAI2 file does not end with its 99 (file trailer) record; is it truncated?", numbered[-1][0]
        )
    records = list(_raw_records(numbered))
    _check_digits(records)
    reader = _Records(iter([line for _, line in numbered]))
    try:
        document = Bai2FileParser(reader, check_integrity=False).parse()
    except (ParsingException, IntegrityException, NotSupportedYetException) as exc:
        raise StatementParseError(f"Unreadable BAI2 file: {exc}", _line_of_record(records, reader)) from None
    except (ValueError, IndexError, KeyError, StopIteration, TypeError, AttributeError) as exc:
        raise StatementParseError(
            f"Malformed BAI2 record: {exc!r}", _line_of_record(records, reader)
        ) from None
    _check_totals(document, _RecordLines(records))
    statements = []
    file_id = document.header.file_id or ""
    lines = _RecordLines(records)
    for group in document.children:
        group_line = lines.next("02")
        for account in group.children:
            statements.append(_statement(file_id, group, account, group_line, lines))
    return statements


def _line_of_record(records, reader):
    """Return the line of the record the library was reading when it failed."""
    index = min(max(reader.read, 1), len(records)) - 1
    return records[index][0]


class _RecordLines:
    """The lines of each kind of record, handed out in the order the library's objects come in."""

    def __init__(self, records):
        self._lines = {}
        for number, code, _ in records:
            self._lines.setdefault(code, []).append(number)
        self._taken = dict.fromkeys(self._lines, 0)

    def next(self, code):
        taken = self._taken.get(code, 0)
        found = self._lines.get(code, [])
        self._taken[code] = taken + 1
        return found[taken] if taken < len(found) else None


_RECORD_CODES = {code.value for code in RecordCode}


def _check_digits(records):
    """Refuse a digit other than 0-9 in any field but a transaction's references and text.

    The library reads amounts, counts and dates with ``int()`` and
    ``strptime``, which take any script's digits (``int("٥")`` is 5).
    """
    for number, code, fields in records:
        if code not in _RECORD_CODES:
            raise StatementParseError(
                f'"{code[:10]}" is no BAI2 record code ({", ".join(sorted(_RECORD_CODES))}).', number
            )
        if code == "16":
            # The amount is unsigned: the type code says in or out (142 is a credit). A sign would be
            # read against it ("-490196" under 142 stored as money out), so which was meant is unknown.
            if len(fields) > 1 and fields[1].strip()[:1] in ("+", "-"):
                raise StatementParseError(
                    f'The 16 record\'s amount "{fields[1].strip()[:30]}" has a sign: BAI2 transaction '
                    "amounts carry none, their type code says credit or debit.",
                    number,
                )
            # Type code, amount, funds type and its availability; then references and free text.
            fields = fields[: 3 + _availability_fields(fields)]
        for index, field in enumerate(fields, start=1):
            check_ascii_digits(field, line=number, what=f"{code} record's field {index}")
        amount = fields[1].strip() if code == "16" and len(fields) > 1 else ""
        if amount and not (amount.isascii() and amount.isdigit()):
            # The library's int() failed on it with a bare ValueError, naming no line.
            raise StatementParseError(
                f'The 16 record\'s amount "{amount[:30]}" is not a number (BAI2 writes it in minor units, '
                "digits only).",
                number,
            )
        # The file's creation date (01, third field) and the group's as-of date (02, fourth).
        at = {"01": 2, "02": 3}.get(code)
        if at is not None and len(fields) > at and fields[at].strip():
            label = "creation date" if code == "01" else "as-of date"
            check_short_date(fields[at].strip(), line=number, what=f"{code} record's {label}")


def _raw_records(numbered):
    """Yield ``(line number, record code, fields)``, each record joined with its 88 continuations.

    ``numbered`` is the file's non-blank lines with their line numbers. Joined
    as the library joins them: a row ending in ``/`` ends a field, any other
    row continues a text on the next.
    """
    start, code, text = None, "", ""
    for number, line in numbered:
        record_code, _, rest = line.partition(",")
        if record_code != "88" or start is None:
            if start is not None:
                yield start, code, text[:-1].split(",")
            start, code, text = number, record_code, ""
        text += rest[:-1] + "," if rest.endswith("/") else rest + " "
    if start is not None:
        yield start, code, text[:-1].split(",")


def _availability_fields(fields):
    """Return how many availability fields follow a 16 record's funds type."""
    funds_type = fields[2].strip().upper() if len(fields) > 2 else ""
    if funds_type == "S":
        return 3
    if funds_type == "V":
        return 2
    if funds_type == "D":
        count = fields[3].strip() if len(fields) > 3 else ""
        return 1 + 2 * int(count) if count.isascii() and count.isdigit() else 1
    return 0


def _statement(file_id, group, account, group_line, record_lines):
    header = account.header
    account_line = record_lines.next("03")
    currency = (header.currency or group.header.currency or "USD").upper()
    decimals = MINOR_UNITS.get(currency, 2)
    balances = {item.type_code.code: item.amount for item in header.summary_items if item.amount is not None}
    as_of = group.header.as_of_date
    if as_of is None:
        # Its lines take the group's date: without one they would have no booking date at all.
        raise StatementParseError("A 02 group header has no as-of date.", group_line)
    lines = [_line(detail, as_of, currency, decimals, record_lines.next("16")) for detail in account.children]
    lines = [line for line in lines if line is not None]
    number = header.customer_account_number or ""
    statement = ParsedStatement(
        statement_id="/".join(
            part for part in (file_id, as_of.strftime("%Y%m%d") if as_of else "", number) if part
        ),
        account_identifier=number,
        currency=currency,
        opening_balance=_amount(balances.get(OPENING_LEDGER), decimals, account_line),
        closing_balance=_amount(balances.get(CLOSING_LEDGER), decimals, account_line),
        from_date=as_of,
        to_date=as_of,
        lines=lines,
        format="bai2",
    )
    statement.fill_dates()
    return statement


def _amount(units, decimals, line):
    return None if units is None else minor_units_to_money(units, decimals, line=line)


def _line(detail, as_of, currency, decimals, line):
    """Return the statement line of a 16 record, or None for a record that carries no money (890)."""
    code = detail.type_code
    if code.transaction == TypeCodeTransaction.misc:
        if detail.amount:
            amount = minor_units_to_money(detail.amount, decimals, line=line)
            raise StatementParseError(
                f"A 16 record (type {code.code}, {code.description}) has the amount {amount}: a "
                "non-monetary record carries none, and its type code does not say money in or out.",
                line,
            )
        # Empty or zero: the bank's note, no money moved; it is no line to reconcile.
        return None
    if detail.amount is None:
        raise StatementParseError(f"A 16 record (type {code.code}) has no amount.", line)
    amount = minor_units_to_money(detail.amount, decimals, line=line)
    if code.transaction == TypeCodeTransaction.debit:
        amount = -amount
    elif code.transaction != TypeCodeTransaction.credit:
        raise StatementParseError(
            f"Type code {code.code} ({code.description}) is neither a credit nor a debit.", line
        )
    value_date = None
    if detail.availability and detail.availability.get("date"):
        value_date = detail.availability["date"]
    return ParsedLine(
        booking_date=as_of,
        value_date=value_date,
        amount=amount,
        currency=currency,
        bank_reference=detail.bank_reference or "",
        end_to_end_id=detail.customer_reference or "",
        narrative=" ".join((detail.text or "").split()),
        transaction_code=code.code,
    )


def _check_totals(document, record_lines):
    """Check every trailer against the records it closes; an error names the trailer's line."""
    groups = document.children
    for group_number, group in enumerate(groups, start=1):
        for account in group.children:
            name = account.header.customer_account_number or "?"
            line = record_lines.next("49")
            total = sum(d.amount or 0 for d in account.children) + sum(
                s.amount or 0 for s in account.header.summary_items
            )
            _same(f"account {name} control total (49)", account.trailer.account_control_total, total, line)
            _same(
                f"account {name} record count (49)",
                account.trailer.number_of_records,
                _records(account),
                line,
            )
        where = f"group {group_number}"
        line = record_lines.next("98")
        _same(f"{where} account count (98)", group.trailer.number_of_accounts, len(group.children), line)
        _same(
            f"{where} control total (98)",
            group.trailer.group_control_total,
            sum(a.trailer.account_control_total or 0 for a in group.children),
            line,
        )
        _same(f"{where} record count (98)", group.trailer.number_of_records, _records(group), line)
    trailer = document.trailer
    line = record_lines.next("99")
    _same("file group count (99)", trailer.number_of_groups, len(groups), line)
    _same(
        "file control total (99)",
        trailer.file_control_total,
        sum(g.trailer.group_control_total or 0 for g in groups),
        line,
    )
    _same("file record count (99)", trailer.number_of_records, _records(document), line)


def _records(section):
    return len(section.header.rows) + len(section.trailer.rows) + sum(len(c.rows) for c in section.children)


def _same(what, stated, counted, line):
    if stated is None or Decimal(stated) != Decimal(counted):
        raise StatementParseError(
            f"The BAI2 {what} says {stated}, the records add up to {counted}: "
            "the file is truncated or altered.",
            line,
        )
