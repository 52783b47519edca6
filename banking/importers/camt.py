"""ISO 20022 camt.052 (intraday report), camt.053 (statement) and camt.054
(debit/credit notification), versions .02 to .13, read with ``defusedxml``.

Our own parser because the libraries read balances as floats, miss ``PRCD``
and carry licences we cannot ship. What it keeps, per statement (``Stmt``,
``Rpt`` or ``Ntfctn``; a file may hold several):

- the opening balance: ``OPBD`` (opening booked), else ``PRCD`` (the previous
  closing booked, which some banks send instead); the closing balance: ``CLBD``,
  else ``ITBD`` (interim booked, an intraday report's "so far"). ``DBIT``
  balances are negative. A notification has no balances at all.
- one line per booked entry (``Ntry``), or per transaction (``TxDtls``) when an
  entry is a batch whose details each carry an amount that, together, make the
  entry's amount exactly; otherwise the batch stays one line, so the
  statement's arithmetic is never changed by the expansion.
- the sign from ``CdtDbtInd`` (``DBIT`` is money out). ISO 20022 states the
  direction of the entry itself, also for a reversal (``RvslInd``): a reversed
  credit is a ``DBIT`` entry, so the reversal flag is kept but never flips the
  sign again. Amounts themselves are never negative in camt: one written with
  a minus sign (an entry's, a transaction's or a balance's) is refused.
- only booked entries (``Sts`` ``BOOK``, as text or as ``<Cd>``): pending and
  information-only entries are not yet on the account and would be counted
  twice once booked.

DTDs, entity declarations and external references are refused outright
(``defusedxml``), which stops XXE and "billion laughs" before any expansion.
They can only stand in the prolog, before the root element, so ``defusedxml``
reads the file up to the root's start tag; the document itself is then
streamed by the standard library's C parser (``iterparse``), five times faster
than ``defusedxml``'s pure-Python one, and each entry is dropped once read, so
a 50,000-entry statement does not sit in memory as a tree.
"""

import codecs
import io
import re
from contextlib import contextmanager
from decimal import Decimal
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from banking.importers.base import (
    LINES,
    STATEMENT,
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    decode_utf8,
    iso_date,
    money,
)

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.05([234])\.001\.(0[2-9]|1[0-3])$")
MESSAGES = {"BkToCstmrStmt": "Stmt", "BkToCstmrAcctRpt": "Rpt", "BkToCstmrDbtCdtNtfctn": "Ntfctn"}
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD", "ITBD")
BOOKED = {"", "BOOK"}
# (name, short name, IBAN, other id) of the other party, by "is the amount received?".
PARTY_PATHS = {
    received: (
        f"RltdPties/{party}/Nm",
        f"RltdPties/{party}/Pty/Nm",
        f"RltdPties/{party}Acct/Id/IBAN",
        f"RltdPties/{party}Acct/Id/Othr/Id",
    )
    for received, party in ((True, "Dbtr"), (False, "Cdtr"))
}
# The deepest camt entry nests about a dozen levels (Ntry/NtryDtls/TxDtls/RltdPties/...).
MAX_ENTRY_DEPTH = 40
# The tree is cleared at the end of each entry and statement; what one of them
# holds until then is capped (about 100 MB of elements), so that a hostile file
# of millions of empty elements in one entry cannot take the worker's memory.
# A batch entry with 20,000 transaction details holds about 500,000.
MAX_HELD_ELEMENTS = 1_000_000
MAX_CACHED_PATHS = 4096
_ENCODING_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def parse(content):
    """Return the statements in a camt.052/053/054 file."""
    return [item for kind, item in stream(content) if kind == STATEMENT]


def stream(content, batch_size=2000):
    """Yield the file as it is read: ``(LINES, [line, ...])`` batches, then ``(STATEMENT, statement)``.

    A statement's lines come (in batches of ``batch_size``) before the
    statement itself, whose header is complete only once its element closes;
    the statement carries all its lines as well. The importer writes a batch
    while the next is read.
    """
    _check_encoding(content)
    reader = _Reader()
    with _xml_errors():
        reader.read_root(_root_start(content))
        # The prolog held no DTD, so no entity can be declared: the fast C
        # parser below can only meet undeclared entities, which are errors.
        entry_tag, watched = reader.entry_tag, reader.watched_tags
        sent = 0  # lines of the open statement already yielded
        held = 0  # elements built since the tree was last cleared
        elements = ElementTree.iterparse(io.BytesIO(content), events=("end",))  # noqa: S314 (see above)
        for _event, element in elements:
            # Most elements are fields of an entry, read when the entry closes.
            tag = element.tag
            held += 1
            if tag == entry_tag:
                reader.end(element)
                held = 0
                if len(reader.lines) - sent >= batch_size:
                    yield LINES, reader.lines[sent:]
                    sent = len(reader.lines)
            elif tag in watched:
                lines = reader.lines
                statements = len(reader.statements)
                reader.end(element)
                if len(reader.statements) > statements:
                    if len(lines) > sent:
                        yield LINES, lines[sent:]
                    sent = 0
                    held = 0
                    yield STATEMENT, reader.statements[-1]
            elif held > MAX_HELD_ELEMENTS:
                raise StatementParseError(
                    f"The camt document holds more than {MAX_HELD_ELEMENTS:,} elements in one entry "
                    "or statement header; no bank statement needs as many."
                )
    if not reader.statements:
        raise StatementParseError(f"The camt document holds no statement (no <{reader.container}> element).")
    if reader.entry_number:
        raise StatementParseError(
            f"The camt document has {reader.entry_number} entries (<Ntry>) after its last "
            f"<{reader.container}>, outside any statement."
        )


