"""The import service: all or nothing, repeatable, checked against the account.

Real files from the public parser suites in ``samples/`` (see
samples/README.md and samples/LICENSES for each source and licence).
"""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.test import override_settings

from banking.models import BankStatement, StatementLine
from banking.statement_import import statement_import
from banking.tests.factories import BankAccountFactory, StatementCsvProfileFactory
from banking.tests.statement_files import camt_entry, camt_file, camt_statement, mt940_file, sample
from cnperp.exceptions import DomainError

D = Decimal
pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def account(**fields):
    defaults = {"id": "ba-import", "iban": IBAN, "account_number": "", "currency": "EUR"}
    return BankAccountFactory(**{**defaults, **fields})


def counts():
    return BankStatement.objects.count(), StatementLine.objects.count()


def run(bank_account, content, file_name="statement.xml", **kwargs):
    return statement_import(
        bank_account=bank_account, content=content, file_name=file_name, user=None, **kwargs
    )


# (sample, account fields, statements, lines, opening of the first, closing of the last, consistency)
SAMPLE_CASES = [
    (
        "camt/camt053_six_v4.xml",
        {"iban": "CH0309000000250090342", "currency": "CHF"},
        1,
        32,
        "322152.16",
        "322689.77",
        [True],
    ),
    ("camt/camt053_abn_amro.xml", {"iban": "NL77ABNA0574908765"}, 1, 29, "1000.01", "100.01", [True]),
    ("camt/camt053_ing.xml", {"iban": "NL08INGB0000001234"}, 1, 9, "1000.00", "1605.00", [True]),
    (
        "camt/camt053_v8.xml",
        {"iban": "CH1111111111111111111", "currency": "CHF"},
        1,
        3,
        "82721.95",
        "84515.25",
        [False],
    ),
    ("camt/camt053_with_batch.xml", {"iban": "NL18INGB00012345678"}, 1, 3, "7329.80", "23038.20", [False]),
    (
        "camt/camt053_goldman_us_inconsistent.xml",
        {"iban": "", "account_number": "DD01100056869", "currency": "USD"},
        1,
        15,
        "-843686.20",
        "-846665.15",
        [False],
    ),
    ("camt/camt052_example.xml", {"iban": "DE58740618130100033626"}, 1, 2, "8.50", "13.50", [True]),
    (
        "camt/camt054_example.xml",
        {"iban": "CH0309000000250090342", "currency": "CHF"},
        1,
        5,
        None,
        None,
        [None],
    ),
    (
        "mt940/mbank_mt942.sta",
        {"iban": "PL29114010810000267002001002", "currency": "PLN"},
        1,
        3,
        None,
        None,
        [None],
    ),
    (
        "ofx/checking_ofx102_sgml.ofx",
        {"iban": "", "account_number": "1452687~7", "currency": "USD"},
        1,
        3,
        None,
        "100.99",
        [None],
    ),
    (
        "ofx/suncorp_ofx2_xml.ofx",
        {"iban": "", "account_number": "123456789", "currency": "AUD"},
        1,
        1,
        None,
        "1234.12",
        [None],
    ),
    (
        "bai2/svb_us_example.bai2",
        {"iban": "", "account_number": "1234567890", "currency": "USD"},
        2,
        2,
        "347269.79",
        "361229.75",
        [True, True],
    ),
    (
        "bai2/nwb_example.bai2",
        {"iban": "", "account_number": "88888888 600004", "currency": "GBP"},
        1,
        5,
        "365.21",
        "338.45",
        [True],
    ),
]


# The format each sample is stored under: the message itself, not only its family.
SAMPLE_FORMATS = {
    "camt/camt053_six_v4.xml": "camt053",
    "camt/camt053_abn_amro.xml": "camt053",
    "camt/camt053_ing.xml": "camt053",
    "camt/camt053_v8.xml": "camt053",
    "camt/camt053_with_batch.xml": "camt053",
    "camt/camt053_goldman_us_inconsistent.xml": "camt053",
    "camt/camt052_example.xml": "camt052",
    "camt/camt054_example.xml": "camt054",
    "mt940/mbank_mt942.sta": "mt942",
    "ofx/checking_ofx102_sgml.ofx": "ofx",
    "ofx/suncorp_ofx2_xml.ofx": "ofx",
    "bai2/svb_us_example.bai2": "bai2",
    "bai2/nwb_example.bai2": "bai2",
}


