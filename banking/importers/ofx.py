"""OFX statements: 1.x (SGML, where leaf elements have no closing tag) and 2.x
(XML), read by one small tokenizer of our own.

The libraries were no fit: ``ofxparse`` pulls in BeautifulSoup and guesses
through malformed input, ``ofxtools`` is strict about versions we receive from
real banks. OFX needs little: aggregates (``<STMTRS>`` ... ``</STMTRS>``) hold
elements (``<TRNAMT>-34.51``) whose value runs to the next tag.

What is kept, per ``STMTRS`` (bank) or ``CCSTMTRS`` (credit card); a file may
hold several: ``ACCTID`` as the account, ``CURDEF``, ``DTSTART``/``DTEND``, and
``LEDGERBAL`` as the closing balance. OFX has no opening balance. One could be
derived as closing minus the lines, but that would make the statement agree
with itself by construction, so the opening stays empty and the statement's
consistency is "unknown" rather than a check that proves nothing. Per
transaction: ``FITID`` (the bank's unique id, used to recognise the line in a
later download), ``DTPOSTED``/``DTUSER``, ``TRNAMT`` (already signed),
``TRNTYPE``, ``NAME``/``PAYEE``, ``MEMO``, ``REFNUM``/``CHECKNUM``. An
amount may leave out the zero before its decimal mark (``+.50``, ``-.50``), as
the OFX specification allows; it is read as ``0.50``/``-0.50``.

An SGML leaf may also come without a value (``<NAME>`` straight followed by
``<MEMO>``, as some banks write an empty payee): nothing tells it from an
aggregate's start tag until the enclosing aggregate closes. So an element that
is never closed by its own end tag is a leaf, and whatever was read as its
children are its following siblings: they are moved up when it is closed. An
XML empty element (``<MEMO/>``, ``<MEMO></MEMO>``) is an empty value too.

A DOCTYPE or entity declaration is refused, as in camt files. The text is read
in the character set the OFX 1.x header names (``CHARSET:1252``), else UTF-8.
"""

import datetime
import html
import re

from banking.importers.base import (
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    check_ascii_digits,
    decode_utf8,
    money,
)

_TOKEN = re.compile(r"<(/?)([A-Za-z0-9.:_-]+)\s*(/?)>|([^<]+)")
_CHARSETS = {
    "1252": "cp1252",
    "ISO-8859-1": "latin-1",
    "8859-1": "latin-1",
    "UTF-8": "utf-8",
    "NONE": "utf-8",
}
STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")


class _Element:
    __slots__ = ("children", "line", "tag", "text")

    def __init__(self, tag, line):
        self.tag = tag
        self.text = None
        self.children = []
        self.line = line

    def find(self, path):
        element = self
        for part in path.split("/"):
            element = next((child for child in element.children if child.tag == part), None)
            if element is None:
                return None
        return element

    def value(self, path):
        found = self.find(path)
        return (found.text or "").strip() if found is not None else ""

    def iter(self, tag):
        for child in self.children:
            if child.tag == tag:
                yield child
            yield from child.iter(tag)


def parse(content):
    """Return the statements in an OFX 1.x or 2.x file."""
    # A file of CR line ends alone is numbered as an editor shows it, not all on line 1.
    text = _decode(content).replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise StatementParseError("The OFX file declares a DOCTYPE or entities; refused for safety.")
    start = text.find("<OFX>")
    if start < 0:
        raise StatementParseError("No <OFX> element found: not an OFX file.")
    root = _tree(text, start)
    statements = [_statement(element) for tag in STATEMENT_TAGS for element in root.iter(tag)]
    if not statements:
        raise StatementParseError("The OFX file holds no bank or credit-card statement (<STMTRS>).")
    return statements


def _decode(content):
    header = content[:400].decode("ascii", "replace")
    charset = re.search(r"^CHARSET:\s*(\S+)", header, re.M)
    if charset and _CHARSETS.get(charset.group(1).upper(), "utf-8") != "utf-8":
        try:
            return content.decode(_CHARSETS[charset.group(1).upper()])
        except UnicodeDecodeError as exc:
            raise StatementParseError(
                f"The file is not {charset.group(1)} text as its header says: byte "
                f"0x{content[exc.start]:02x} at offset {exc.start} cannot be decoded.",
                content[: exc.start].count(b"\n") + 1,
            ) from None
    return decode_utf8(content)


