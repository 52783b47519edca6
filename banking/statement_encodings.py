"""The character sets a CSV statement profile may name: the ones banks write statements in.

A profile's encoding is handed to ``bytes.decode``, and Python knows codecs
that turn a file into text no database column can hold (``utf-7`` reads
"+2AA-" as a lone UTF-16 surrogate, ``unicode_escape`` reads "\\ud800") or that
are no text encoding at all (``base64_codec``, ``rot13``). So a profile names
one of an allow-list, compared by Python's own name for the codec
(``codecs.lookup(name).name``), so that ``latin-1``, ``ISO-8859-1`` and
``latin1`` are one and the same. None of these decoders produces a lone
surrogate: UTF-8 and UTF-16 refuse one, the rest are tables of plain
characters (single bytes, or for the East Asian ones, sequences of two to
four bytes). The model field validates with it (the admin form and the API
serializer both run it), and the CSV reader checks it again for rows saved
before the rule.
"""

import codecs

from django.core.exceptions import ValidationError

# As a person would write them; each is its own codec name or an alias of one.
ACCEPTED = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "ascii",
    "latin-1",
    "iso-8859-2",
    "iso-8859-15",
    "cp1250",
    "cp1251",
    "cp1252",
    "cp437",
    "cp850",
    "mac-roman",
    # Central and eastern Europe, the Baltics, Greece, Turkey, Cyrillic, Thai.
    "iso-8859-5",
    "iso-8859-13",
    "cp1253",
    "cp1254",
    "cp1257",
    "koi8-r",
    "cp866",
    "cp874",
    # East Asian banks: multi-byte tables of plain characters.
    "gbk",
    "gb18030",
    "big5",
    "shift_jis",
    "cp932",
    "euc-jp",
    "euc-kr",
    "cp949",
)
STATEMENT_ENCODINGS = frozenset(codecs.lookup(name).name for name in ACCEPTED)


def statement_codec(name):
    """Return Python's name for the codec ``name`` when a statement may be in it, else None."""
    try:
        codec = codecs.lookup(name).name
    except (LookupError, TypeError, ValueError):
        return None
    return codec if codec in STATEMENT_ENCODINGS else None


def unsupported_message(name):
    """Say why ``name`` is refused, and what is accepted."""
    try:
        codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        why = "is not an encoding Python knows"
    else:
        why = "is not an encoding bank statements are written in"
    return f'"{name}" {why}. Use one of: {", ".join(ACCEPTED)}.'


def validate_statement_encoding(value):
    if statement_codec(value) is None:
        raise ValidationError(unsupported_message(value), code="unsupported_encoding")