@pytest.mark.parametrize(
    ("name", "fields", "statements", "lines", "opening", "closing", "consistent"),
    SAMPLE_CASES,
    ids=[case[0] for case in SAMPLE_CASES],
)
def test_every_sample_imports_with_its_lines_balances_and_flag(
    name, fields, statements, lines, opening, closing, consistent
):
    # given a bank account matching the file
    bank_account = account(**fields)

    # when the file is imported with the format detected
    result = run(bank_account, sample(name), file_name=name.split("/")[-1])

    # then every line is stored with the statement's balances and consistency flag
    assert len(result.statements) == statements
    assert result.lines_read == lines
    assert result.new_lines == lines
    assert StatementLine.objects.filter(bank_account=bank_account).count() == lines
    stored = list(BankStatement.objects.filter(bank_account=bank_account).order_by("statement_number"))
    assert [s.is_consistent for s in stored] == consistent
    assert stored[0].opening_balance == (D(opening) if opening else None)
    assert stored[-1].closing_balance == (D(closing) if closing else None)
    assert sum(s.line_count for s in stored) == lines
    assert [s.format for s in stored] == [SAMPLE_FORMATS[name]] * statements


def test_inconsistent_statement_is_stored_with_its_difference():
    bank_account = account(iban="CH1111111111111111111", currency="CHF")

    result = run(bank_account, sample("camt/camt053_v8.xml"))

    statement = result.statements[0].statement
    statement.refresh_from_db()
    assert statement.is_consistent is False
    assert statement.balance_difference == statement.closing_balance - (
        statement.opening_balance + statement.lines_total
    )
    assert result.inconsistent_statements == [statement.statement_number]


def test_multi_account_mt940_imports_only_this_accounts_statements():
    # given cmxl's file with three statements for three accounts
    bank_account = account(iban="", account_number="76198810", currency="DEM")

    result = run(bank_account, sample("mt940/cmxl_mt940.sta"))

    assert result.lines_read == 11
    assert StatementLine.objects.count() == 11
    assert [s["account_identifier"] for s in result.skipped_statements] == [
        "10020030/1234567",
        "BPHKPLPK/320000546101",
    ]
    assert _statement_audit_actions() == [LogEntry.Action.CREATE]


def test_betterplace_account_with_three_statements_all_consistent():
    bank_account = account(iban="", account_number="0194785000888", currency="EUR")

    result = run(bank_account, sample("mt940/betterplace_sepa_mt9401.sta"))

    assert len(result.statements) == 3
    assert all(o.statement.is_consistent for o in result.statements)
    assert result.lines_read == sum(o.statement.line_count for o in result.statements)


def test_same_file_twice_adds_nothing():
    bank_account = account(iban="CH0309000000250090342", currency="CHF")
    content = sample("camt/camt053_six_v4.xml")
    run(bank_account, content)
    before = counts()

    again = run(bank_account, content)

    assert counts() == before
    assert again.new_lines == 0
    assert again.duplicate_lines == 32
    assert again.created is False
    assert again.statements[0].already_imported is True


def test_overlapping_statements_store_each_line_once():
    # given an intraday report and then the day's statement repeating its lines
    bank_account = account()
    shared = [camt_entry("10.00", reference="A1"), camt_entry("20.00", sign="DBIT", end_to_end="E-2")]
    intraday = camt_file(
        [camt_statement(shared, statement_id="RPT-1", container="Rpt")],
        kind="052",
        message="BkToCstmrAcctRpt",
    )
    day = camt_file([camt_statement([*shared, camt_entry("5.00", text="late")], statement_id="STMT-1")])
    run(bank_account, intraday)

    result = run(bank_account, day)

    assert result.new_lines == 1
    assert result.duplicate_lines == 2
    assert StatementLine.objects.filter(bank_account=bank_account).count() == 3
    statement = BankStatement.objects.get(statement_number="STMT-1")
    assert (statement.line_count, statement.new_line_count, statement.duplicate_line_count) == (3, 1, 2)


