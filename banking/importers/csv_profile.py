"""CSV statements, read through a :class:`~banking.models.StatementCsvProfile`
that finance staff define for each bank in the admin.

A profile names the columns by header text, or by 0-based position (``"3"``)
when the file has no header or the header is unreliable. Amounts come as one
signed column or as separate debit and credit columns (a debit is money out
whatever sign the bank prints); ``negate_amounts`` is for banks that print
debits as positive numbers in the signed column (the profile refuses it with
split columns). The decimal mark and the thousands separator are the profile's,
so ``1.234,56`` reads as 1234.56 for a German bank and is refused for a profile
that says ``.`` is the decimal mark. A thousands separator (or a space) must
stand between groups of three digits before the decimal mark: ``12.50`` under a
``,`` decimal mark is refused, not read as 1250.

A CSV file has no opening or closing balance of its own. When the profile
names a running balance column, the opening balance is the first row's balance
less its amount and the closing balance is the last row's, with the rows in date
order (banks that list newest first are read backwards), so the statement's
arithmetic is checked between the rows too. Otherwise its consistency is
unknown. Errors name the row (counted from 1, as a spreadsheet shows it).
"""

import codecs
import csv
import datetime
import io
import itertools
import re
from decimal import Decimal

from banking.choices import AmountMode
from banking.importers.base import ParsedLine, ParsedStatement, StatementParseError, check_ascii_digits, money
from banking.statement_encodings import statement_codec, unsupported_message

COLUMNS = (
    "date",
    "value_date",
    "amount",
    "debit",
    "credit",
    "description",
    "reference",
    "counterparty",
    "counterparty_iban",
    "balance",
)


def parse(content, profile):
    """Return the one statement in a CSV file laid out as ``profile`` says."""
    text = _decode(content, profile.encoding or "utf-8", profile.name)
    rows = list(_rows(text, profile))
    first_row = profile.skip_rows + 1
    if profile.has_header:
        if not rows:
            raise StatementParseError("The CSV file has no header row.", first_row)
        header, data_rows, first_data_row = rows[0], rows[1:], first_row + 1
    else:
        header, data_rows, first_data_row = None, rows, first_row
    columns = _column_positions(profile, header)
    lines = []
    balances = []
    for offset, row in enumerate(data_rows):
        number = first_data_row + offset
        if not any(cell.strip() for cell in row):
            continue
        line, balance = _line(row, number, columns, profile)
        lines.append(line)
        balances.append(balance)
    if not lines:
        raise StatementParseError("The CSV file holds no statement rows.")
    opening = closing = None
    if "balance" in columns:
        descending = _newest_first(lines, balances)
        first, last = (len(lines) - 1, 0) if descending else (0, len(lines) - 1)
        if balances[first] is not None and balances[last] is not None:
            opening = balances[first] - lines[first].amount
            closing = balances[last]
    statement = ParsedStatement(
        statement_id="",
        account_identifier="",
        currency="",
        opening_balance=opening,
        closing_balance=closing,
        from_date=None,
        to_date=None,
        lines=lines,
        format="csv",
    )
    statement.fill_dates()
    return [statement]


def _newest_first(lines, balances):
    """Return whether the rows run newest first.

    The running balance says it when the dates cannot (every row of one day): each
    row's balance is the one before it plus its amount, read one way or the other.
    """
    if lines[0].booking_date != lines[-1].booking_date:
        return lines[0].booking_date > lines[-1].booking_date
    # Successive rows that show a balance; the rows between them (without one) count too.
    shown = [index for index, balance in enumerate(balances) if balance is not None]
    if len(shown) < 2:
        return False
    oldest_first = newest_first = True
    for first, second in itertools.pairwise(shown):
        # Oldest first, the later row's balance adds the amounts after the earlier row;
        # newest first, the earlier row's adds those from it down to the later row.
        after = sum((line.amount for line in lines[first + 1 : second + 1]), Decimal(0))
        before = sum((line.amount for line in lines[first:second]), Decimal(0))
        oldest_first = oldest_first and balances[second] == balances[first] + after
        newest_first = newest_first and balances[first] == balances[second] + before
    return newest_first and not oldest_first


