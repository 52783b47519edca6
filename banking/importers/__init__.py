"""Bank statement parsers, one module per format, all producing
:class:`~banking.importers.base.ParsedStatement` objects.

``parse_statements`` is the one door: it detects the format when asked to
(``auto``) and hands the bytes to the format's parser.
"""

from banking.importers import bai2, camt, csv_profile, mt940, ofx
from banking.importers.base import LINES, STATEMENT, ParsedLine, ParsedStatement, StatementParseError
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
    if chosen == CSV:
        if profile is None:
            raise StatementParseError("A CSV statement needs the bank's CSV profile.")
        return chosen, csv_profile.parse(content, profile)
    return chosen, PARSERS[chosen](content)


def stream_statements(content, *, format, profile=None):
    """Yield ``(LINES, batch)`` and ``(STATEMENT, statement)`` events for a file of a known format.

    A statement's lines it has not given out as ``LINES`` come with it.

    camt, the format of the largest files, is read as a stream (``camt.stream``);
    the others are parsed whole and give out each statement alone, with its
    lines, so that the importer checks its account before writing any.
    """
    if format == "camt":
        yield from camt.stream(content)
        return
    for statement in parse_statements(content, format=format, profile=profile)[1]:
        yield STATEMENT, statement