def test_two_identical_lines_in_one_file_both_survive_and_dedupe_later():
    # given two genuinely identical card payments without any reference
    bank_account = account()
    twins = [
        camt_entry("5.00", sign="DBIT", name="Coffee Shop", text="Card"),
        camt_entry("5.00", sign="DBIT", name="Coffee Shop", text="Card"),
    ]
    first = camt_file([camt_statement(twins, statement_id="S-1")])
    overlapping = camt_file([camt_statement([*twins, camt_entry("1.00")], statement_id="S-2")])

    run(bank_account, first)
    assert StatementLine.objects.filter(bank_account=bank_account, amount=D("-5.00")).count() == 2

    result = run(bank_account, overlapping)

    assert result.new_lines == 1
    assert StatementLine.objects.filter(bank_account=bank_account, amount=D("-5.00")).count() == 2


def test_same_lines_on_another_account_are_not_duplicates():
    content = camt_file([camt_statement([camt_entry("10.00", reference="A1")])])
    run(account(), content)

    result = run(account(id="ba-other", iban="", account_number="0532013000"), content)

    assert result.new_lines == 1


def test_lines_keep_references_and_signs():
    bank_account = account()
    content = mt940_file(
        [("2510021002D12,50NCHGNONREF//BANK-1", "?00Gebuehr?20EREF+E2E-9?32ACME GmbH")],
        account=IBAN,
        closing="C251002EUR987,50",
    )

    run(bank_account, content, file_name="x.sta")

    line = StatementLine.objects.get()
    assert (line.amount, line.bank_reference, line.end_to_end_id) == (D("-12.50"), "BANK-1", "E2E-9")
    assert line.counterparty_name == "ACME GmbH"
    assert line.currency == "EUR"
    assert line.statement.is_consistent is True


CSV_CONTENT = b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n2025-10-02,-25.50,Fee\n"


def test_csv_needs_and_uses_a_profile():
    bank_account = account()
    profile = StatementCsvProfileFactory(name="Plain")

    result = run(bank_account, CSV_CONTENT, file_name="oct.csv", format="csv", profile=profile)

    assert result.format == "csv"
    assert result.new_lines == 2
    assert BankStatement.objects.get().statement_number == "oct.csv"


def bad_files():
    good = camt_file([camt_statement([camt_entry("1.00", reference="OK")])])
    return {
        "empty": (b"", "file", "empty"),
        "truncated": (good[:-40], "file", "truncated"),
        "xxe": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>',
            "file",
            "DTD",
        ),
        "billion-laughs": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<Document>&b;</Document>",
            "file",
            "DTD",
        ),
        "unknown-namespace": (good.replace(b"camt.053.001.08", b"pain.001.001.03"), "file", "Unknown XML"),
        "not-utf8": (good.replace(b"<Id>STMT-1</Id>", b"<Id>STMT-\xe9</Id>"), "file", "UTF-8"),
        "too-many-decimals": (good.replace(b">1.00<", b">1.001<"), "file", "decimal places"),
        "absurd-amount": (good.replace(b">1.00<", b">99999999999999999999.00<"), "file", "too large"),
        "garbage": (b"\x00\x01\x02 not a statement", "file", "not recognised"),
    }


@pytest.mark.parametrize("case", list(bad_files()))
def test_bad_files_are_refused_clearly_and_import_nothing(case):
    content, field, message = bad_files()[case]
    bank_account = account()
    run(bank_account, camt_file([camt_statement([camt_entry("3.00", reference="KEEP")], statement_id="OLD")]))
    before = counts()

    with pytest.raises(DomainError) as raised:
        run(bank_account, content)

    assert raised.value.field == field
    assert message in raised.value.message
    assert counts() == before


def test_a_bad_statement_later_in_the_file_rolls_back_the_earlier_ones():
    # given a file whose second statement has an unreadable amount
    bank_account = account()
    content = camt_file(
        [
            camt_statement([camt_entry("1.00", reference="A")], statement_id="S-1"),
            camt_statement([camt_entry("2.00", reference="B", date="2025-13-01")], statement_id="S-2"),
        ]
    )

    with pytest.raises(DomainError, match="booking date"):
        run(bank_account, content)

    assert counts() == (0, 0)