def _decode(content, encoding, profile_name):
    # A profile saved before encodings were checked may name one that reads a
    # file into text no column can hold (utf-7, unicode_escape): refused here too.
    codec = statement_codec(encoding)
    if codec is None:
        raise StatementParseError(
            f'The CSV profile "{profile_name}" names an encoding that is refused: '
            f"{unsupported_message(encoding)} Correct the profile, then import the file again."
        )
    body = content
    if codec in ("utf-8", "utf-8-sig") and content.startswith(codecs.BOM_UTF8):
        # Cut here rather than by utf-8-sig, whose error offsets would not count these 3 bytes.
        body, codec = content[len(codecs.BOM_UTF8) :], "utf-8"
    skipped = len(content) - len(body)
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        offset = skipped + exc.start
        raise StatementParseError(
            f"The file is not {encoding} text as the profile says: byte 0x{content[offset]:02x} "
            f"at offset {offset} cannot be decoded.",
            content[:offset].count(b"\n") + 1,
        ) from None
    # A byte order mark some banks write (UTF-8, or UTF-16 read as -le/-be) is not part of the first cell.
    return text.removeprefix("\ufeff")


def _rows(text, profile):
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=profile.delimiter or ",",
        quotechar=profile.quote_char or '"',
        strict=True,
    )
    try:
        for index, row in enumerate(reader):
            if index >= profile.skip_rows:
                yield row
    except csv.Error as exc:
        raise StatementParseError(f"Malformed CSV: {exc}.", reader.line_num) from None


def _column_positions(profile, header):
    """Map each column the profile names to its position in the row."""
    wanted = {"date": profile.date_column, "value_date": profile.value_date_column}
    if profile.amount_mode == AmountMode.SPLIT:
        wanted.update(debit=profile.debit_column, credit=profile.credit_column)
    else:
        wanted["amount"] = profile.amount_column
    wanted.update(
        description=profile.description_column,
        reference=profile.reference_column,
        counterparty=profile.counterparty_column,
        counterparty_iban=profile.counterparty_iban_column,
        balance=profile.balance_column,
    )
    names = [cell.strip().lower() for cell in header] if header is not None else None
    positions = {}
    for key, column in wanted.items():
        column = (column or "").strip()
        if not column:
            continue
        if names is not None and column.lower() in names:
            positions[key] = names.index(column.lower())
        elif column.isascii() and column.isdigit():
            positions[key] = int(column)
        else:
            raise StatementParseError(
                f'The profile\'s {key.replace("_", " ")} column "{column}" is not in the header row.',
                profile.skip_rows + 1,
            )
    for key in ("date", "amount") if profile.amount_mode != AmountMode.SPLIT else ("date", "debit", "credit"):
        if key not in positions:
            raise StatementParseError(f"The profile names no {key} column.")
    # One column named twice (by its header and by its position) would read every amount as both.
    if "debit" in positions and positions.get("debit") == positions.get("credit"):
        raise StatementParseError(
            f'The profile\'s debit column "{profile.debit_column}" and credit column '
            f'"{profile.credit_column}" are the same column of the file (position {positions["debit"]}).',
            profile.skip_rows + 1,
        )
    return positions


def _cell(row, columns, key):
    position = columns.get(key)
    if position is None or position >= len(row):
        return ""
    return row[position].strip()


# Spaces banks group digits with, whatever the profile's thousands separator says.
_SPACES = " \u00a0\u202f"
# What an amount may hold besides digits and the profile's own marks.
_AMOUNT_MARKS = frozenset(_SPACES + "+-().,")


