"""SWIFT MT940 (end-of-day statement) and MT942 (interim report), read with the
``mt-940`` library.

What we add around the library:

- a file may hold many statements (the betterplace sample has 26, for 21
  accounts); each ``:20:`` starts one and is parsed on its own, so balances and
  lines never leak from one statement into the next;
- ``RC`` and ``RD`` are reversals: a reversal of a credit takes money out
  (negative), a reversal of a debit puts it back (positive). The library's
  default signs ``RC`` positive, which breaks the statement's arithmetic; we
  turn on its ``reversal_sign`` option and keep ``is_reversal`` on the line;
- SOH/ETX (and other control characters) that wrap messages sent over SWIFT
  links are stripped;
- an MT942 (``:34F:``, ``:13D:``, ``:90D:``/``:90C:``) has no booked balances,
  so its opening and closing stay empty and its consistency is unknown. Its
  ``:90D:``/``:90C:`` (number and sum of the debit and credit entries) are
  checked against its ``:61:`` lines instead, as SWIFT counts them (``D`` and
  ``RC`` are debit entries, ``C`` and ``RD`` credit entries): a report whose
  totals disagree has lost or changed an entry and is refused. A report
  without entries takes its currency from its floor limit or totals;
- an ``:86:`` after the closing balance (MT940) or after the totals (MT942) is
  information to the account owner about the statement and belongs to no line;
- the ``:86:`` details in the German structured layout (``?00`` posting text,
  ``?20``-``?29`` and ``?60``-``?63`` purpose, ``?31`` counterparty IBAN,
  ``?32``-``?33`` name) are split here, and the SEPA end-to-end reference
  (``EREF+``) is taken out of the purpose.
- every error names the line of the file the bad field is on (a :61:
  amount, a :60F:/:62F: balance, a :90D:/:90C: total), counted over the
  whole file, not from the start of the statement or of the library's text;
- a field the library does not read (``:99X:``) is refused: it read its text
  into the field before it. In an :86: it is that text, as the bank wrote it.

The file must be UTF-8 (plain SWIFT text is ASCII, which is UTF-8).
"""

import datetime
import logging
import re

import mt940 as mt940_library

from banking.importers.base import (
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    check_ascii_digits,
    check_short_date,
    decode_utf8,
    money,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STATEMENT_START = re.compile(r"(?m)^(?=:20:)")
_SUBFIELD = re.compile(r"\?(\d\d)")
_SEPA_KEYWORD = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|IBAN|BIC)\+")
_NO_REFERENCE = {"", "NONREF", "NOTPROVIDED"}
# The library logs every regex step at INFO and every tag it cannot read at
# ERROR: a flood in the service's logs for one bad upload. We report what is
# wrong as a StatementParseError instead.
logging.getLogger("mt940").setLevel(logging.CRITICAL)
# unbounded_details: banks write :86: longer than SWIFT's 6 x 65 characters (MultiCash allows 20
# lines); the library's default cut it after nine lines without a word.
_OPTIONS = mt940_library.Options(reversal_sign=True, case_insensitive_marks=True, unbounded_details=True)
# Keep :86: as the bank wrote it; the German subfields are split below.
_PROCESSORS = {"post_transaction_details": []}
# The fields holding dates, amounts and counts. The library reads them with
# \d and int(), which take any script's digits ("C251015EUR٥,00" as 5.00).
_NUMERIC_TAGS = {"13", "13D", "28C", "34F", "60F", "60M", "61", "62F", "62M", "64", "65", "90C", "90D"}
_TAG = re.compile(r"^:([0-9]{2}[A-Z]?):", re.I)


def parse(content):
    """Return the statements in an MT940 or MT942 file."""
    text = _CONTROL.sub("", decode_utf8(content)).replace("\r\n", "\n").replace("\r", "\n")
    if not any(chunk.startswith(":20:") for chunk in _STATEMENT_START.split(text)):
        raise StatementParseError("No MT940/MT942 statement found (no :20: tag at the start of a line).")
    statements = []
    # Counted over every part of the split, the text before the first :20: too (a SWIFT header
    # may name ":20:" before the line that starts the statement).
    line_offset = 1
    for chunk in _STATEMENT_START.split(text):
        if chunk.startswith(":20:"):
            statements.append(_statement(chunk, line_offset))
        line_offset += chunk.count("\n")
    return statements