def test_totals_beyond_what_an_amount_holds_are_refused():
    # given lines each within range whose sum is not
    big = "9999999999999999.00"
    content = camt_file([camt_statement([camt_entry(big, reference="A"), camt_entry(big, reference="B")])])

    with pytest.raises(DomainError, match="lines total"):
        run(account(), content)

    assert counts() == (0, 0)


def test_quotes_backslashes_percent_signs_and_accents_are_stored_as_the_bank_wrote_them():
    # Given text that must be escaped on its way into the database (XML-escaped in the file)
    name = 'O\'Brien \\ Søn "Ltd"'
    text = "50% off; DROP TABLE x; -- 'quoted' \\n émoji ☕ %s"
    entry = camt_entry("12.34", name=name.replace('"', "&quot;"), text=text, reference="REF'1\\")

    # When it is imported
    run(account(), camt_file([camt_statement([entry], closing="1012.34")]))

    # Then every character reads back as it was, and nothing else was written
    line = StatementLine.objects.get()
    assert (line.counterparty_name, line.narrative, line.bank_reference) == (name, text, "REF'1\\")
    assert (line.amount, line.line_number, line.is_reversal) == (D("12.34"), 1, False)
    assert line.statement.is_consistent is True


def test_a_very_long_narrative_is_cut_to_fit():
    content = camt_file([camt_statement([camt_entry("1.00", text="x" * 70000)])])

    run(account(), content)

    assert len(StatementLine.objects.get().narrative) == 8000


@override_settings(BANKING_STATEMENT_MAX_BYTES=100)
def test_file_over_the_size_limit_is_refused():
    with pytest.raises(DomainError) as raised:
        run(account(), camt_file([camt_statement([camt_entry("1.00")])]))

    assert raised.value.field == "file"
    assert "BANKING_STATEMENT_MAX_BYTES" in raised.value.message
    assert counts() == (0, 0)


def test_file_for_another_account_is_refused_naming_account():
    with pytest.raises(DomainError) as raised:
        run(account(iban="GB29NWBK60161331926819"), camt_file([camt_statement([camt_entry("1.00")])]))

    assert raised.value.field == "account"
    assert IBAN in raised.value.message
    assert counts() == (0, 0)


def test_statement_in_another_currency_is_refused():
    with pytest.raises(DomainError) as raised:
        run(account(currency="USD"), camt_file([camt_statement([camt_entry("1.00")])]))

    assert raised.value.field == "currency"


def test_csv_format_without_profile_is_refused_naming_profile():
    with pytest.raises(DomainError) as raised:
        run(account(), CSV_CONTENT, format="csv")

    assert raised.value.field == "profile"


def test_unknown_format_is_refused_naming_format():
    with pytest.raises(DomainError) as raised:
        run(account(), CSV_CONTENT, format="qif")

    assert raised.value.field == "format"


def test_a_statement_for_another_account_read_as_a_stream_leaves_nothing_behind():
    # given one camt file whose first statement is another account's: its lines
    # are written as they stream in, before its header says whose it is
    bank_account = account()
    content = camt_file(
        [
            camt_statement(
                [camt_entry("7.00", reference="THEIRS")], statement_id="OTHER-1", iban="NL77ABNA0574908765"
            ),
            camt_statement([camt_entry("3.00", reference="OURS")], statement_id="OURS-1"),
        ]
    )

    result = run(bank_account, content)

    assert result.skipped_statements == [
        {"statement_number": "OTHER-1", "account_identifier": "NL77ABNA0574908765"}
    ]
    assert list(BankStatement.objects.values_list("statement_number", flat=True)) == ["OURS-1"]
    assert list(StatementLine.objects.values_list("bank_reference", flat=True)) == ["OURS"]
    # the other account's statement was never announced, so the trail holds ours alone
    assert _statement_audit_actions() == [LogEntry.Action.CREATE]

    run(bank_account, content)

    assert counts() == (1, 1)
    assert _statement_audit_actions() == [LogEntry.Action.CREATE]