def _amount(text, number, profile, what):
    """Return ``text`` as money, read with the profile's decimal mark and thousands separator.

    A thousands separator only ever stands between groups of three digits before the
    decimal mark. Deleting it wherever it stood read "12.50" under a "," decimal mark
    as 1250.00, so an amount that breaks the grouping is refused rather than guessed at.
    """
    check_ascii_digits(text, line=number, what=what)
    mark = profile.decimal_mark or "."
    separator = profile.thousands_separator
    other = "," if mark == "." else "."
    where = f'The {what} "{text[:40]}" in column "{getattr(profile, f"{what}_column")}"'
    # Anything but digits, the two marks, signs, brackets and spaces (a currency sign, "CR" or
    # "DR") is named as itself: the grouping or decimal checks below would blame the wrong thing.
    foreign = sorted({c for c in text if not (c.isdigit() or c in _AMOUNT_MARKS or c in (mark, separator))})
    if foreign:
        shown = ", ".join(f'"{c}"' for c in foreign[:5])
        raise StatementParseError(
            f"{where} holds {shown}, which the profile does not read as part of an amount (a currency "
            "sign, or CR/DR, belongs in no amount column): refused, not guessed.",
            number,
        )
    if other in text and other != separator:
        raise StatementParseError(
            f'{where} uses "{other}", but the profile\'s decimal mark is "{mark}".', number
        )
    raw = text
    negative = raw.startswith("(") and raw.endswith(")")
    if negative:
        raw = raw[1:-1]
    # A sign may stand apart from its digits ("- 12,50", "12,50 -").
    raw = raw.strip(_SPACES)
    sign = ""
    if raw[:1] in ("+", "-"):
        sign, raw = raw[0], raw[1:].lstrip(_SPACES)
    elif raw.endswith("-"):
        sign, raw = "-", raw[:-1].rstrip(_SPACES)
    if negative and sign:
        raise StatementParseError(f"{where} is both in brackets and signed: refused, not guessed.", number)
    whole, has_mark, fraction = raw.partition(mark)
    grouping = _SPACES + separator
    misplaced = next((character for character in fraction if character in grouping), None)
    if misplaced is not None:
        raise StatementParseError(
            f'{where} has {_describe(misplaced)} after the decimal mark "{mark}": refused, not guessed.',
            number,
        )
    groups = re.split(f"[{re.escape(grouping)}]", whole)
    if len(groups) > 1 and not _grouped_in_threes(groups):
        first_mark = next(character for character in whole if character in grouping)
        raise StatementParseError(
            f"{where} has {_describe(first_mark)} between digits that are not groups of three "
            f'(the profile\'s decimal mark is "{mark}"): refused, not guessed.',
            number,
        )
    plain = sign + "".join(groups) + ("." + fraction if has_mark else "")
    try:
        value = money(plain, line=number, what=what)
    except StatementParseError as exc:
        # Quote the amount as the bank wrote it, not as rewritten for reading.
        reason = exc.message.removeprefix(f'The {what} "{plain[:40]}" ')
        raise StatementParseError(f"{where} {reason}", number) from None
    return -value if negative else value


def _grouped_in_threes(groups):
    first, *rest = groups
    return re.fullmatch("[0-9]{1,3}", first) is not None and all(
        re.fullmatch("[0-9]{3}", group) for group in rest
    )


def _describe(character):
    names = {" ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow no-break space"}
    return names.get(character, f'the thousands separator "{character}"')


def _line(row, number, columns, profile):
    needed = max(columns.values())
    if len(row) <= needed:
        raise StatementParseError(
            f"The row has {len(row)} columns; the profile needs at least {needed + 1}.", number
        )
    booking_date = _date(_cell(row, columns, "date"), number, profile, "date")
    value_text = _cell(row, columns, "value_date")
    value_date = _date(value_text, number, profile, "value date") if value_text else None
    if profile.amount_mode == AmountMode.SPLIT:
        debit_text, credit_text = _cell(row, columns, "debit"), _cell(row, columns, "credit")
        if not debit_text and not credit_text:
            raise StatementParseError("The row has neither a debit nor a credit amount.", number)
        debit = abs(_amount(debit_text, number, profile, "debit")) if debit_text else 0
        credit = _amount(credit_text, number, profile, "credit") if credit_text else 0
        amount = credit - debit
    else:
        amount_text = _cell(row, columns, "amount")
        if not amount_text:
            raise StatementParseError("The row has no amount.", number)
        amount = _amount(amount_text, number, profile, "amount")
    if profile.negate_amounts:
        amount = -amount
    balance_text = _cell(row, columns, "balance")
    balance = _amount(balance_text, number, profile, "balance") if balance_text else None
    line = ParsedLine(
        booking_date=booking_date,
        value_date=value_date,
        amount=money(format(amount, "f"), line=number),
        bank_reference=_cell(row, columns, "reference"),
        counterparty_name=_cell(row, columns, "counterparty"),
        counterparty_iban=re.sub(r"\s", "", _cell(row, columns, "counterparty_iban")),
        narrative=" ".join(_cell(row, columns, "description").split()),
    )
    return line, balance


def _date(text, number, profile, what):
    # strptime's %Y and %d read any script's digits ("٢٠٢٥").
    check_ascii_digits(text, line=number, what=what)
    try:
        return datetime.datetime.strptime(text, profile.date_format).date()
    except ValueError:
        raise StatementParseError(
            f'The {what} "{text}" does not match the profile\'s date format {profile.date_format}.', number
        ) from None
