"""Tamper evidence for the ledger: every posting is sealed with a hash chained to the one before.

In the spirit of Odoo's inalterability check. When a posting is written, its
*seal* is computed from everything that makes it what it is: the header
(reference, source, purpose, date, period, description, reversal link, who and
when), and every GL line in order (account, debit, credit, description,
reversal link) with its dimensions, both as the line's columns and as its
``dimension_assignments`` rows. The seal hashes that content together with the
previous posting's seal::

    chain_hash = SHA-256(previous_hash + canonical JSON of the posting)

and the posting keeps its place in the chain (``chain_sequence``, 1, 2, 3 ...).
The seal is computed from the rows in memory just before they are inserted,
so the row is written once, already sealed (the triggers of migration 0002 still
refuse any UPDATE).

A change made behind the application's back, directly in SQL, then shows:

- a line's amount, account or dimension changed, or a line deleted or added:
  the posting's content no longer gives its ``chain_hash``;
- a whole posting deleted: a gap in ``chain_sequence``, and the next posting's
  ``previous_hash`` points at nothing (the newest ones: the chain head still
  remembers them);
- a seal rewritten to hide a change: the next posting's ``previous_hash`` no
  longer matches it.

Someone able to recompute every later seal and the head could hide a change;
``verify_ledger`` prints the head's hash so that operators can keep it outside
the database (docs/audit.md).

Serialisation: extending the chain needs the previous seal, so each posting
transaction locks the one chain-head row (``SELECT ... FOR UPDATE``) once per
batch, after its period, account and document locks (the last lock of the
global order, so it cannot deadlock with them), and holds it until commit.
"""

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import operator
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from accounting.models import DimensionAssignment, JournalEntry, JournalPosting, LedgerChainHead
from accounting.selectors import lines_off_the_cent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HEAD_ID = 1
CENT = Decimal("0.01")

# The content a seal covers, by attribute name; the order is part of the format.
POSTING_FIELDS = (
    "id",
    "reference",
    "source_type",
    "source_id",
    "purpose",
    "entry_date",
    "period_id",
    "description",
    "reverses_id",
    "reason",
    "posted_by_id",
    "posted_at",
)
LINE_FIELDS = (
    "id",
    "line_number",
    "reference",
    "entry_date",
    "period_id",
    "account_id",
    "debit",
    "credit",
    "description",
    "source_type",
    "source_id",
    "posted_by_id",
    "posted_at",
    "reversal_of_id",
    "cost_center_id",
    "project_id",
    "department_id",
)
MONEY_FIELDS = frozenset({"debit", "credit"})
MOMENT_FIELDS = frozenset({"posted_at"})
ASSIGNMENT_FIELDS = ("dimension_type", "cost_center_id", "project_id", "department_id")
# Format of the sealed content; a new format would be a new version, never a silent change.
FORMAT_VERSION = "cnperp-ledger-seal-1"


def _text(value):
    """Return ``value`` as the one text both the database and memory give for it."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, datetime.date):  # dates repeat across a batch: formatted once each
        return _date_text(value)
    return str(value)


def _money_text(value):
    if not value:
        return "0.00"  # -0.00 in memory is 0.00 in the database
    if type(value) is Decimal and value.as_tuple().exponent == -2:
        return str(value)
    return str(Decimal(value).quantize(CENT))


@functools.lru_cache(maxsize=4096)
def _date_text(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            # The database keeps UTC (USE_TZ); so does the seal.
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    return value.isoformat()


@functools.lru_cache(maxsize=4096)
def _moment_text(value):
    """Return a moment given as an aware datetime or as the database's naive UTC text, as text."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return _date_text(value)


def _convert(name):
    if name in MONEY_FIELDS:
        return _money_text
    if name in MOMENT_FIELDS:
        return _moment_text
    return _text


_POSTING_CONVERT = [(name, _convert(name)) for name in POSTING_FIELDS]
_LINE_CONVERT = [(name, _convert(name)) for name in LINE_FIELDS]


def _assignment_key(row):
    return ["" if value is None else value for value in row]


def _line_key(line):
    return line[0]  # (line number, id): unique within a posting