def _root_start(content):
    """Return the root element, read by ``defusedxml`` up to its start tag.

    Expat reads the prolog, where a DTD and its entity declarations would be,
    before it reports the root element: if ``defusedxml`` lets the root start
    through, the document declares no DTD and no entity.
    """
    events = iterparse(
        io.BytesIO(content),
        events=("start",),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    for _event, element in events:
        return element
    raise StatementParseError("The file holds no XML document.")


@contextmanager
def _xml_errors():
    try:
        yield
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise StatementParseError(
            "The XML declares a DTD, entities or external references, which statement files never "
            f"need; refused for safety ({type(exc).__name__})."
        ) from None
    except DefusedXmlException as exc:
        raise StatementParseError(f"The XML was refused for safety: {exc}.") from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        reason = str(exc).split(":")[0]
        hint = " (is the file truncated?)" if "no element found" in reason or "unclosed" in reason else ""
        raise StatementParseError(f"The file is not well-formed XML: {reason}{hint}.", line) from None


def _check_encoding(content):
    declared = _ENCODING_DECLARATION.match(content[:200])
    if declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8"):
        decode_utf8(content)
        return
    name = declared.group(1).decode("ascii", "replace")
    try:
        codecs.lookup(name)
    except LookupError:
        # Expat would stop on it with a LookupError of its own, not a parse error.
        raise StatementParseError(f'The XML declares the unknown encoding "{name[:40]}".') from None


def _unsigned_money(text, *, what):
    """Return a camt amount, refusing one written with a minus sign.

    camt amounts (``ActiveOrHistoricCurrencyAndAmount``) are never negative:
    the direction is ``CdtDbtInd``'s alone. A signed one would be counted with
    both signs, its own and the indicator's (``-5.00`` ``CRDT`` stored as money
    out though the bank says credit), so which the bank meant is unknown.
    """
    raw = (text or "").strip()
    if "," in raw:
        # xs:decimal has no comma: "25,000" is twenty-five thousand written with a separator, or
        # twenty-five written the European way; which the bank meant is unknown.
        raise StatementParseError(
            f'The {what} "{raw[:40]}" has a comma: camt amounts write their decimals with a point '
            "and no thousands separator (25000.00)."
        )
    if raw.startswith("-"):
        raise StatementParseError(
            f'The {what} "{raw[:40]}" has a minus sign: camt amounts carry no sign, the direction '
            "comes from <CdtDbtInd> (CRDT or DBIT) alone."
        )
    return money(raw, what=what)


class _Reader:
    """Collect statements from the stream of closed elements: each entry, then its statement."""

    def __init__(self):
        self.ns = ""
        self.format = ""
        self.container = "Stmt"
        self.lines = []
        self.entry_number = 0
        self.statements = []
        self._paths = {}
        self._child_paths = {}  # (parent's local path, namespaced tag) -> local path, for _flat

    def q(self, path):
        """Return ``path`` as the namespaced tags of its steps (cached: called for every entry)."""
        steps = self._paths.get(path)
        if steps is None:
            steps = self._paths[path] = tuple(self.ns + part for part in path.split("/"))
        return steps

    def read_root(self, element):
        tag = element.tag
        namespace = tag[1:].split("}")[0] if tag.startswith("{") else ""
        local = tag.split("}")[-1]
        match = NAMESPACE.match(namespace)
        if local != "Document" or not match:
            raise StatementParseError(
                f'Unknown XML document <{local}> in namespace "{namespace or "none"}": expected an '
                "ISO 20022 camt.052, camt.053 or camt.054 Document (versions .02 to .13)."
            )
        self.ns = "{" + namespace + "}"
        self.format = "camt05" + match.group(1)
        self.entry_tag = self.ns + "Ntry"
        self.container_tags = {self.ns + name: name for name in MESSAGES.values()}
        self.message_tags = {self.ns + name: name for name in MESSAGES}
        self.watched_tags = {*self.container_tags, *self.message_tags}

    def end(self, element):
        tag = element.tag
        if tag == self.entry_tag:
            self.entry_number += 1
            self.lines.extend(self._entry_lines(element))
            # Drop the entry's content once read: memory stays flat however long the statement.
            element.clear()
        elif tag in self.container_tags:
            self.container = self.container_tags[tag]
            self.statements.append(self._statement(element))
            self.lines = []
            self.entry_number = 0
            element.clear()
        elif tag in self.message_tags:
            self.container = MESSAGES[self.message_tags[tag]]

    # --- statement header ----------------------------------------------------

    def _statement(self, element):
        statement_id = self._text(element, "Id")
        account = self._text(element, "Acct/Id/IBAN") or self._text(element, "Acct/Id/Othr/Id")
        balances = {}
        balance_currency = ""
        for balance in self._findall(element, "Bal"):
            code = self._text(balance, "Tp/CdOrPrtry/Cd") or self._text(balance, "Tp/CdOrPrtry/Prtry")
            amount_element = self._find(balance, "Amt")
            if amount_element is None:
                continue
            amount = _unsigned_money(amount_element.text, what=f"{code} balance")
            if self._text(balance, "CdtDbtInd") == "DBIT":
                amount = -amount
            balances.setdefault(code.upper(), amount)
            balance_currency = balance_currency or amount_element.get("Ccy", "")
        opening = next((balances[c] for c in OPENING_CODES if c in balances), None)
        closing = next((balances[c] for c in CLOSING_CODES if c in balances), None)
        currency = self._text(element, "Acct/Ccy") or balance_currency
        if not currency and self.lines:
            currency = self.lines[0].currency
        from_text = self._text(element, "FrToDt/FrDtTm") or self._text(element, "FrToDt/FrDt")
        to_text = self._text(element, "FrToDt/ToDtTm") or self._text(element, "FrToDt/ToDt")
        statement = ParsedStatement(
            statement_id=statement_id,
            account_identifier=account,
            currency=currency.upper(),
            opening_balance=opening,
            closing_balance=closing,
            from_date=iso_date(from_text, what="statement start") if from_text else None,
            to_date=iso_date(to_text, what="statement end") if to_text else None,
            lines=self.lines,
            format=self.format,
        )
        statement.fill_dates()
        self.lines = []
        return statement

    # --- entries -------------------------------------------------------------

    def _entry_lines(self, element):
        where = f"entry {self.entry_number} of the statement"
        # The entry's fields as {path: text}; read with get(): some twenty per entry.
        get = self._flat(element, skip="NtryDtls").get
        status = get("Sts") or get("Sts/Cd", "")
        if status.upper() not in BOOKED:
            return []
        amount_element = element.find(self.ns + "Amt")
        if amount_element is None:
            raise StatementParseError(f"The {where} has no amount (<Amt>).")
        currency = amount_element.get("Ccy", "").upper()
        amount = self._signed(_unsigned_money(amount_element.text, what=f"amount of {where}"), get, where)
        value_text = get("ValDt/Dt") or get("ValDt/DtTm", "")
        booking_text = get("BookgDt/Dt") or get("BookgDt/DtTm") or value_text
        if not booking_text:
            raise StatementParseError(f"The {where} has no booking date (<BookgDt>).")
        booking_date = iso_date(booking_text, what=f"booking date of {where}")
        value_date = iso_date(value_text, what=f"value date of {where}") if value_text else None
        is_reversal = get("RvslInd", "").lower() in ("true", "1")
        entry_code = self._bank_code(get)
        entry_reference = get("AcctSvcrRef") or get("NtryRef", "")
        entry_info = get("AddtlNtryInf", "")
        # NtryDtls occurs 0..n, each with its own TxDtls (a bank may put each batch in its own block).
        entry_details, transaction_details = self.q("NtryDtls/TxDtls")
        blocks = element.findall(entry_details)
        details = [detail for block in blocks for detail in block.findall(transaction_details)]
        base = {"booking_date": booking_date, "value_date": value_date, "is_reversal": is_reversal}
        split = self._split_amounts(details, amount, currency, where) if len(details) > 1 else None
        if split is None:
            detail = details[0] if len(details) == 1 else None
            line = ParsedLine(amount=amount, currency=currency, **base)
            self._describe(line, detail, entry_code, entry_info)
            line.bank_reference = line.bank_reference or entry_reference
            return [line]
        lines = []
        for detail, detail_amount in zip(details, split, strict=True):
            line = ParsedLine(amount=detail_amount, currency=currency, **base)
            self._describe(line, detail, entry_code, entry_info)
            lines.append(line)
        return lines

    def _split_amounts(self, details, entry_amount, currency, where):
        """Return each detail's signed amount when they make up the entry exactly, else None."""
        amounts = []
        for detail in details:
            element = self._find(detail, "Amt")
            if element is None:
                element = self._find(detail, "AmtDtls/TxAmt/Amt")
            if element is None or element.get("Ccy", currency).upper() != currency:
                return None
            value = _unsigned_money(element.text, what=f"transaction amount in {where}")
            indicator = self._text(detail, "CdtDbtInd")
            if indicator == "DBIT" or (not indicator and entry_amount < 0):
                value = -value
            amounts.append(value)
        if sum(amounts, Decimal("0.00")) != entry_amount:
            return None
        return amounts

    def _describe(self, line, detail, entry_code, entry_info):
        line.transaction_code = entry_code
        texts = []
        if detail is not None:
            ustrd = self._findall(detail, "RmtInf/Ustrd")
            get = self._flat(detail).get
            end_to_end = get("Refs/EndToEndId", "")
            line.end_to_end_id = "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end
            line.bank_reference = get("Refs/AcctSvcrRef") or get("Refs/TxId", "")
            line.transaction_code = self._bank_code(get) or entry_code
            # The other party: the debtor of money received, the creditor of money paid.
            name, short_name, iban, other_id = PARTY_PATHS[line.amount >= 0]
            line.counterparty_name = get(name) or get(short_name, "")
            line.counterparty_iban = get(iban) or get(other_id, "")
            texts.extend((element.text or "").strip() for element in ustrd)
            texts.append(get("RmtInf/Strd/CdtrRefInf/Ref", ""))
            texts.append(get("AddtlTxInf", ""))
        texts.append(entry_info)
        seen = []
        for text in texts:
            if text and text not in seen:
                seen.append(text)
        line.narrative = " ".join(seen)

    def _signed(self, amount, get, where):
        """Sign ``amount`` by the credit/debit indicator; ``get`` reads the entry's fields."""
        indicator = get("CdtDbtInd", "")
        if indicator not in ("CRDT", "DBIT"):
            raise StatementParseError(f"The {where} has no valid credit/debit indicator (CRDT or DBIT).")
        return -amount if indicator == "DBIT" else amount

    def _bank_code(self, get):
        """Return the bank transaction code (domain/family/sub-family, else proprietary) from ``get``."""
        domain = get("BkTxCd/Domn/Cd")
        if domain:
            parts = [domain, get("BkTxCd/Domn/Fmly/Cd"), get("BkTxCd/Domn/Fmly/SubFmlyCd")]
            return "/".join(part for part in parts if part)
        return get("BkTxCd/Prtry/Cd", "")

    def _flat(self, element, skip=None):
        """Return ``{local path: text}`` for a subtree, the first of each path in document order.

        One walk per entry instead of a search per field: the parser reads
        some twenty fields of each of tens of thousands of entries. Texts are
        stripped once here; a missing path reads as "". The walk goes level by
        level (elements of one path are all on one level, met in document
        order) with a list, not recursion. A hostile file cannot make it
        costly: nesting deeper than any camt entry has is refused, and the
        cache of paths stops growing at a size no real file reaches.
        """
        paths = self._child_paths
        ns = self.ns
        found = {}
        queue = [(element, "", 0)]
        for parent, prefix, depth in queue:
            if depth > MAX_ENTRY_DEPTH:
                raise StatementParseError(
                    f"An entry of the camt document nests its elements more than {MAX_ENTRY_DEPTH} "
                    "levels deep."
                )
            for child in parent:
                key = (prefix, child.tag)
                path = paths.get(key)
                if path is None:
                    tag = child.tag
                    name = tag[len(ns) :] if tag.startswith(ns) else tag
                    path = f"{prefix}/{name}" if prefix else name
                    if len(paths) < MAX_CACHED_PATHS:
                        paths[key] = path
                if path == skip:
                    continue
                if path not in found:
                    text = child.text
                    found[path] = text.strip() if text else ""
                if len(child):
                    queue.append((child, path, depth + 1))
        return found

    def _text(self, element, path):
        for step in self.q(path):
            element = element.find(step)
            if element is None:
                return ""
        return (element.text or "").strip()

    def _find(self, element, path):
        for step in self.q(path):
            element = element.find(step)
            if element is None:
                return None
        return element

    def _findall(self, element, path):
        *parents, last = self.q(path)
        for step in parents:
            element = element.find(step)
            if element is None:
                return []
        return element.findall(last)
