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


SGML_SAMPLE = sample("ofx/checking_ofx102_sgml.ofx")


def sgml_with(old, new):
    assert old in SGML_SAMPLE
    return SGML_SAMPLE.replace(old, new, 1)


def test_sgml_empty_leaves_without_closing_tags_do_not_swallow_the_next_fields():
    # Given a payee and a memo without a value or a closing tag, before the other fields
    content = (
        sgml_with(b"<TRNAMT>0.01", b"<NAME>\n<MEMO>\n<TRNAMT>0.01")
        .replace(b"<NAME>DIVIDEND EARNED FOR PERIOD OF 03\n", b"<REFNUM>R-1\n", 1)
        .replace(
            b"<MEMO>DIVIDEND EARNED FOR PERIOD OF 03/01/2011 THROUGH 03/31/2011 "
            b"ANNUAL PERCENTAGE YIELD EARNED IS 0.05%",
            b"<CHECKNUM>",
            1,
        )
    )

    # When it is parsed
    [statement] = ofx.parse(content)

    # Then the fields after the empty ones are still read, and the empty ones are empty
    first = statement.lines[0]
    assert (first.amount, first.fitid, first.bank_reference) == (D("0.01"), "0000486", "R-1")
    assert (first.counterparty_name, first.narrative) == ("", "")
    assert str(first.booking_date) == "2011-03-31"
    assert [line.fitid for line in statement.lines] == ["0000486", "0000487", "0000488"]
    assert statement.closing_balance == D("100.99")


def test_sgml_empty_leaf_right_before_a_closing_tag_is_read_as_empty():
    content = sgml_with(b"<MEMO>AUTOMATIC WITHDRAWAL, ELECTRIC BILL WEB(S )", b"<MEMO>")

    [statement] = ofx.parse(content)

    second = statement.lines[1]
    assert (second.amount, second.counterparty_name, second.narrative) == (
        D("-34.51"),
        "AUTOMATIC WITHDRAWAL, ELECTRIC BILL",
        "",
    )
    assert len(statement.lines) == 3


def test_sgml_empty_leaf_before_an_aggregate_leaves_the_aggregate_where_it_belongs():
    # Given an empty leaf straight before the statement's balance aggregate
    content = sgml_with(b"<LEDGERBAL>", b"<MKTGINFO>\n<LEDGERBAL>")

    [statement] = ofx.parse(content)

    assert statement.closing_balance == D("100.99")
    assert len(statement.lines) == 3


def test_xml_empty_elements_are_empty_values():
    content = sample("ofx/suncorp_ofx2_xml.ofx")
    name = b"<NAME><![CDATA[EFTPOS WDL HANDYWAY ALDI STORE  ]]></NAME>"
    memo = b"<MEMO><![CDATA[EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU]]></MEMO>"
    assert name in content and memo in content
    content = content.replace(name, b"<NAME/>", 1).replace(
        memo, b"<MEMO></MEMO><PAYEE><NAME>ALDI</NAME></PAYEE>", 1
    )

    [statement] = ofx.parse(content)

    [line] = statement.lines
    assert (line.amount, line.counterparty_name, line.narrative) == (D("-16.85"), "ALDI", "")


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