def _statement_audit_actions():
    return list(
        LogEntry.objects.filter(content_type__model="bankstatement")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_a_streamed_statement_is_audited_once_as_created_with_its_final_values():
    bank_account = account()
    content = camt_file([camt_statement([camt_entry("3.00", reference="A")], statement_id="STMT-AUDIT")])

    result = run(bank_account, content)

    statement = result.statements[0].statement
    entries = LogEntry.objects.get_for_object(statement)
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE]
    changes = entries[0].changes_dict
    assert changes["statement_number"][1] == "STMT-AUDIT"
    assert changes["line_count"][1] == "1"
    assert changes["format"][1] == "camt053"
    statement.refresh_from_db()
    assert statement.format == "camt053"


def test_entries_after_the_last_statement_are_refused_and_nothing_is_stored():
    # given a statement of ours followed by more entries than one streamed batch, outside any statement
    bank_account = account()
    stray = [camt_entry(f"{n}.00", reference=f"X{n}") for n in range(1, 2002)]
    content = camt_file([camt_statement([camt_entry("3.00", reference="OURS")]), *stray])

    with pytest.raises(DomainError, match="after its last <Stmt>") as raised:
        run(bank_account, content)

    assert raised.value.field == "file"
    assert counts() == (0, 0)


def test_identical_lines_either_side_of_a_streamed_batch_both_survive_and_dedupe_later():
    # given a statement longer than one streamed batch (2,000 lines) whose two
    # identical card payments fall either side of the cut
    bank_account = account()
    entries = [camt_entry(f"{n}.00", reference=f"R{n}") for n in range(1, 2000)]
    twin = camt_entry("5.00", sign="DBIT", name="Coffee Shop", text="Card")
    content = camt_file([camt_statement([*entries, twin, twin, camt_entry("1.00")], statement_id="BIG-1")])

    first = run(bank_account, content, file_name="big.xml")
    again = run(bank_account, content.replace(b"BIG-1", b"BIG-2"), file_name="big-again.xml")

    assert (first.lines_read, first.new_lines) == (2002, 2002)
    assert StatementLine.objects.filter(bank_account=bank_account, amount=D("-5.00")).count() == 2
    assert (again.new_lines, again.duplicate_lines) == (0, 2002)
    assert StatementLine.objects.filter(bank_account=bank_account).count() == 2002


def test_a_line_already_stored_is_found_among_lines_on_new_days():
    # given a stored line on 15 October and a later file repeating it among lines of new days
    bank_account = account()
    stored = camt_entry("10.00", reference="A1", date="2025-10-15")
    run(bank_account, camt_file([camt_statement([stored], statement_id="S-1")]))
    later = [
        camt_entry("11.00", reference="B1", date="2025-10-16"),
        stored,
        camt_entry("12.00", date="2025-10-17"),
    ]

    result = run(bank_account, camt_file([camt_statement(later, statement_id="S-2")]))

    assert (result.new_lines, result.duplicate_lines) == (2, 1)
    days = StatementLine.objects.filter(bank_account=bank_account).values_list("booking_date", flat=True)
    assert sorted(day.day for day in days) == [15, 16, 17]


def test_a_line_repeated_by_a_later_statement_of_the_same_file_is_stored_once():
    # given one file whose second statement repeats a line of its first
    bank_account = account()
    shared = camt_entry("10.00", reference="A1")
    content = camt_file(
        [
            camt_statement([shared], statement_id="S-1"),
            camt_statement([shared, camt_entry("4.00", reference="B1")], statement_id="S-2"),
        ]
    )

    result = run(bank_account, content)

    assert [(o.new_lines, o.duplicate_lines) for o in result.statements] == [(1, 0), (1, 1)]
    assert StatementLine.objects.filter(bank_account=bank_account).count() == 2


def refused(bank_account, content, **kwargs):
    """Import ``content`` after a good file; return the error's message, checking that nothing changed."""
    # A CSV names no account: it is taken for any, whatever the account identifies itself by.
    keep = b"Date,Amount,Description\n2025-09-30,3.00,Keep\n"
    run(bank_account, keep, file_name="keep.csv", format="csv", profile=StatementCsvProfileFactory())
    before = counts()

    with pytest.raises(DomainError) as raised:
        run(bank_account, content, **kwargs)

    assert raised.value.field == "file"
    assert raised.value.code == "unreadable"
    assert counts() == before
    return raised.value.message


