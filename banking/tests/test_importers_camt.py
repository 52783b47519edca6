"""The camt.052/053/054 parser, on real files and on hand-made ones.

The real files come from viafintech/camt_parser (MIT) and svapnil/iso20022.js
(MIT), copied unchanged into ``samples/camt`` (see samples/README.md and
samples/LICENSES).
"""

from decimal import Decimal

import pytest

from banking.importers import camt
from banking.importers.base import StatementParseError
from banking.tests.statement_files import camt_entry, camt_file, camt_statement, sample

D = Decimal


@pytest.mark.parametrize(
    ("name", "format_", "lines", "opening", "closing", "consistent"),
    [
        ("camt053_six_v4.xml", "camt053", 32, D("322152.16"), D("322689.77"), True),
        ("camt053_abn_amro.xml", "camt053", 29, D("1000.01"), D("100.01"), True),
        ("camt053_ing.xml", "camt053", 9, D("1000.00"), D("1605.00"), True),
        ("camt053_v8.xml", "camt053", 3, D("82721.95"), D("84515.25"), False),
        ("camt053_with_batch.xml", "camt053", 3, D("7329.80"), D("23038.20"), False),
        ("camt053_goldman_us_inconsistent.xml", "camt053", 15, D("-843686.20"), D("-846665.15"), False),
        ("camt052_example.xml", "camt052", 2, D("8.50"), D("13.50"), True),
        ("camt054_example.xml", "camt054", 5, None, None, None),
    ],
)
def test_real_camt_files_keep_counts_balances_and_consistency(
    name, format_, lines, opening, closing, consistent
):
    # given a real camt file / when it is parsed
    [statement] = camt.parse(sample(f"camt/{name}"))

    # then lines, balances and the consistency flag are the file's own
    assert statement.format == format_
    assert len(statement.lines) == lines
    assert statement.opening_balance == opening
    assert statement.closing_balance == closing
    assert statement.is_consistent is consistent
    assert all(isinstance(line.amount, Decimal) for line in statement.lines)


def test_inconsistent_statement_reports_its_difference():
    # given the camt.053.001.08 sample whose balances do not add up
    [statement] = camt.parse(sample("camt/camt053_v8.xml"))

    # then the difference is kept, not hidden
    assert statement.balance_difference == D("84515.25") - (D("82721.95") + statement.lines_total)
    assert statement.balance_difference != 0


def test_six_batches_expand_into_their_transaction_details():
    # given 13 entries holding 32 transaction details, each with its amount
    [statement] = camt.parse(sample("camt/camt053_six_v4.xml"))

    # then each detail is a line, and the lines still add up to the entries
    assert len(statement.lines) == 32
    assert statement.opening_balance + statement.lines_total == statement.closing_balance
    assert statement.account_identifier == "CH0309000000250090342"
    assert statement.currency == "CHF"


def test_prcd_is_the_opening_balance_when_opbd_is_missing():
    # given ABN AMRO's statement, which sends PRCD instead of OPBD
    [statement] = camt.parse(sample("camt/camt053_abn_amro.xml"))

    assert statement.opening_balance == D("1000.01")


def test_notification_end_to_end_ids_are_kept():
    [statement] = camt.parse(sample("camt/camt054_example.xml"))

    assert len([line for line in statement.lines if line.end_to_end_id]) == 5


def test_debit_entries_are_negative_and_reversal_is_flagged():
    # given a credit, a debit and a reversed credit (booked as a debit)
    content = camt_file(
        [
            camt_statement(
                [
                    camt_entry("100.00", reference="R1"),
                    camt_entry("40.00", sign="DBIT", reference="R2"),
                    camt_entry("10.00", sign="DBIT", reference="R3", reversal=True),
                ],
                closing="1050.00",
            )
        ]
    )

    [statement] = camt.parse(content)

    assert [line.amount for line in statement.lines] == [D("100.00"), D("-40.00"), D("-10.00")]
    assert [line.is_reversal for line in statement.lines] == [False, False, True]
    assert statement.is_consistent is True


def test_status_as_code_and_datetime_booking_dates_are_read():
    content = camt_file(
        [camt_statement([camt_entry("5.00", status_as_code=True, date_tag="DtTm", date="2025-10-03")])]
    )

    [statement] = camt.parse(content)

    assert len(statement.lines) == 1
    assert str(statement.lines[0].booking_date) == "2025-10-03"


def test_pending_entries_are_not_imported():
    content = camt_file(
        [camt_statement([camt_entry("5.00", reference="A"), camt_entry("7.00", status="PDNG")])]
    )

    [statement] = camt.parse(content)

    assert [line.amount for line in statement.lines] == [D("5.00")]


def test_batch_whose_details_do_not_add_up_stays_one_line():
    # given a batch of 30.00 whose details say 10 + 15
    entry = camt_entry("30.00", details=[("10.00", "CRDT", "E1"), ("15.00", "CRDT", "E2")])

    [statement] = camt.parse(camt_file([camt_statement([entry])]))

    assert [line.amount for line in statement.lines] == [D("30.00")]