def _tree(text, start):
    """Build the element tree; an unclosed SGML leaf ends at the next tag."""
    body = _without_processing_and_cdata(text[start:])
    line_base = text[:start].count("\n") + 1
    lines = _LineCounter(body, line_base)
    root = _Element("#root", line_base)
    stack = [root]
    position = 0
    for match in _TOKEN.finditer(body):
        if match.start() != position:
            bad = body[position : match.start()][:30]
            raise StatementParseError(
                f'Unexpected text "{bad}" in the OFX markup.', _line(body, position, line_base)
            )
        position = match.end()
        closing, tag, empty, data = match.groups()
        if data is not None:
            value = data.strip()
            if value:
                if len(stack) < 2 or stack[-1].children or stack[-1].text is not None:
                    raise StatementParseError(
                        f'Text "{value[:30]}" outside an element.', _line(body, match.start(), line_base)
                    )
                stack[-1].text = html.unescape(value)
            continue
        tag = tag.upper()
        if closing:
            if not any(element.tag == tag for element in stack[1:]):
                raise StatementParseError(
                    f"Closing </{tag}> without its opening tag.", _line(body, match.start(), line_base)
                )
            # Close the unclosed SGML leaves down to the matching aggregate.
            while stack[-1].tag != tag:
                _close_leaf(stack, lines.at(match.start()))
            stack.pop()
            continue
        # A new tag closes a pending SGML leaf (an element that got its value).
        if stack[-1].text is not None and not stack[-1].children and len(stack) > 1:
            stack.pop()
        element = _Element(tag, lines.at(match.start()))
        stack[-1].children.append(element)
        if empty:
            element.text = ""  # <MEMO/>: an empty value, nothing to close
        else:
            stack.append(element)
    if position != len(body):
        raise StatementParseError("The OFX markup ends in the middle of a tag (is the file truncated?).")
    open_aggregates = [e.tag for e in stack[1:] if e.children or e.text is None]
    if open_aggregates:
        raise StatementParseError(
            f"The OFX file ends before </{open_aggregates[-1]}> (is the file truncated?)."
        )
    return root.children[0]


# The OFX aggregates: they always have an end tag, so one missing is a broken file, never an SGML
# leaf. Taken for a leaf, an unclosed <STMTRS> or <BANKACCTFROM> let its children move up out of
# it: the statement read without its account (accepted for any account) or without its lines.
AGGREGATES = frozenset(
    {
        "OFX",
        "SIGNONMSGSRSV1",
        "SONRS",
        "STATUS",
        "FI",
        "BANKMSGSRSV1",
        "CREDITCARDMSGSRSV1",
        "STMTTRNRS",
        "CCSTMTTRNRS",
        "STMTRS",
        "CCSTMTRS",
        "BANKACCTFROM",
        "CCACCTFROM",
        "BANKACCTTO",
        "CCACCTTO",
        "BANKTRANLIST",
        "STMTTRN",
        "LEDGERBAL",
        "AVAILBAL",
        "CURRENCY",
        "ORIGCURRENCY",
        "PAYEE",
    }
)


class _LineCounter:
    """Line numbers of positions met in order, counted on from the last one (not from the start)."""

    def __init__(self, body, base):
        self.body, self.line, self.position = body, base, 0

    def at(self, position):
        if position < self.position:  # not in order: count afresh
            self.line, self.position = self.line - self.body.count("\n", position, self.position), position
        self.line += self.body.count("\n", self.position, position)
        self.position = position
        return self.line


def _without_processing_and_cdata(body):
    """Return ``body`` without processing instructions, and with CDATA sections as escaped text.

    Scanned by hand, each opener's end looked for once: a regular expression
    looked for the end of every unterminated ``<?`` or ``<![CDATA[`` to the end
    of the file again (80,000 of them, 720 KB: 175 s).
    """
    parts, position = [], 0
    while True:
        processing, cdata = body.find("<?", position), body.find("<![CDATA[", position)
        found = [index for index in (processing, cdata) if index >= 0]
        if not found:
            parts.append(body[position:])
            return "".join(parts)
        opener = min(found)
        parts.append(body[position:opener])
        if opener == processing:
            end = body.find("?>", opener + 2)
            if end < 0:
                raise StatementParseError("A processing instruction (<?...) is never closed (?>).")
            position = end + 2
        else:
            end = body.find("]]>", opener + 9)
            if end < 0:
                raise StatementParseError("A CDATA section (<![CDATA[...) is never closed (]]>).")
            parts.append(html.escape(body[opener + 9 : end], quote=False))
            position = end + 3