CAMT_OPENING = b'<Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            camt_file([camt_statement([camt_entry("-5.00", sign="CRDT")])]),
            'amount of entry 1 of the statement "-5.00"',
        ),
        (
            camt_file([camt_statement([camt_entry("-5.00", sign="DBIT")])]),
            'amount of entry 1 of the statement "-5.00"',
        ),
        (
            camt_file([camt_statement([camt_entry("1.00")])]).replace(
                CAMT_OPENING, CAMT_OPENING.replace(b">1000.00<", b">-1000.00<")
            ),
            'OPBD balance "-1000.00"',
        ),
        (
            camt_file(
                [
                    camt_statement(
                        [camt_entry("30.00", details=[("-10.00", "CRDT", "E1"), ("40.00", "CRDT", "E2")])]
                    )
                ]
            ),
            'transaction amount in entry 1 of the statement "-10.00"',
        ),
    ],
    ids=["entry-credit", "entry-debit", "balance", "batch-detail"],
)
def test_a_camt_amount_with_a_minus_sign_is_refused_naming_the_entry(content, message):
    # camt amounts are never negative: -5.00 CRDT was stored as money out though the bank says credit
    text = refused(account(), content)

    assert message in text
    assert "camt amounts carry no sign" in text


def _csv(text):
    return text.encode(), {"format": "csv", "profile": StatementCsvProfileFactory()}


def _sample_with(name, old, new):
    content = sample(name)
    assert old.encode() in content
    return content.replace(old.encode(), new.encode(), 1), {}


MT940_CLOSING = "C251002EUR987,50"
OFX_ACCOUNT = {"iban": "", "account_number": "1452687~7", "currency": "USD"}
SUNCORP_ACCOUNT = {"iban": "", "account_number": "123456789", "currency": "AUD"}
SVB_ACCOUNT = {"iban": "", "account_number": "1234567890", "currency": "USD"}
# (account fields, a function returning (content, keyword arguments), what the message names)
NON_ASCII_DIGIT_CASES = {
    "camt-arabic-indic-amount": (
        {},
        lambda: (camt_file([camt_statement([camt_entry("\u0665.\u0660\u0660")])]), {}),
        'amount of entry 1 of the statement "\u0665.\u0660\u0660"',
    ),
    "camt-full-width-balance": (
        {},
        lambda: (camt_file([camt_statement([camt_entry("1.00")], opening="\uff11000.00")]), {}),
        "OPBD balance",
    ),
    # The UTF-8 sample: the other is in code page 1252, which has no such digits.
    "ofx-amount": (
        SUNCORP_ACCOUNT,
        lambda: _sample_with("ofx/suncorp_ofx2_xml.ofx", "<TRNAMT>-16.85", "<TRNAMT>-\uff116.85"),
        'amount "-\uff116.85"',
    ),
    "ofx-date": (
        SUNCORP_ACCOUNT,
        lambda: _sample_with(
            "ofx/suncorp_ofx2_xml.ofx", "<DTPOSTED>20131215", "<DTPOSTED>\u0662\u0660\u0661\u06631215"
        ),
        "OFX date",
    ),
    "csv-amount": (
        {},
        lambda: _csv("Date,Amount,Description\n2025-10-01,\u0661\u0660.00,Deposit\n"),
        "amount",
    ),
    "csv-date": (
        {},
        lambda: _csv("Date,Amount,Description\n\u0662\u06602\u0665-10-01,10.00,Deposit\n"),
        "date",
    ),
    "mt940-amount": (
        {},
        lambda: (
            mt940_file(
                [("2510021002D1\u0662,50NCHGNONREF//BANK-1", "Fee")], account=IBAN, closing=MT940_CLOSING
            ),
            {},
        ),
        ":61: field",
    ),
    "mt940-balance-date": (
        {},
        lambda: (mt940_file([], account=IBAN, opening="C25100\uff11EUR1000,00", closing=MT940_CLOSING), {}),
        ":60F: field",
    ),
    "bai2-amount": (
        SVB_ACCOUNT,
        lambda: _sample_with("bai2/svb_us_example.bai2", "16,142,490196,", "16,142,\u0664\u0669\u0660196,"),
        "16 record's field 2",
    ),
    "bai2-as-of-date": (
        SVB_ACCOUNT,
        lambda: _sample_with("bai2/svb_us_example.bai2", ",1,220201,", ",1,2202\u0660\u0661,"),
        "02 record's field 4",
    ),
}