def test_batch_with_mixed_signs_expands_with_each_sign():
    entry = camt_entry("30.00", details=[("50.00", "CRDT", "E1"), ("20.00", "DBIT", "E2")])

    [statement] = camt.parse(camt_file([camt_statement([entry])]))

    assert [(line.amount, line.end_to_end_id) for line in statement.lines] == [
        (D("50.00"), "E1"),
        (D("-20.00"), "E2"),
    ]


@pytest.mark.parametrize("version", ["02", "04", "08"])
def test_namespace_versions_are_all_read(version):
    content = camt_file([camt_statement([camt_entry("1.00")])], version=version)

    [statement] = camt.parse(content)

    assert len(statement.lines) == 1


def test_several_statements_and_reports_in_one_file():
    # given an intraday report file with two reports
    content = camt_file(
        [
            camt_statement([camt_entry("1.00")], statement_id="R1", container="Rpt", opening_code="PRCD"),
            camt_statement([camt_entry("2.00")], statement_id="R2", container="Rpt", closing="1002.00"),
        ],
        kind="052",
        message="BkToCstmrAcctRpt",
    )

    statements = camt.parse(content)

    assert [s.statement_id for s in statements] == ["R1", "R2"]
    assert [s.format for s in statements] == ["camt052", "camt052"]
    assert statements[0].opening_balance == D("1000.00")  # PRCD
    assert statements[0].is_consistent is None  # no closing balance: the check cannot be made
    assert statements[1].is_consistent is True


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>
</Stmt></BkToCstmrStmt></Document>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&lol3;</Id>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (XXE, "DTD"),
        (BILLION_LAUGHS, "DTD"),
        (camt_file([camt_statement([camt_entry("1.00")])], namespace="urn:example:not-camt"), "Unknown XML"),
        (camt_file([camt_statement([camt_entry("1.00")])], namespace=""), "Unknown XML"),
        (camt_file([camt_statement([camt_entry("1.00")])], version="99"), "Unknown XML"),
        (camt_file([camt_statement([camt_entry("1.00")])])[:300], "truncated"),
        (camt_file([camt_statement([camt_entry("1.005")])]), "more than 2 decimal places"),
        (camt_file([camt_statement([camt_entry("1e30")])]), "not a number"),
        (camt_file([camt_statement([camt_entry("1" * 30 + ".00")])]), "too large"),
        (
            camt_file([camt_statement([camt_entry("5.00", text="Caf\xe9")])]).replace(b"\xc3\xa9", b"\xe9"),
            "UTF-8",
        ),
        (camt_file([]), "no statement"),
        (b"<?xml version='1.0'?>", "not well-formed"),
        (
            camt_file([camt_statement([camt_entry("1.00")]), camt_entry("2.00"), camt_entry("3.00")]),
            "2 entries (<Ntry>) after its last <Stmt>",
        ),
        (
            camt_file(
                [
                    camt_statement(
                        [camt_entry("1.00").replace("</Ntry>", "<X>" * 60 + "</X>" * 60 + "</Ntry>")]
                    )
                ]
            ),
            "more than 40 levels deep",
        ),
    ],
    ids=[
        "xxe",
        "billion-laughs",
        "foreign-namespace",
        "no-namespace",
        "unknown-version",
        "truncated",
        "too-many-decimals",
        "exponent",
        "absurd-amount",
        "latin-1",
        "no-statement",
        "no-root",
        "entries-after-the-last-statement",
        "nested-too-deep",
    ],
)
def test_bad_camt_files_are_refused_with_a_clear_message(content, message):
    with pytest.raises(StatementParseError) as raised:
        camt.parse(content)

    assert message in str(raised.value)


def test_stream_gives_line_batches_before_each_statement():
    content = camt_file(
        [
            camt_statement([camt_entry(f"{n}.00") for n in range(1, 6)], statement_id="S1"),
            camt_statement([camt_entry("9.00")], statement_id="S2"),
        ]
    )

    events = list(camt.stream(content, batch_size=2))

    assert [(kind, len(item) if kind == camt.LINES else item.statement_id) for kind, item in events] == [
        ("lines", 2),
        ("lines", 2),
        ("lines", 1),
        ("statement", "S1"),
        ("lines", 1),
        ("statement", "S2"),
    ]
    # the statement still carries all its lines, in order
    assert [line.amount for line in events[3][1].lines] == [D(f"{n}.00") for n in range(1, 6)]


def test_an_entry_of_millions_of_elements_is_refused_before_it_takes_the_memory():
    # given one entry padded with more empty elements than any statement needs
    padding = "<X/>" * (camt.MAX_HELD_ELEMENTS + 1)
    content = camt_file([camt_statement([camt_entry("1.00").replace("</Ntry>", padding + "</Ntry>")])])

    with pytest.raises(StatementParseError, match="more than 1,000,000 elements"):
        camt.parse(content)


def test_a_batch_entry_of_thousands_of_details_is_still_read():
    details = [("1.00", "CRDT", f"E-{n}") for n in range(5000)]

    [statement] = camt.parse(camt_file([camt_statement([camt_entry("5000.00", details=details)])]))

    assert len(statement.lines) == 5000