def _close_leaf(stack, line=None):
    """Close the element on top of ``stack``, which had no end tag of its own: an SGML leaf.

    A leaf without a value took the tags after it as its children; they are
    its siblings, moved up right after it (it is its parent's last child).
    """
    top = stack[-1]
    # An aggregate holding elements is one: its end tag is missing. One with a value, or empty,
    # and nothing in it was written as a leaf (<PAYEE>ACME LTD) and is read as one.
    if top.tag in AGGREGATES and top.children:
        raise StatementParseError(f"<{top.tag}> is not closed (</{top.tag}> is missing).", line)
    element = stack.pop()
    if element.children:
        stack[-1].children.extend(element.children)
        element.children = []
    if element.text is None:
        element.text = ""


def _line(body, position, base):
    return base + body.count("\n", 0, position)


def _statement(element):
    account = element.find("BANKACCTFROM") or element.find("CCACCTFROM")
    currency = element.value("CURDEF").upper()
    transactions = element.find("BANKTRANLIST")
    lines = []
    if transactions is not None:
        lines = [_transaction(t, currency) for t in transactions.children if t.tag == "STMTTRN"]
    ledger = element.find("LEDGERBAL")
    closing = None
    if ledger is not None:
        closing = money(
            ledger.value("BALAMT"), line=_line_of(ledger, "BALAMT"), what="ledger balance", bare_fraction=True
        )
    statement = ParsedStatement(
        statement_id="",
        account_identifier=account.value("ACCTID") if account is not None else "",
        currency=currency,
        opening_balance=None,
        closing_balance=closing,
        from_date=_date(transactions.value("DTSTART"), _line_of(transactions, "DTSTART"))
        if transactions
        else None,
        to_date=_date(transactions.value("DTEND"), _line_of(transactions, "DTEND")) if transactions else None,
        lines=lines,
        format="ofx",
    )
    ids = [statement.account_identifier, statement.from_date, statement.to_date]
    statement.statement_id = "/".join(str(part) for part in ids if part)
    statement.fill_dates()
    return statement


SINGLE_FIELDS = ("TRNAMT", "DTPOSTED", "DTUSER", "FITID")


def _transaction(element, currency):
    for tag in SINGLE_FIELDS:
        repeated = [child for child in element.children if child.tag == tag][1:]
        if repeated:
            # Which of two amounts (or dates, ids) the bank meant is unknown: neither is kept.
            raise StatementParseError(
                f"A transaction (<STMTTRN>) has more than one <{tag}>.", repeated[0].line
            )
    amount_text = element.value("TRNAMT")
    if not amount_text:
        raise StatementParseError("A transaction (<STMTTRN>) has no amount (<TRNAMT>).", element.line)
    posted_tag = "DTPOSTED" if element.value("DTPOSTED") else "DTUSER"
    posted = element.value(posted_tag)
    if not posted:
        raise StatementParseError("A transaction (<STMTTRN>) has no date (<DTPOSTED>).", element.line)
    user_date = element.value("DTUSER")
    memo = element.value("MEMO")
    check = element.value("CHECKNUM")
    narrative = " ".join(part for part in (memo, f"Cheque {check}" if check and check != "0" else "") if part)
    return ParsedLine(
        booking_date=_date(posted, _line_of(element, posted_tag)),
        value_date=_date(user_date, _line_of(element, "DTUSER")) if user_date else None,
        amount=money(amount_text, line=_line_of(element, "TRNAMT"), bare_fraction=True),
        currency=(element.value("CURRENCY/CURSYM") or currency).upper(),
        fitid=element.value("FITID"),
        bank_reference=element.value("REFNUM"),
        counterparty_name=element.value("NAME") or element.value("PAYEE/NAME"),
        narrative=narrative,
        transaction_code=element.value("TRNTYPE"),
    )


_EIGHT_DIGITS = re.compile(r"[0-9]{8}")


def _line_of(element, tag):
    """Return the line of ``element``'s child ``tag``, where an error in its value is: else ``element``'s."""
    child = element.find(tag)
    return child.line if child is not None else element.line


def _date(text, line):
    """Return the date of an OFX date-time (``20110331120000.000[-5:EST]``)."""
    # strptime's %Y reads any script's digits ("٢٠٢٥").
    check_ascii_digits(text, line=line, what="OFX date")
    if not _EIGHT_DIGITS.match(text):
        # strptime would read "2011045" as 2011-04-05: one digit short, and a day guessed.
        raise StatementParseError(f'"{text[:30]}" is not an OFX date (YYYYMMDD...).', line)
    try:
        return datetime.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise StatementParseError(f'"{text[:30]}" is not an OFX date (YYYYMMDD...).', line) from None
