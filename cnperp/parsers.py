"""JSON bodies that the database and the answer can hold.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``), which Python's ``json``
decodes into a string that cannot be encoded as UTF-8: stored or echoed back,
it fails deep in the database driver or the renderer. It is refused here, at
the door, with a 400 that names the field, before any serializer sees it. So is
a body nested deeper than any request needs (``MAX_NESTING``): thousands of
brackets would exhaust the recursion of the code that reads them.
"""

import json

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_NESTING = 32


def nesting_beyond(value, limit):
    """Whether lists and objects in ``value`` nest deeper than ``limit`` (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


class NestedTooDeep(Exception):
    """A JSON body nested deeper than ``MAX_NESTING``; its message says so."""

    def __init__(self):
        super().__init__(f"the body nests deeper than {MAX_NESTING} levels")


def decoded_shallow(decode):
    """Return what ``decode()`` (a JSON decoding) gives, or raise :class:`NestedTooDeep`.

    No request here nests more than a few levels; thousands of brackets are an attack on the
    recursive code that reads them, the decoder's own included (a RecursionError: a 500).
    """
    try:
        data = decode()
    except RecursionError:
        raise NestedTooDeep from None
    if nesting_beyond(data, MAX_NESTING):
        raise NestedTooDeep
    return data


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = decoded_shallow(
                lambda: super(StrictJSONParser, self).parse(stream, media_type, parser_context)
            )
        except NestedTooDeep as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}.") from None
        path = unencodable_path(data, "")
        if path is not None:
            # Named like a serializer's error: the top-level field, the full path in the message.
            field, _, rest = path.partition(".")
            where = f"{rest}: " if rest else ""
            raise exceptions.ValidationError(
                {
                    field or "non_field_errors": [
                        f"{where}holds a character that is not valid text (a lone UTF-16 surrogate)."
                    ]
                },
                code="invalid",
            )
        return data


def unencodable_path(value, path):
    """Return the path of the first string (or key) in ``value`` that UTF-8 cannot encode, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{_printable(key)}" if path else _printable(key)
            if unencodable_path(key, where) is not None:
                return where
            found = unencodable_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unencodable_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def _printable(key):
    """A key as the answer can show it: itself, or as JSON spells it when it holds a lone surrogate."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(key)[1:-1]
    return key
