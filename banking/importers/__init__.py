"""Bank statement parsers, one module per format, all producing
:class:`~banking.importers.base.ParsedStatement` objects.

``parse_statements`` is the one door: it detects the format when asked to
(``auto``) and hands the bytes to the format's parser.
"""

from banking.importers import bai2, camt, csv_profile, mt940, ofx
from banking.importers.base import (
    LINES,
    STATEMENT,
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    check_line_dates,
    check_statement_dates,
)
from banking.importers.detect import CSV, FORMATS, detect_format

PARSERS = {"camt": camt.parse, "mt940": mt940.parse, "ofx": ofx.parse, "bai2": bai2.parse}

__all__ = [
    "FORMATS",
    "LINES",
    "STATEMENT",
    "ParsedLine",
    "ParsedStatement",
    "StatementParseError",
    "detect_format",
    "parse_statements",
    "stream_statements",
]


def parse_statements(content, *, format="auto", profile=None):
    """Return ``(format, statements)`` for a statement file's bytes."""
    chosen = detect_format(content, has_profile=profile is not None) if format == "auto" else format
    events = stream_statements(content, format=chosen, profile=profile)
    return chosen, [item for kind, item in events if kind == STATEMENT]


def stream_statements(content, *, format, profile=None):
    """Yield ``(LINES, batch)`` and ``(STATEMENT, statement)`` events for a file of a known format.

    A statement's lines it has not given out as ``LINES`` come with it.

    camt, the format of the largest files, is read as a stream (``camt.stream``);
    the others are parsed whole and give out each statement alone, with its
    lines, so that the importer checks its account before writing any.

    Every event passes the checks all formats share (``_checked``) on its way out.
    """
    return _checked(_events(content, format, profile))


def _events(content, format, profile):
    if format == "camt":
        yield from camt.stream(content)
        return
    if format == CSV:
        if profile is None:
            raise StatementParseError("A CSV statement needs the bank's CSV profile.")
        statements = csv_profile.parse(content, profile)
    else:
        statements = PARSERS[format](content)
    for statement in statements:
        yield STATEMENT, statement


def _checked(events):
    """Pass ``events`` on once their dates are within the years the books hold.

    Here, once, rather than in each parser: every format's lines and periods
    come through this door, a streamed camt statement's batches of lines
    before their statement. Lines are numbered as they are stored.
    """
    statement = 1
    checked = 0  # lines of the open statement already checked, as LINES batches
    for kind, item in events:
        where = f"statement {statement} of the file"
        if kind == LINES:
            check_line_dates(item, first=checked + 1, where=where)
            checked += len(item)
        else:
            check_line_dates(item.lines[checked:], first=checked + 1, where=where)
            if item.statement_id:
                where = f"{where} ({item.statement_id})"
            check_statement_dates(item, where=where)
            statement += 1
            checked = 0
        yield kind, item
