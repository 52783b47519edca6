"""Multi-row INSERTs of many rows at once: GL lines, dimension assignments, statement lines, matches.

The bulk writers (batch posting, statement import, the matcher) write tens of
thousands of rows a call. mysqlclient's ``executemany`` escapes every value
through a generic Python dispatch (``literal()`` per value, about a second per
million values); here, on MySQL/MariaDB, each text goes once through the
driver's own C escaping (``string_literal``, which honours the connection's
character set) and numbers, dates and NULL are written as they are. Other
databases (SQLite) keep ``executemany`` with parameters.

Values must already be what the column stores: ``str``, ``int``, ``bool``,
``Decimal``, ``date``, naive ``datetime`` (as Django's backend prepares aware
ones) or ``None``. Anything else is refused rather than guessed at.
"""

import datetime
from decimal import Decimal

from django.db import connection

CHUNK_ROWS = 2000  # a chunk of GL lines is about 0.5 MB, well under max_allowed_packet (16 MB)
# A statement is also cut at this many characters (up to 4 bytes each: 16 MB at most).
MAX_STATEMENT_CHARS = 4 * 1024 * 1024


def rows_insert(table, columns, rows, *, repeated=(), chunk_rows=CHUNK_ROWS):
    """INSERT ``rows`` (tuples in the order of ``columns``) into ``table``, ``chunk_rows`` a statement.

    ``repeated`` names the positions of columns whose few values recur on
    every row (an account, a status, a moment, a user): each distinct value is
    escaped once per call.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    # Only quoted names are interpolated; values are escaped by the driver or sent as parameters.
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) VALUES "  # noqa: S608
    with connection.cursor() as cursor:
        if not _escapes_utf8(connection):
            sql = head + "(" + ", ".join(["%s"] * len(columns)) + ")"
            for start in range(0, len(rows), chunk_rows):
                cursor.executemany(sql, rows[start : start + chunk_rows])
            return
        row_literal = _row_literal(connection.connection.string_literal, len(columns), set(repeated))
        for start in range(0, len(rows), chunk_rows):
            # Also cut by size: long texts could otherwise pass max_allowed_packet (16 MB by default).
            parts, size = [], 0
            for row in rows[start : start + chunk_rows]:
                text = row_literal(row)
                if parts and size + len(text) > MAX_STATEMENT_CHARS:
                    cursor.execute(head + ",".join(parts))
                    parts, size = [], 0
                parts.append(text)
                size += len(text) + 1
            cursor.execute(head + ",".join(parts))


def _escapes_utf8(connection):
    """Whether the literal writer may run: MySQL/MariaDB with a UTF-8 connection.

    The values are encoded as UTF-8 before the driver escapes them; under another
    connection character set (gbk, sjis) that escaping could be read wrongly, so
    such a connection keeps ``executemany``, which encodes in its own charset.
    """
    if connection.vendor != "mysql":
        return False
    connection.ensure_connection()
    return connection.connection.character_set_name().startswith("utf8")


def _row_literal(escape, width, repeated):
    """Return a function that writes one row as ``(v1,v2,...)`` of SQL literals."""

    def literal(value):
        kind = value.__class__
        if kind is str:
            return escape(value.encode()).decode()
        if value is None:
            return "NULL"
        if kind is int:
            return str(value)
        if kind is Decimal:
            if not value.is_finite():
                raise ValueError(f"{value} is not an amount a column can store")
            return format(value, "f")
        if kind is bool:
            return "1" if value else "0"
        if kind is datetime.date:
            return f"'{value.isoformat()}'"
        if kind is datetime.datetime:
            if value.tzinfo is not None:
                raise ValueError("aware datetimes must be prepared for the database first")
            return f"'{value.isoformat(' ')}'"
        # Subclasses last (the rare path): choices enums are ``str`` and ``int``.
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, str):
            return escape(str.encode(value)).decode()
        if isinstance(value, int):
            return str(int(value))
        raise TypeError(f"no SQL literal for a {kind.__name__}")

    if not repeated:
        return lambda row: "(" + ",".join(map(literal, row)) + ")"

    memo = {}

    def once(value):
        # Values of the repeated columns are few; their literal is made once.
        try:
            return memo[value]
        except KeyError:
            memo[value] = text = literal(value)
            return text

    converters = [once if position in repeated else literal for position in range(width)]

    def row_literal(row):
        return "(" + ",".join([convert(value) for convert, value in zip(converters, row, strict=True)]) + ")"

    return row_literal