def _statement(chunk, first_line):
    # An MT940 never has :90D:/:90C:, an MT942 never a :60F: balance: totals without one are a report.
    is_mt942 = bool(re.search(r"(?m)^:(34F|13D|13):", chunk)) or bool(
        re.search(r"(?m)^:90[CD]:", chunk) and not re.search(r"(?m)^:60[FM]:", chunk)
    )
    if not re.search(r"(?m)^:25:", chunk):
        raise StatementParseError("The statement has no account identification (:25:).", first_line)
    if not is_mt942 and not (re.search(r"(?m)^:60[FM]:", chunk) and re.search(r"(?m)^:62[FM]:", chunk)):
        raise StatementParseError(
            "The MT940 statement lacks its opening (:60F:) or closing (:62F:) balance; is it truncated?",
            first_line,
        )
    _check_known_fields(chunk, first_line)
    _check_digits(chunk, first_line)
    _check_amount_lengths(chunk, first_line)
    chunk = _without_closing_information(chunk)
    transactions = mt940_library.models.Transactions(processors=_PROCESSORS, options=_OPTIONS)
    try:
        transactions.parse(chunk)
    except Exception as exc:  # the library raises bare errors on malformed tags
        near = exc.args[2] if len(exc.args) >= 3 else exc
        tag = getattr(exc.args[1], "id", "") if len(exc.args) >= 3 else ""
        raise StatementParseError(
            f'Unreadable MT940 tag near "{str(near)[:60]}".', _field_line(chunk, first_line, tag, str(near))
        ) from None
    data = transactions.data
    line_numbers = _tag_lines(chunk, first_line, "61")
    expected = len(line_numbers)
    read = zip(line_numbers, transactions.transactions, strict=False)
    unread = next((line for line, transaction in read if not transaction.data.get("amount")), None)
    if len(transactions.transactions) != expected or unread is not None:
        raise StatementParseError(
            f"{expected} :61: statement lines in the statement, {len(transactions.transactions)} readable; "
            "a :61: line is malformed.",
            unread or first_line,
        )
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    currency = ""
    for balance in (opening, closing):
        if balance is not None:
            currency = currency or (balance.amount.currency or "")
    lines = [
        _line(transaction.data, line)
        for transaction, line in zip(transactions.transactions, line_numbers, strict=True)
    ]
    if not currency and lines:
        currency = lines[0].currency
    if not currency:
        # A report without entries still names its currency: an empty currency would let it pass
        # into an account kept in another.
        for key in ("d_floor_limit", "c_floor_limit", "sum_debit_entries", "sum_credit_entries"):
            currency = currency or (getattr(data.get(key), "currency", None) or "")
    _check_totals(data, transactions.transactions, lines, currency.upper(), chunk, first_line)
    number = data.get("statement_number") or ""
    sequence = data.get("sequence_number") or ""
    statement_id = "/".join(
        part for part in (data.get("transaction_reference") or "", number, sequence) if part
    )
    statement = ParsedStatement(
        statement_id=statement_id,
        account_identifier=(data.get("account_identification") or "").strip(),
        currency=currency.upper(),
        opening_balance=_balance(opening, _balance_line(data, chunk, first_line, "opening")),
        closing_balance=_balance(closing, _balance_line(data, chunk, first_line, "closing")),
        from_date=None,
        to_date=None,
        lines=lines,
        format="mt942" if is_mt942 else "mt940",
    )
    statement.fill_dates()
    if statement.from_date is None:
        dates = [b.date for b in (opening, closing) if b is not None and b.date]
        if data.get("date"):
            dates.append(data["date"])
        if dates:
            statement.from_date = _plain_date(min(dates))
            statement.to_date = _plain_date(max(dates))
    return statement


_CLOSING = re.compile(r"(?m)^:(?:62[FM]|90[CD]):")
_STATEMENT_LINE = re.compile(r"(?m)^:61:")
_INFORMATION_BLOCK = re.compile(r"(?ms)^:86:.*?(?=^:[0-9]{2}[A-Z]?:|\Z)")


def _without_closing_information(chunk):
    """Drop any :86: after the closing balance or the MT942 totals: information to the account owner.

    The library glued it to the last line's own :86: (its counterparty read
    "ACME GMBHNew fees from March"); it belongs to no line. The :64: and :65:
    balances and the :90D:/:90C: totals around it stay. Looked for after the
    last :61: only, so that no line's own :86: is taken for it.
    """
    last_line = max((match.start() for match in _STATEMENT_LINE.finditer(chunk)), default=0)
    closing = _CLOSING.search(chunk, last_line)
    if closing is None:
        return chunk
    head, tail = chunk[: closing.start()], chunk[closing.start() :]
    return head + _INFORMATION_BLOCK.sub("", tail)