def _canonical(header, lines):
    """Return the canonical bytes of a posting (converted header; lines as ``(key, fields, assignments)``)."""
    document = {
        "format": FORMAT_VERSION,
        "posting": header,
        "lines": [
            [fields, sorted(rows, key=_assignment_key)] for _key, fields, rows in sorted(lines, key=_line_key)
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def posting_content(posting, lines, assignments):
    """Return the canonical bytes of a posting.

    ``posting`` and each of ``lines`` are dicts of the fields above;
    ``assignments`` maps a line id to its dimension assignment dicts.
    """
    return _canonical(
        [convert(posting[name]) for name, convert in _POSTING_CONVERT],
        [
            (
                (line["line_number"], line["id"]),
                [convert(line[name]) for name, convert in _LINE_CONVERT],
                [[_text(row[name]) for name in ASSIGNMENT_FIELDS] for row in assignments.get(line["id"], ())],
            )
            for line in lines
        ],
    )


def seal_hash(previous_hash, content):
    """Return the seal of a posting whose canonical bytes are ``content``, after ``previous_hash``."""
    return hashlib.sha256(previous_hash.encode("ascii") + content).hexdigest()


# --- Sealing while posting -----------------------------------------------------


def head_lock():
    """Lock the chain head (creating it on first use) and return it; call inside the posting transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("The chain head is only locked inside transaction.atomic().")
    head = LedgerChainHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is None:
        # An empty ledger starts the chain; a ledger whose head row went missing goes on from
        # its newest seal, so posting keeps working (verify_ledger still checks every link).
        newest = (
            JournalPosting.objects.filter(chain_sequence__isnull=False)
            .order_by("-chain_sequence")
            .values_list("chain_sequence", "chain_hash")
            .first()
        )
        if newest is not None:
            log.warning("The ledger chain head was missing; recreated at seal %s.", newest[0])
        sequence, last_hash = newest or (0, GENESIS_HASH)
        try:
            with transaction.atomic():
                LedgerChainHead.objects.create(pk=HEAD_ID, last_sequence=sequence, last_hash=last_hash)
        except IntegrityError:
            pass  # another transaction created it first
        head = LedgerChainHead.objects.select_for_update().get(pk=HEAD_ID)
    return head


def _getter(columns, name):
    """Return how to read ``name`` from a row: a model instance, or a tuple in the order of ``columns``."""
    if columns is None:
        return operator.attrgetter(name)
    return operator.itemgetter(columns.index(name))


def seal(postings, lines, assignments, *, columns=(None, None)):
    """Seal the unsaved ``postings`` (with their GL ``lines`` and dimension ``assignments``) in order.

    ``lines`` and ``assignments`` are model instances, or tuples in the order of
    the two column lists of ``columns``; the seal covers exactly the values
    about to be inserted. Sets ``chain_sequence``, ``previous_hash`` and
    ``chain_hash`` on each posting and moves the chain head. Must run inside the
    transaction that inserts them, so a rollback undoes both together.
    """
    if not postings:
        return
    line_columns, assignment_columns = columns
    head = head_lock()
    # Rows are read by position, converted once, and grouped; no dict per row (a batch has 100,000s).
    assignment_of = _getter(assignment_columns, "journal_entry_id")
    assignment_fields = [_getter(assignment_columns, name) for name in ASSIGNMENT_FIELDS]
    assignments_by_line = defaultdict(list)
    for row in assignments:
        assignments_by_line[assignment_of(row)].append([_text(get(row)) for get in assignment_fields])
    posting_of = _getter(line_columns, "posting_id")
    line_id, line_number = _getter(line_columns, "id"), _getter(line_columns, "line_number")
    line_fields = [(_getter(line_columns, name), convert) for name, convert in _LINE_CONVERT]
    lines_by_posting = defaultdict(list)
    for row in lines:
        key = (line_number(row), line_id(row))
        fields = [convert(get(row)) for get, convert in line_fields]
        lines_by_posting[posting_of(row)].append((key, fields, assignments_by_line[key[1]]))
    sequence, previous = head.last_sequence, head.last_hash
    for posting in postings:
        sequence += 1
        header = [convert(getattr(posting, name)) for name, convert in _POSTING_CONVERT]
        content = _canonical(header, lines_by_posting[posting.id])
        posting.chain_sequence = sequence
        posting.previous_hash = previous
        posting.chain_hash = previous = seal_hash(previous, content)
    LedgerChainHead.objects.filter(pk=HEAD_ID).update(last_sequence=sequence, last_hash=previous)


# --- Reading the ledger back and verifying it ----------------------------------------

SEAL_FIELDS = ("chain_sequence", "previous_hash", "chain_hash")


def stored_chunks(queryset, *, chunk_size=2000):
    """Yield ``(postings, lines_by_posting, assignments_by_line)`` as stored, in chain order.

    Only sealed postings of ``queryset``; each posting is a dict with its seal
    columns too. Three queries per chunk, so a ledger of millions of postings
    streams in constant memory.
    """
    names = (*POSTING_FIELDS, *SEAL_FIELDS)
    rows = queryset.filter(chain_sequence__isnull=False).order_by("chain_sequence").values_list(*names)
    last = None
    while True:
        page = rows if last is None else rows.filter(chain_sequence__gt=last)
        chunk = [dict(zip(names, row, strict=True)) for row in page[:chunk_size]]
        if not chunk:
            return
        ids = [row["id"] for row in chunk]
        lines = defaultdict(list)
        for row in JournalEntry.objects.filter(posting_id__in=ids).values_list("posting_id", *LINE_FIELDS):
            lines[row[0]].append(dict(zip(LINE_FIELDS, row[1:], strict=True)))
        assignments = defaultdict(list)
        for row in DimensionAssignment.objects.filter(journal_entry__posting_id__in=ids).values_list(
            "journal_entry_id", *ASSIGNMENT_FIELDS
        ):
            assignments[row[0]].append(dict(zip(ASSIGNMENT_FIELDS, row[1:], strict=True)))
        yield chunk, lines, assignments
        last = chunk[-1]["chain_sequence"]


@dataclasses.dataclass
class Finding:
    """One posting that no longer matches its seal, and why."""

    posting_id: str | None
    reference: str
    period_id: str
    sequence: int | None
    problem: str

    def __str__(self):
        if self.posting_id is None:
            return self.problem
        place = f"sequence {self.sequence}, " if self.sequence is not None else ""
        return (
            f"Posting {self.reference} (id {self.posting_id}, {place}period {self.period_id}) {self.problem}"
        )


@dataclasses.dataclass
class Verification:
    """What ``ledger_verify`` found: how many postings it checked, the problems, the chain head."""

    verified: int = 0
    findings: list = dataclasses.field(default_factory=list)
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH
    unlisted: int = 0  # problems found but not listed one by one (unsealed postings beyond the first 100)

    @property
    def ok(self):
        return not self.findings

    @property
    def problem_count(self):
        return len(self.findings) + self.unlisted


def _finding(posting, problem):
    return Finding(
        posting["id"], posting["reference"], posting["period_id"], posting["chain_sequence"], problem
    )


def _predecessors(chunk, known):
    """Return ``{sequence: chain_hash}`` of the postings just before those of ``chunk`` not in ``known``."""
    wanted = {p["chain_sequence"] - 1 for p in chunk} - set(known) - {0}
    found = dict(
        JournalPosting.objects.filter(chain_sequence__in=sorted(wanted)).values_list(
            "chain_sequence", "chain_hash"
        )
    )
    return found


UNSEALED_LISTED = 100


def ledger_verify(*, period=None, chunk_size=2000):
    """Recompute every seal (or those of ``period``, ``YYYY-MM``) and return a :class:`Verification`.

    Checks, for each posting in chain order, that the posting before it is
    there, that its ``previous_hash`` is that posting's seal, and that its
    content still gives its ``chain_hash``; then that no posting is unsealed and,
    for the whole ledger, that the chain head names the last seal.
    """
    result = Verification()
    postings = JournalPosting.objects.all()
    if period is not None:
        postings = postings.filter(period_id=period)
    known = {0: GENESIS_HASH}
    for chunk, lines, assignments in stored_chunks(postings, chunk_size=chunk_size):
        if period is not None:
            known.update(_predecessors(chunk, known))
        for posting in chunk:
            sequence = posting["chain_sequence"]
            before = known.get(sequence - 1)
            if before is None:
                result.findings.append(
                    _finding(
                        posting,
                        f"follows a posting that is missing (sequence {sequence - 1}): it was deleted.",
                    )
                )
            elif posting["previous_hash"] != before:
                result.findings.append(
                    _finding(
                        posting,
                        f"no longer links to the posting before it (sequence {sequence - 1}): "
                        "that posting's seal was rewritten.",
                    )
                )
            content = posting_content(posting, lines[posting["id"]], assignments)
            if seal_hash(posting["previous_hash"], content) != posting["chain_hash"]:
                result.findings.append(
                    _finding(
                        posting,
                        "no longer matches its seal: its header or a line (account, amount, dimension) was "
                        "changed, added or deleted after it was posted.",
                    )
                )
            result.verified += 1
            if period is None:
                known = {sequence: posting["chain_hash"]}
            else:
                known[sequence] = posting["chain_hash"]
    unsealed = postings.filter(chain_sequence__isnull=True).order_by("posted_at", "id")
    listed = 0
    for posting in unsealed.values("id", "reference", "period_id", "chain_sequence")[:UNSEALED_LISTED]:
        listed += 1
        result.findings.append(
            _finding(
                posting, "has no seal: it was written behind the posting service, directly in the database."
            )
        )
    if listed == UNSEALED_LISTED:
        result.unlisted = unsealed.count() - listed
    for posting in postings.filter(
        pk__in=lines_off_the_cent().values("posting_id"), chain_sequence__isnull=False
    ).values("id", "reference", "period_id", "chain_sequence"):
        result.findings.append(
            _finding(
                posting,
                "has a line amount that is not a whole number of cents: it was changed in the database "
                "(the seal reads amounts to the cent).",
            )
        )
    head = LedgerChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None:
        result.head_sequence, result.head_hash = head.last_sequence, head.last_hash
    if period is None:
        last_sequence, last_hash = max(known.items())
        if (result.head_sequence, result.head_hash) != (last_sequence, last_hash):
            result.findings.append(
                Finding(
                    None,
                    "",
                    "",
                    result.head_sequence,
                    f"The chain head names seal {result.head_sequence} as the newest, but the ledger's "
                    f"newest seal is {last_sequence}: postings were deleted from the end of the ledger, "
                    "or the head was changed.",
                )
            )
    result.findings.sort(key=lambda f: (f.sequence is None, f.sequence or 0))
    return result