@pytest.mark.parametrize("case", list(NON_ASCII_DIGIT_CASES))
def test_digits_other_than_0_to_9_are_refused_in_every_format(case):
    # Python reads "٥" and "５" as 5 (Decimal, int, strptime); no bank format writes them
    fields, build, where = NON_ASCII_DIGIT_CASES[case]
    bank_account = account(**fields)
    content, kwargs = build()

    text = refused(bank_account, content, **kwargs)

    assert where in text
    assert "digits 0-9" in text


def _camt_dated(booking="2025-10-15", value="2025-10-15", start="2025-10-01"):
    content = camt_file([camt_statement([camt_entry("1.00"), camt_entry("2.00", date=booking)])])
    content = content.replace(b"<ValDt><Dt>2025-10-15</Dt>", f"<ValDt><Dt>{value}</Dt>".encode())
    return content.replace(b"<FrDtTm>2025-10-01", f"<FrDtTm>{start}".encode())


@pytest.mark.parametrize(
    ("fields", "build", "message"),
    [
        (
            {},
            lambda: (_camt_dated(booking="0001-01-01"), {}),
            "Line 2 of statement 1 of the file (amount 2.00) has the booking date 0001-01-01",
        ),
        (
            {},
            lambda: (_camt_dated(value="9999-12-31"), {}),
            "Line 1 of statement 1 of the file (amount 1.00) has the value date 9999-12-31",
        ),
        (
            {},
            lambda: (_camt_dated(start="1899-12-31"), {}),
            "The start date 1899-12-31 of statement 1 of the file (STMT-1)",
        ),
        (
            {},
            lambda: _csv("Date,Amount,Description\n2025-10-01,1.00,A\n9999-12-31,2.00,B\n"),
            "Line 2 of statement 1 of the file (amount 2.00) has the booking date 9999-12-31",
        ),
        (
            OFX_ACCOUNT,
            lambda: _sample_with("ofx/checking_ofx102_sgml.ofx", "<DTPOSTED>20110405", "<DTPOSTED>00010405"),
            "Line 2 of statement 1 of the file (amount -34.51) has the booking date 0001-04-05",
        ),
    ],
    ids=[
        "camt-booking-year-1",
        "camt-value-year-9999",
        "camt-statement-start-1899",
        "csv-9999",
        "ofx-year-1",
    ],
)
def test_dates_outside_the_years_the_books_hold_are_refused_naming_the_line(fields, build, message):
    bank_account = account(**fields)
    content, kwargs = build()

    text = refused(bank_account, content, **kwargs)

    assert message in text
    assert "outside the years 1900 to 2999" in text


def test_a_date_out_of_the_books_deep_in_a_streamed_camt_statement_is_refused_naming_its_line():
    # given more lines than one streamed batch (2,000), the bad one in the second batch
    entries = [camt_entry("1.00", reference=f"R{n}") for n in range(1, 2501)]
    entries[2299] = camt_entry("1.00", reference="R2300", date="9999-12-31")

    text = refused(account(), camt_file([camt_statement(entries)]))

    assert "Line 2300 of statement 1 of the file" in text
    assert "9999-12-31" in text


def test_the_first_and_last_days_the_books_hold_are_imported():
    entries = [camt_entry("1.00", date="1900-01-01"), camt_entry("2.00", date="2999-12-31")]

    result = run(account(), camt_file([camt_statement(entries)]))

    assert result.new_lines == 2
    days = sorted(StatementLine.objects.values_list("booking_date", flat=True))
    assert [str(day) for day in days] == ["1900-01-01", "2999-12-31"]