# A :61: line's value date, entry date, debit/credit mark, funds code and amount (at most 15
# characters). The library reads the amount as [0-9,]{1,15} and takes what follows for the
# customer reference: "D1234567890123,45" became 1234567890123,4 and the 5 a reference.
_STATEMENT_LINE_AMOUNT = re.compile(r"(?m)^:61:[0-9]{6}(?:[0-9]{4})?[ER]?[CD][A-Z]?([0-9,]+)")
AMOUNT_MAX_CHARACTERS = 15


def _check_amount_lengths(chunk, first_line):
    for match in _STATEMENT_LINE_AMOUNT.finditer(chunk):
        if len(match.group(1)) > AMOUNT_MAX_CHARACTERS:
            raise StatementParseError(
                f'The :61: amount "{match.group(1)[:30]}" is longer than the {AMOUNT_MAX_CHARACTERS} '
                "characters an MT940 amount has.",
                first_line + chunk.count("\n", 0, match.start()),
            )


# The :61: marks of the entries each MT942 total counts: a reversal of a credit takes money out.
_TOTALS = (
    ("90D", "sum_debit_entries", "debit", ("D", "RC")),
    ("90C", "sum_credit_entries", "credit", ("C", "RD")),
)


def _check_totals(data, transactions, lines, currency, chunk, first_line):
    """Refuse a :90D:/:90C: total that its :61: lines do not make up, in number or amount.

    An interim report has no balances to check its lines against; these
    totals are all it says about them, so a line lost or changed on the way
    (a cut file, a line the library could not read whole) shows only here.
    """
    for tag, key, kind, marks in _TOTALS:
        total = data.get(key)
        if total is None:
            continue
        # The library keeps the last of a repeated field: its line is the one read.
        line = (_tag_lines(chunk, first_line, tag) or [first_line])[-1]
        stated = money(format(abs(total.amount), "f"), line=line, what=f":{tag}: total")
        if total.currency and currency and total.currency.upper() != currency:
            raise StatementParseError(
                f"The :{tag}: is in {total.currency.upper()}, the :61: lines in {currency}.", line
            )
        counted = [
            line
            for line, transaction in zip(lines, transactions, strict=True)
            if (transaction.data.get("status") or "").upper() in marks
        ]
        held = sum((abs(line.amount) for line in counted), money("0"))
        number = str(total.number or "").strip()
        if stated != held or (number and int(number) != len(counted)):
            raise StatementParseError(
                f"The :{tag}: says {number or 'its'} {kind} entries totalling {stated}; the :61: lines hold "
                f"{len(counted)} totalling {held}: an entry is missing or altered.",
                line,
            )


def _check_digits(chunk, first_line):
    """Refuse a digit other than 0-9 in the fields that hold dates, amounts and counts.

    The ``:86:`` details and the second line of a ``:61:`` (supplementary
    details) are free text and are left as the bank wrote them.
    """
    tag = ""
    for offset, text in enumerate(chunk.split("\n")):
        start = _TAG.match(text)
        if start:
            tag = start.group(1).upper()
        elif tag == "61":
            continue
        if tag in _NUMERIC_TAGS:
            check_ascii_digits(text, line=first_line + offset, what=f":{tag}: field")
        dated = _DATED_TAG.match(text)
        if dated:
            check_short_date(dated.group(2), line=first_line + offset, what=f":{dated.group(1)}: date")


# The fields the library reads (a ":62X:" is read as a :62:), as it finds them at a line's start.
_KNOWN_FIELDS = {str(tag) for tag in mt940_library.models.Transactions().tags}
_FIELD_START = re.compile(r"^:((?:[0-9]{2}|NS)[A-Z]?):")


def _check_known_fields(chunk, first_line):
    """Refuse a field the library does not read, unless it stands in an :86:.

    The library skips it and reads its text into the field before it (a
    ":99X:" after a :61: became that line's supplementary details); in an
    :86: it is kept as the details' text, as the bank wrote it.
    """
    tag = ""
    for offset, text in enumerate(chunk.split("\n")):
        start = _FIELD_START.match(text)
        if start is None:
            continue
        field = start.group(1)
        if field in _KNOWN_FIELDS or field[:2] in _KNOWN_FIELDS:
            tag = field[:2]
        elif tag != "86":
            raise StatementParseError(
                f'The field ":{field}:" is no MT940 or MT942 field this importer reads.', first_line + offset
            )


