"""Import a bank statement file: all or nothing, and repeatable.

``statement_import`` parses the file (``banking.importers``), checks that it is
for the bank account it is imported into, and stores its statements and their
lines in one transaction. Any error leaves the database as it was.

Repeatable, in two ways:

- the same file again (the same bytes, by their SHA-256, into the same account)
  adds nothing, under whatever name: the result says how many lines were
  already there;
- a line that the bank sends again in another file (an intraday camt.052 and
  the day's camt.053, or two overlapping MT940 downloads) is stored once. Each
  line gets a ``dedupe_key``, unique per bank account: a hash of the bank's
  reference (FITID, else bank reference, else end-to-end id) with the booking
  date and amount, or when the line has no reference a hash of its content
  (dates, amount, counterparty, narrative, code). Two lines can be genuinely
  identical (two 5.00 card payments at the same shop on one day), so the key
  ends with an occurrence counter: the first is ``:1``, the second ``:2``,
  and both survive, while the same two lines in a later, overlapping file are
  ``:1`` and ``:2`` again and are skipped. Counting is per statement, except
  that a page continuing the one before (MT940 ``:28C: 5/1``, ``5/2``, the
  second opening where the first closed) counts its lines without a reference
  on from it, so both pages keep their identical card payments.

A file may hold statements for several accounts (one MT940 download for all
of a customer's accounts): the statements for this account are imported and
the others are reported as skipped. A file with none for this account is
refused, naming ``account``.

Imports into one account are serialised by a row lock on the bank account, so
two uploads of the same file at once cannot both insert.
"""

import hashlib
import re
import threading
from collections import ChainMap
from contextlib import closing
from dataclasses import dataclass, field
from queue import Full, Queue

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.signals import post_save

from banking.choices import LineMatchStatus
from banking.importers import FORMATS, LINES, StatementParseError, detect_format, stream_statements
from banking.models import BankAccount, BankStatement, StatementLine
from banking.services import refuse_finalized_months
from cnperp.bulk_sql import rows_insert
from cnperp.exceptions import DomainError
from cnperp.fields import money_limit

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
BATCH_SIZE = 2000
_LINE_TEXT_FIELDS = (
    "currency",
    "end_to_end_id",
    "bank_reference",
    "fitid",
    "counterparty_name",
    "counterparty_iban",
    "transaction_code",
)
_MAX_LENGTH = {name: StatementLine._meta.get_field(name).max_length for name in _LINE_TEXT_FIELDS}
_STATEMENT_NUMBER_MAX = BankStatement._meta.get_field("statement_number").max_length
# MySQL's TEXT holds 64 KiB; no bank narrative needs more than this.
NARRATIVE_MAX = 8000


@dataclass
class StatementOutcome:
    """What happened to one statement of the file."""

    statement: BankStatement
    already_imported: bool
    lines_read: int
    new_lines: int
    duplicate_lines: int

    def as_dict(self):
        statement = self.statement
        return {
            "id": statement.pk,
            "statement_number": statement.statement_number,
            "format": statement.format,
            "account_identifier": statement.account_identifier,
            "currency": statement.currency,
            "from_date": statement.from_date,
            "to_date": statement.to_date,
            "opening_balance": statement.opening_balance,
            "closing_balance": statement.closing_balance,
            "lines_total": statement.lines_total,
            "is_consistent": statement.is_consistent,
            "balance_difference": statement.balance_difference,
            "already_imported": self.already_imported,
            "lines_read": self.lines_read,
            "new_lines": self.new_lines,
            "duplicate_lines": self.duplicate_lines,
        }


@dataclass
class ImportResult:
    """The summary of one import, the same from the API, the command and the admin."""

    file_name: str
    file_sha256: str
    format: str
    bank_account_id: str
    statements: list[StatementOutcome] = field(default_factory=list)
    skipped_statements: list[dict] = field(default_factory=list)

    @property
    def lines_read(self):
        return sum(outcome.lines_read for outcome in self.statements)

    @property
    def new_lines(self):
        return sum(outcome.new_lines for outcome in self.statements)

    @property
    def duplicate_lines(self):
        return sum(outcome.duplicate_lines for outcome in self.statements)

    @property
    def created(self):
        """True when the import stored anything: a new statement or a new line."""
        return any(not outcome.already_imported for outcome in self.statements)

    @property
    def inconsistent_statements(self):
        return [o.statement.statement_number for o in self.statements if o.statement.is_consistent is False]

    def as_dict(self):
        return {
            "bank_account_id": self.bank_account_id,
            "file_name": self.file_name,
            "file_sha256": self.file_sha256,
            "format": self.format,
            "statement_count": len(self.statements),
            "lines_read": self.lines_read,
            "new_lines": self.new_lines,
            "duplicate_lines": self.duplicate_lines,
            "statements": [outcome.as_dict() for outcome in self.statements],
            "skipped_statements": self.skipped_statements,
        }


