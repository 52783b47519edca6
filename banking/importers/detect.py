"""Recognise a statement file's format from its first bytes.

Each format announces itself early: camt and OFX 2 are XML whose root (or
processing instruction) names them, OFX 1 starts with its ``OFXHEADER:``
block, BAI2 with a ``01,`` file header followed by a ``02,`` group, MT940/942
with SWIFT tags (``:20:`` then ``:25:``). CSV has no signature, so it is only
chosen when the caller gives a CSV profile.
"""

import re

from banking.importers.base import StatementParseError

CAMT, MT940, OFX, BAI2, CSV = "camt", "mt940", "ofx", "bai2", "csv"
FORMATS = (CAMT, MT940, OFX, BAI2, CSV)

_HEAD_BYTES = 4096
_SWIFT = re.compile(rb"(?m)^:20:.*?^:25:", re.S)


def detect_format(content, *, has_profile=False):
    """Return ``camt``, ``mt940``, ``ofx``, ``bai2`` or ``csv``, or raise StatementParseError."""
    head = content[:_HEAD_BYTES].lstrip(b"\xef\xbb\xbf\x01\r\n\t ")
    # Line ends of CR alone (old Mac exports) are line ends too: the parsers read them so.
    head = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    upper = head.upper()
    if head.startswith(b"<"):
        if b"<OFX" in upper or b"<?OFX" in upper:
            return OFX
        if b"CAMT.05" in upper or b"<DOCUMENT" in upper:
            return CAMT
        raise StatementParseError(
            "An XML file that is neither ISO 20022 camt.052/053/054 nor OFX; give the format if it is one."
        )
    if upper.startswith(b"OFXHEADER"):
        return OFX
    if head.startswith(b"01,") and re.search(rb"(?m)^02,", head):
        return BAI2
    if _SWIFT.search(head) or head.startswith(b"{1:"):
        return MT940
    if has_profile:
        return CSV
    raise StatementParseError(
        "The file's format was not recognised (camt, MT940/942, OFX, BAI2); "
        "for a CSV file give the bank's CSV profile."
    )