# The tags that start with a date (YYMMDD), after the balances' debit or credit mark.
_DATED_TAG = re.compile(r":(60[FM]|62[FM]|64|65|61):[CD]?([0-9]{6})")


def _tag_lines(chunk, first_line, tags):
    """Return the file's line number of each field of ``tags`` (a regular expression) in a statement."""
    return [
        first_line + chunk.count("\n", 0, match.start())
        for match in re.finditer(rf"(?m)^:(?:{tags}):", chunk)
    ]


def _field_line(chunk, first_line, tag, value):
    """Return the line of the field ``tag`` whose text starts as ``value``: the one the library failed on."""
    head = value.split("\n")[0].strip()
    for match in re.finditer(rf"(?m)^:{re.escape(str(tag))}[A-Z]?:", chunk):
        if chunk[match.end() :].lstrip().startswith(head):
            return first_line + chunk.count("\n", 0, match.start())
    return first_line


_BALANCE_TAGS = {
    "opening": (("final_opening_balance", "60F"), ("intermediate_opening_balance", "60M")),
    "closing": (("final_closing_balance", "62F"), ("intermediate_closing_balance", "62M")),
}


def _balance_line(data, chunk, first_line, which):
    """Return the line of the balance field the statement's opening or closing was read from."""
    for key, tag in _BALANCE_TAGS[which]:
        if data.get(key):
            return (_tag_lines(chunk, first_line, tag) or [first_line])[-1]
    return first_line


def _balance(balance, line):
    if balance is None:
        return None
    return money(format(balance.amount.amount, "f"), line=line, what="balance")


def _plain_date(value):
    """Return the library's date (or date-time) as a plain ``datetime.date``."""
    return datetime.date(value.year, value.month, value.day)


def _line(data, first_line):
    amount = data["amount"]
    status = (data.get("status") or "").upper()
    value_date = _plain_date(data["date"])
    booking_date = _plain_date(data.get("entry_date") or data["date"])
    details = _details(data.get("transaction_details") or "")
    customer_reference = (data.get("customer_reference") or "").strip()
    bank_reference = (data.get("bank_reference") or "").strip()
    if customer_reference.upper() in _NO_REFERENCE or _SEPA_KEYWORD.fullmatch(customer_reference):
        # "KREF+" alone is a keyword with its value left out, not a reference.
        customer_reference = ""
    end_to_end = details.get("end_to_end") or customer_reference
    code = data.get("id") or ""
    if details.get("code"):
        code = f"{code}/{details['code']}" if code else details["code"]
    narrative = " ".join(
        part for part in (details.get("narrative", ""), (data.get("extra_details") or "").strip()) if part
    )
    return ParsedLine(
        booking_date=booking_date,
        value_date=value_date,
        amount=money(format(amount.amount, "f"), line=first_line),
        currency=(amount.currency or "").upper(),
        end_to_end_id=end_to_end,
        bank_reference="" if bank_reference.upper() in _NO_REFERENCE else bank_reference,
        counterparty_name=details.get("name", ""),
        counterparty_iban=details.get("iban", ""),
        narrative=narrative,
        transaction_code=code,
        is_reversal=status.startswith("R"),
    )


def _details(text):
    """Split an :86: field: the German ``?nn`` layout when present, else free text."""
    if not _SUBFIELD.search(text):
        return {"narrative": " ".join(text.split())}
    # Lines are cut at 65 characters, often mid-word: join them without a space.
    flat = text.replace("\n", "")
    parts = _SUBFIELD.split(flat)
    code = parts[0].strip()
    fields = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        fields.setdefault(key, []).append(value)
    purpose = "".join("".join(fields.get(f"{n:02d}", [])) for n in (*range(20, 30), *range(60, 64)))
    posting_text = "".join(fields.get("00", []))
    result = {
        "code": code,
        "name": "".join("".join(fields.get(k, [])) for k in ("32", "33")).strip(),
        "iban": "".join(fields.get("31", [])).strip() if fields.get("30") or fields.get("31") else "",
        "narrative": " ".join(part for part in (posting_text.strip(), purpose.strip()) if part),
    }
    keywords = list(_SEPA_KEYWORD.finditer(purpose))
    for index, keyword in enumerate(keywords):
        if keyword.group(1) == "EREF":
            end = keywords[index + 1].start() if index + 1 < len(keywords) else len(purpose)
            reference = purpose[keyword.end() : end].strip()
            if reference.upper() not in _NO_REFERENCE:
                result["end_to_end"] = reference
    return result
