"""The OFX parser: 1.x SGML and 2.x XML.

Real files from jseutter/ofxparse's tests (MIT), copied unchanged into
``samples/ofx``; see samples/README.md and samples/LICENSES.
"""

from decimal import Decimal

import pytest

from banking.importers import ofx
from banking.importers.base import StatementParseError
from banking.tests.statement_files import sample

D = Decimal


def test_sgml_file_with_unclosed_tags_is_read():
    [statement] = ofx.parse(sample("ofx/checking_ofx102_sgml.ofx"))

    assert statement.account_identifier == "1452687~7"
    assert statement.currency == "USD"
    assert [line.fitid for line in statement.lines] == ["0000486", "0000487", "0000488"]
    assert [line.amount for line in statement.lines] == [D("0.01"), D("-34.51"), D("-25.00")]
    # OFX gives the ledger balance only: no opening, so consistency is unknown
    assert statement.opening_balance is None
    assert statement.closing_balance == D("100.99")
    assert statement.is_consistent is None


def test_xml_file_with_crlf_and_cdata_is_read():
    [statement] = ofx.parse(sample("ofx/suncorp_ofx2_xml.ofx"))

    assert statement.currency == "AUD"
    assert statement.closing_balance == D("1234.12")
    [line] = statement.lines
    assert line.amount == D("-16.85")
    assert line.counterparty_name == "EFTPOS WDL HANDYWAY ALDI STORE"
    assert str(line.booking_date) == "2013-12-15"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (sample("ofx/suncorp_ofx2_xml.ofx")[:900], "truncated"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><OFX></OFX>', "DOCTYPE"),
        (b"<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>", "no bank"),
        (sample("ofx/suncorp_ofx2_xml.ofx").replace(b"-16.85", b"-16.855"), "decimal places"),
        (sample("ofx/suncorp_ofx2_xml.ofx").replace(b"<DTPOSTED>20131215", b"<DTPOSTED>2013-12"), "OFX date"),
    ],
    ids=["truncated", "doctype", "no-statement", "too-many-decimals", "bad-date"],
)
def test_bad_ofx_files_are_refused(content, message):
    with pytest.raises(StatementParseError) as raised:
        ofx.parse(content)

    assert message in str(raised.value)