def statement_max_bytes():
    """Return the largest file accepted (``BANKING_STATEMENT_MAX_BYTES``, 20 MB by default)."""
    return int(getattr(settings, "BANKING_STATEMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _check_profile(profile):
    """Refuse a CSV profile saved before today's rules (a digit as thousands separator, say).

    Such a profile reads amounts wrongly without any error (a separator "1" read
    12.50 as 2.50), so it is refused until corrected in the admin.
    """
    try:
        # The encoding is checked by the reader, with the list of encodings to choose from.
        profile.full_clean(exclude=["encoding"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field.replace('_', ' ')}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
        raise DomainError(
            f'The CSV profile "{profile.name}" cannot read statements as saved ({problems}). '
            "Correct it in the admin first.",
            field="profile",
            code="invalid_profile",
        ) from None


@transaction.atomic
def statement_import(*, bank_account, content: bytes, file_name, format="auto", profile=None, user):
    """Import a statement file into ``bank_account``; return an :class:`ImportResult`."""
    if format not in ("auto", *FORMATS):
        raise DomainError(
            f'Unknown format "{format}"; use auto, {", ".join(FORMATS)}.', field="format", code="invalid"
        )
    if format == "csv" and profile is None:
        raise DomainError("A CSV statement needs the bank's CSV profile.", field="profile", code="required")
    if profile is not None:
        _check_profile(profile)
    if not content:
        raise DomainError(f"{file_name}: the file is empty.", field="file", code="empty")
    limit = statement_max_bytes()
    if len(content) > limit:
        raise DomainError(
            f"{file_name}: the file is {len(content):,} bytes; the limit is {limit:,} "
            "(BANKING_STATEMENT_MAX_BYTES).",
            field="file",
            code="too_large",
        )
    # One import at a time per account: the duplicate checks below are then exact.
    account = BankAccount.objects.select_for_update().get(pk=bank_account.pk)
    try:
        chosen = detect_format(content, has_profile=profile is not None) if format == "auto" else format
    except StatementParseError as exc:
        raise DomainError(f"{file_name}: {exc}", field="file", code="unreadable") from None

    sha = hashlib.sha256(content).hexdigest()
    result = ImportResult(file_name=file_name, file_sha256=sha, format=chosen, bank_account_id=account.pk)
    # The same bytes imported before, perhaps under another name: a statement without an id of
    # its own (every CSV's) is numbered by the file's name, and a copy renamed "oct (1).csv" was
    # stored a second time. Numbered by the name they first came under, they are found again.
    first_name = (
        BankStatement.objects.filter(bank_account=account, file_sha256=sha)
        .order_by("created_at", "id")
        .values_list("file_name", flat=True)
        .first()
    )
    importer = _Importer(
        account,
        chosen,
        sha=sha,
        file_name=file_name,
        user=user,
        numbered_by=file_name if first_name is None else first_name,
    )
    found = []  # account identifications of every statement in the file
    writer = None
    events = _read_ahead(stream_statements(content, format=chosen, profile=profile))
    try:
        # closing(): leaving early (an error while writing) stops the reader at once.
        with closing(events):
            for kind, item in events:
                if writer is None:
                    writer = _StatementWriter(importer)
                if kind == LINES:
                    writer.write(item)
                    continue
                found.append(item.account_identifier)
                outcome = writer.finish(item)
                writer = None
                if outcome is None:
                    result.skipped_statements.append(
                        {"statement_number": item.statement_id, "account_identifier": item.account_identifier}
                    )
                else:
                    result.statements.append(outcome)
    except StatementParseError as exc:
        raise DomainError(f"{file_name}: {exc}", field="file", code="unreadable") from None
    if writer is not None:
        # Lines the reader gave out with no statement after them (the parsers refuse this first).
        raise DomainError(f"{file_name}: entries outside any statement.", field="file", code="unreadable")
    if not result.statements:
        found = ", ".join(sorted(set(found))) or "none"
        raise DomainError(
            f"{file_name} is for account {found}, not for {account.pk} "
            f"({account.iban or account.account_number}).",
            field="account",
            code="wrong_account",
        )
    # A signed-off month keeps the lines and the statement balances it was approved with: a line
    # new to it, or a new statement ending in it (whose closing balance would become the month's),
    # is refused, and the whole file with it. A file imported already adds nothing, and passes.
    refuse_finalized_months(
        [(account.pk, day) for day in importer.new_days], "no statement or statement line can be added to it"
    )
    return result


def _read_ahead(events, depth=4):
    """Yield ``events``, read by a background thread while the caller writes the previous ones.

    Reading a large statement (the XML parser) and writing its lines (the
    database) each take about half of an import; the database works with the
    interpreter's lock released, so the two overlap. Only the reading runs in
    the thread: it touches no database. An error in it is raised here; leaving
    early (an error while writing) stops it.
    """
    queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def read():
        try:
            for event in events:
                if not put((True, event)):
                    return
        except BaseException as exc:  # handed to the importing thread, which raises it
            put((False, exc))
            return
        put((False, None))

    thread = threading.Thread(target=read, name="statement-reader", daemon=True)
    thread.start()
    try:
        while True:
            ok, value = queue.get()
            if ok:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stop.set()
        thread.join()


class _Importer:
    """What the statements of one file share while they are written."""

    def __init__(self, account, format, *, sha, file_name, user, numbered_by):
        self.account = account
        self.format = format
        self.sha = sha
        self.file_name = file_name
        self.numbered_by = numbered_by  # the file name that numbers statements without an id
        self.user = user
        self.seen_keys = set()  # keys of this file's statements already kept
        # An MT940 statement comes in pages (:28C: 5/1, 5/2), and two identical card payments
        # on two pages are two payments: counting per page gave both ":1", and the second
        # page's was dropped as a repeat. So a page that continues the last kept one counts
        # its reference-less lines on from it; any other statement counts afresh (one that
        # repeats an earlier statement of the file repeats its lines).
        self.last_kept = None  # the last kept statement, as parsed
        self.occurrences = {}  # the reference-less counts of its pages so far
        self.reference_occurrences = {}  # and those of the lines with a reference
        # A line can only repeat a stored one booked on the same day (every key
        # holds the booking date), so only lines on these days are looked up:
        # importing a new month looks up nothing.
        self.booked_days = set(
            StatementLine.objects.filter(bank_account=account)
            .values_list("booking_date", flat=True)
            .order_by("booking_date")
            .distinct()
        )
        self.numbers = {}  # statement numbers given so far, to make them unique within the file
        self.new_days = set()  # booking days of the lines the kept statements add


class _StatementWriter:
    """Write one statement of the file as its lines arrive, then complete or discard it.

    The lines need their statement row first (a foreign key), but a streamed
    statement's header is known only after its lines. So the row is written
    when the first lines arrive, with a placeholder number and without
    signals, and completed once the statement is read; the audit trail then
    records its creation with the final values. A statement that turns out to
    be for another account, or already imported, is removed again, inside the
    same transaction.
    """

    def __init__(self, importer):
        self.importer = importer
        self.row = None
        self.written = 0  # lines of the statement written or recognised as duplicates
        self.new = 0
        self.new_days = set()  # booking days of the lines kept as new
        self.occurrences = {}
        # Per statement, unless finish() finds this one continues the last kept page (then
        # ChainMaps over its counts, which write to their first map and so leave them alone
        # should this page be discarded); content_occurrences for the reference-less lines.
        self.content_occurrences = {}
        self.continues = False
        self.keys = []

    def write(self, lines):
        importer = self.importer
        if self.row is None:
            self.row = BankStatement(
                bank_account=importer.account,
                format=importer.format,
                file_name=importer.file_name[:255],
                file_sha256=importer.sha,
                currency=importer.account.currency,
                created_by=importer.user,
                updated_by=importer.user,
            )
            # The placeholder number is the row's own id: unique until the real number is known.
            self.row.statement_number = self.row.pk
            BankStatement.objects.bulk_create([self.row])
        keys = dedupe_keys(lines, self.occurrences, content_occurrences=self.content_occurrences)
        days = importer.booked_days
        candidates = [key for key, line in zip(keys, lines, strict=True) if line.booking_date in days]
        stored = _existing_keys(importer.account, candidates)
        seen = importer.seen_keys  # the file's earlier statements: asked, not copied, per batch
        new = [
            (key, line, index)
            for index, (key, line) in enumerate(zip(keys, lines, strict=True), self.written + 1)
            if key not in stored and key not in seen
        ]
        _insert_lines(self.row, importer.account, new)
        self.new_days.update(line.booking_date for _key, line, _number in new)
        self.written += len(lines)
        self.new += len(new)
        self.keys.extend(keys)

    def finish(self, parsed):
        """Complete the statement; return its :class:`StatementOutcome`, or None when it is not ours."""
        importer = self.importer
        account = importer.account
        if not _is_this_account(parsed.account_identifier, account, currency=parsed.currency):
            self._discard()
            return None
        if parsed.currency and parsed.currency != account.currency.upper():
            raise DomainError(
                f"{importer.file_name}: statement {parsed.statement_id or '(no id)'} is in "
                f"{parsed.currency}; {account.pk} is kept in {account.currency}.",
                field="currency",
                code="wrong_currency",
            )
        number = _statement_number(parsed, importer)
        lines = parsed.lines
        existing = BankStatement.objects.filter(
            bank_account=account, file_sha256=importer.sha, statement_number=number
        ).first()
        if existing is not None:
            self._discard()
            return StatementOutcome(existing, True, len(lines), 0, len(lines))
        _check_totals_fit(parsed, number)
        if self.row is None and _continues(importer.last_kept, parsed):
            # Parsed whole (not streamed): nothing is written yet, so the page may still count on.
            self.continues = True
            self.content_occurrences = ChainMap({}, importer.occurrences)
            # Two payments with the same reference, day and amount on two pages are two payments too.
            self.occurrences = ChainMap({}, importer.reference_occurrences)
        if self.written < len(lines):
            self.write(lines[self.written :])
        elif self.row is None:
            self.write([])
        importer.seen_keys.update(self.keys)
        importer.new_days.update(self.new_days)
        if parsed.to_date:
            # The month a new statement ends in takes its closing balance from it.
            importer.new_days.add(parsed.to_date)
        if self.continues:
            importer.occurrences.update(self.content_occurrences.maps[0])
            importer.reference_occurrences.update(self.occurrences.maps[0])
        else:
            importer.occurrences = self.content_occurrences
            importer.reference_occurrences = self.occurrences
        importer.last_kept = parsed
        statement = self.row
        fields = {
            "statement_number": number,
            "format": parsed.format,
            "account_identifier": parsed.account_identifier[:64],
            "from_date": parsed.from_date,
            "to_date": parsed.to_date,
            "currency": parsed.currency or account.currency,
            "opening_balance": parsed.opening_balance,
            "closing_balance": parsed.closing_balance,
            "lines_total": parsed.lines_total,
            "line_count": len(lines),
            "is_consistent": parsed.is_consistent,
            "balance_difference": parsed.balance_difference,
            "later_lines_total": parsed.later_lines_total,
            "new_line_count": self.new,
            "duplicate_line_count": len(lines) - self.new,
        }
        BankStatement.objects.filter(pk=statement.pk).update(**fields)
        for name, value in fields.items():
            setattr(statement, name, value)
        post_save.send(
            sender=BankStatement,
            instance=statement,
            created=True,
            update_fields=None,
            raw=False,
            using=connection.alias,
        )
        return StatementOutcome(statement, False, len(lines), self.new, len(lines) - self.new)

    def _discard(self):
        """Remove the provisional statement and its lines, without signals.

        Its creation was never announced (see the class docstring), so its
        removal is not either: the audit trail has nothing to say about a row
        that only ever existed inside this transaction.
        """
        if self.row is None:
            return
        with connection.cursor() as cursor:
            for table, column in (
                (StatementLine._meta.db_table, "statement_id"),
                (BankStatement._meta.db_table, "id"),
            ):
                cursor.execute(
                    f"DELETE FROM {connection.ops.quote_name(table)} WHERE {column} = %s",  # noqa: S608 (names)
                    [self.row.pk],
                )


def _continues(previous, parsed):
    """Return whether ``parsed`` is the next page of the statement ``previous``.

    MT940 numbers pages ``REF/00005/001``, ``REF/00005/002``: the same reference and
    statement number, another sequence; and a page opens at the balance the one
    before it closed at.
    """
    if previous is None or previous.account_identifier != parsed.account_identifier:
        return False
    before, _, page = previous.statement_id.rpartition("/")
    after, _, next_page = parsed.statement_id.rpartition("/")
    if not before or before != after or page == next_page:
        return False
    balances = (previous.closing_balance, parsed.opening_balance)
    return None in balances or balances[0] == balances[1]


def _statement_number(parsed, importer):
    """Return the statement's number, unique within the file."""
    base = (parsed.statement_id or importer.numbered_by or "statement")[: _STATEMENT_NUMBER_MAX - 6]
    count = importer.numbers[base] = importer.numbers.get(base, 0) + 1
    return base if count == 1 else f"{base}#{count}"


# Columns written by ``_insert_lines``, in order.
_LINE_COLUMNS = (
    "id",
    "statement_id",
    "bank_account_id",
    "line_number",
    "booking_date",
    "value_date",
    "amount",
    "narrative",
    "is_reversal",
    "dedupe_key",
    "match_status",
    *_LINE_TEXT_FIELDS,
)
# The statement, account, status and currency are the same on every line: escaped once each.
_LINE_REPEATED = tuple(
    _LINE_COLUMNS.index(name) for name in ("statement_id", "bank_account_id", "match_status", "currency")
)


def _insert_lines(statement, account, new):
    """Write the new lines with multi-row INSERTs.

    ``bulk_create`` spent two thirds of a 50,000-line import compiling rows
    field by field; the parsers have already checked every value (amounts with
    the project's precision, real dates, lengths cut to the columns), so the
    rows go to the database as prepared tuples. Ids are made here, ordered
    within the statement (``sl-<statement>-000001``), so InnoDB appends them.
    On MySQL/MariaDB the tuples are written as literals escaped by the driver
    (``cnperp.bulk_sql``); elsewhere through ``executemany``.
    """
    prefix = "sl-" + statement.pk.split("-", 1)[-1]
    currency = statement.currency
    unmatched = LineMatchStatus.UNMATCHED.value
    table = StatementLine._meta.db_table
    rows = []
    for key, line, line_number in new:
        rows.append(
            (
                f"{prefix}-{line_number:06d}",
                statement.pk,
                account.pk,
                line_number,
                line.booking_date.isoformat(),
                line.value_date.isoformat() if line.value_date else None,
                str(line.amount),
                line.narrative[:NARRATIVE_MAX],
                1 if line.is_reversal else 0,
                key,
                unmatched,
                (line.currency or currency)[: _MAX_LENGTH["currency"]],
                line.end_to_end_id[: _MAX_LENGTH["end_to_end_id"]],
                line.bank_reference[: _MAX_LENGTH["bank_reference"]],
                line.fitid[: _MAX_LENGTH["fitid"]],
                line.counterparty_name[: _MAX_LENGTH["counterparty_name"]],
                line.counterparty_iban[: _MAX_LENGTH["counterparty_iban"]],
                line.transaction_code[: _MAX_LENGTH["transaction_code"]],
            )
        )
        if len(rows) >= BATCH_SIZE:
            rows_insert(table, _LINE_COLUMNS, rows, repeated=_LINE_REPEATED, chunk_rows=BATCH_SIZE)
            rows = []
    rows_insert(table, _LINE_COLUMNS, rows, repeated=_LINE_REPEATED, chunk_rows=BATCH_SIZE)


def _check_totals_fit(parsed, number):
    """Refuse totals the money columns cannot hold, rather than fail in the database."""
    limit = money_limit()
    for what, value in (
        ("lines total", parsed.lines_total),
        ("balance difference", parsed.balance_difference),
        # A CSV's opening balance is worked out (first balance less first amount): it can pass the limit.
        ("opening balance", parsed.opening_balance),
        ("closing balance", parsed.closing_balance),
    ):
        if value is not None and abs(value) >= limit:
            raise DomainError(
                f"Statement {number}: its {what} ({value}) is beyond what an amount can hold.",
                field="file",
                code="too_large",
            )


def dedupe_keys(lines, occurrences=None, *, content_occurrences=None):
    """Return each line's dedupe key, in order (see the module docstring).

    ``occurrences`` carries the counts over from the statement's earlier lines
    when it is read in batches; ``content_occurrences``, when given, those of
    the lines without a reference (counted on across the file's statements).
    """
    occurrences = {} if occurrences is None else occurrences
    content_occurrences = occurrences if content_occurrences is None else content_occurrences
    keys = []
    for line in lines:
        amount = format(line.amount, "f")
        day = line.booking_date.isoformat()
        if line.fitid:
            kind, parts = "f", (line.fitid, day, amount)
        elif line.bank_reference:
            kind, parts = "r", (line.bank_reference, day, amount)
        elif line.end_to_end_id:
            kind, parts = "e", (line.end_to_end_id, day, amount)
        else:
            kind, parts = (
                "h",
                (
                    day,
                    line.value_date.isoformat() if line.value_date else "",
                    amount,
                    line.currency,
                    line.counterparty_name,
                    line.counterparty_iban,
                    line.narrative,
                    line.transaction_code,
                ),
            )
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
        counts = content_occurrences if kind == "h" else occurrences
        count = counts[digest] = counts.get(digest, 0) + 1
        keys.append(f"{kind}:{digest}:{count}")
    return keys


def _existing_keys(account, keys):
    """Return those of ``keys`` already stored for ``account``.

    Plain SQL: the ORM spent more compiling an IN of 2,000 keys than the server spent answering it.
    """
    found = set()
    if not keys:
        return found
    table = connection.ops.quote_name(StatementLine._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), BATCH_SIZE):
            chunk = keys[start : start + BATCH_SIZE]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT dedupe_key FROM {table} WHERE bank_account_id = %s AND dedupe_key IN ({marks})",  # noqa: S608
                [account.pk, *chunk],
            )
            found.update(key for (key,) in cursor.fetchall())
    return found


# Countries whose IBAN ends with the account number in a field of this width (the
# national BBAN layouts of the IBAN registry); elsewhere the last field is a check
# digit or the width is not listed here.
IBAN_ACCOUNT_WIDTH = {"AT": 11, "CH": 12, "DE": 10, "GB": 8, "IE": 8, "LI": 12, "NL": 10}
IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+\Z")


def _normalise(identifier):
    return "".join(ch for ch in (identifier or "").upper() if ch.isalnum())


def _is_this_account(identifier, account, *, currency=""):
    """Return whether the file's account identification names ``account``.

    Files write the account their own way: an IBAN, a bare number, or
    ``BLZ/number`` and ``BIC/number`` in MT940, some followed by the statement's
    currency ("NL08DEUT0319809633EUR"). A file without one (CSV) is taken to be
    for the account it is imported into.
    """
    found = _normalise(identifier)
    if not found:
        return True
    currency = (currency or "").upper()
    if len(currency) == 3 and found.endswith(currency) and found[: -len(currency)][-1:].isdigit():
        found = found[: -len(currency)]
        identifier = identifier.rstrip()[: -len(currency)]
    iban = _normalise(account.iban)
    number = _normalise(account.account_number)
    if found in (iban, number):
        return True
    return _names_number(identifier, found, number)


def _names_number(identifier, found, number):
    """Return whether a file's identification names our bare account ``number``.

    Only at a field's boundary: "37040044/9123456" is another account than 123456,
    though it ends with it.
    """
    digits = number.lstrip("0")
    if len(digits) < 4:
        return False
    if "/" in identifier:
        # "BLZ/number" or "BIC/number" (MT940 :25:): the number is the last field.
        return _normalise(identifier.rsplit("/", 1)[1]).lstrip("0") == digits
    if IBAN_SHAPE.match(found):
        width = IBAN_ACCOUNT_WIDTH.get(found[:2])
        if width is not None and len(digits) <= width:
            # The account field's width is known: the number fills it, padded with zeros.
            return found[-width:].lstrip("0") == digits
        if width is not None:
            # Longer than the field: written with the bank or sort code ("60-16-13 31926819").
            return found[4:].endswith(digits)
        # Elsewhere an IBAN ends with the account number, padded with zeros to a width not
        # known here: "…0532013000" names 532013000, not 2013000; a longer number ending in
        # zeros and ours ("…9000123456" for 123456) still passes for it.
        tail = found[4:]
        if not tail.endswith(digits):
            return False
        return tail[: -len(digits)].endswith("0") or len(digits) >= 10
    return found.lstrip("0") == digits
