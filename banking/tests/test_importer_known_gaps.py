"""Three gaps found in the statement importers, each tested through the import service.

- OFX amounts written without a digit before the decimal mark (``+.50``,
  ``.50``, ``-.50``), which the OFX specification allows;
- BAI2 records of type code 890 ("Contains Non-monetary Information"), which
  carry text and no amount;
- MT942 interim reports: no booked balances, ``:90D:``/``:90C:`` totals of the
  entries, an ``:86:`` for the account owner after the totals.

Real files from the public parser suites in ``samples/`` (see
samples/README.md and samples/LICENSES): jseutter/ofxparse
tests/fixtures/suncorp.ofx (MIT), ministryofjustice/bai2
tests/data/svb_us_example.bai2 (MIT), wolph/mt940 mt940_tests/mBank/mt942.sta
(BSD-3). The MT942 reports are written here, in the layout of SWIFT's MT942.
"""

from decimal import Decimal

import pytest

from banking.models import BankStatement, StatementLine
from banking.statement_import import statement_import
from banking.tests.factories import BankAccountFactory
from banking.tests.statement_files import sample
from cnperp.exceptions import DomainError

D = Decimal
pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def account(**fields):
    defaults = {"id": "ba-gaps", "iban": IBAN, "account_number": "", "currency": "EUR"}
    return BankAccountFactory(**{**defaults, **fields})


def run(bank_account, content, file_name, **kwargs):
    return statement_import(
        bank_account=bank_account, content=content, file_name=file_name, user=None, **kwargs
    )


def counts():
    return BankStatement.objects.count(), StatementLine.objects.count()


def refused(bank_account, content, file_name, **kwargs):
    """Return the error's message for ``content``, checking that nothing was imported."""
    before = counts()

    with pytest.raises(DomainError) as raised:
        run(bank_account, content, file_name, **kwargs)

    assert raised.value.field == "file"
    assert raised.value.code == "unreadable"
    assert counts() == before
    return raised.value.message


def stored_amounts(bank_account):
    return list(
        StatementLine.objects.filter(bank_account=bank_account)
        .order_by("line_number")
        .values_list("amount", flat=True)
    )


# --------------------------------------------------------------------------
# OFX: an amount may start at its decimal mark.
# --------------------------------------------------------------------------

SUNCORP = sample("ofx/suncorp_ofx2_xml.ofx")
SUNCORP_ACCOUNT = {"id": "ba-suncorp", "iban": "", "account_number": "123456789", "currency": "AUD"}


def suncorp_with(amount=None, balance=None):
    content = SUNCORP
    if amount is not None:
        assert b"<TRNAMT>-16.85<" in content
        content = content.replace(b"<TRNAMT>-16.85<", b"<TRNAMT>" + amount.encode() + b"<", 1)
    if balance is not None:
        assert b"<BALAMT>1234.12<" in content
        # The first BALAMT is the ledger balance (the second the available one, not read).
        content = content.replace(b"<BALAMT>1234.12<", b"<BALAMT>" + balance.encode() + b"<", 1)
    return content


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("+.50", "0.50"),
        (".50", "0.50"),
        ("-.50", "-0.50"),
        ("-.5", "-0.50"),
        ("+.05", "0.05"),
        ("-,50", "-0.50"),
        ("+0.50", "0.50"),
    ],
)
def test_ofx_amount_without_a_digit_before_the_decimal_mark_is_read_exactly(written, amount):
    # given the suncorp statement whose one transaction amount is written as the bank may write it
    bank_account = account(**SUNCORP_ACCOUNT)

    # when it is imported through the service
    result = run(bank_account, suncorp_with(amount=written), "suncorp.ofx")

    # then the line holds exactly that amount, a Decimal
    assert result.lines_read == 1
    [stored] = stored_amounts(bank_account)
    assert isinstance(stored, Decimal)
    assert stored == D(amount)
    assert str(stored) == amount


def test_ofx_ledger_balance_without_a_digit_before_the_decimal_mark_is_read():
    bank_account = account(**SUNCORP_ACCOUNT)

    run(bank_account, suncorp_with(balance="-.75"), "suncorp.ofx")

    statement = BankStatement.objects.get(bank_account=bank_account)
    assert statement.closing_balance == D("-0.75")
    assert statement.is_consistent is None  # OFX gives no opening balance


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("+.", "is not a number"),
        (".", "is not a number"),
        ("-.", "is not a number"),
        ("+", "is not a number"),
        ("1.2.3", "is not a number"),
        (".5.", "is not a number"),
        ("..5", "is not a number"),
        ("+-.50", "is not a number"),
        (". 50", "is not a number"),
        (".50-", "is not a number"),
        ("-.505", "has more than 2 decimal places"),
        ("+.001", "has more than 2 decimal places"),
    ],
)
def test_ofx_amounts_that_are_not_numbers_are_still_refused_naming_them(written, problem):
    bank_account = account(**SUNCORP_ACCOUNT)

    text = refused(bank_account, suncorp_with(amount=written), "suncorp.ofx")

    assert f'The amount "{written}" {problem}' in text


def test_ofx_ledger_balance_that_is_not_a_number_is_refused_naming_it():
    bank_account = account(**SUNCORP_ACCOUNT)

    text = refused(bank_account, suncorp_with(balance="+."), "suncorp.ofx")

    assert 'The ledger balance "+." is not a number' in text


# --------------------------------------------------------------------------
# BAI2: type code 890 carries text, not money.
# --------------------------------------------------------------------------

SVB = sample("bai2/svb_us_example.bai2")
SVB_ACCOUNT = {"id": "ba-svb", "iban": "", "account_number": "1234567890", "currency": "USD"}
SVB_FIRST_DETAIL = b"16,142,490196,,172629,/\n88,SOME PAYMENT ACH OFFSET\n"


def svb_with_first_day_records(records, *, control_total_added=0):
    """Return the SVB file with ``records`` (bytes, one per line) after the first day's transaction.

    The trailers are brought up to date, so that only the records themselves are under test.
    """
    added = records.count(b"\n")
    assert SVB_FIRST_DETAIL in SVB
    account_total = 138884258 + control_total_added
    file_total = 282030196 + control_total_added
    return (
        SVB.replace(SVB_FIRST_DETAIL, SVB_FIRST_DETAIL + records, 1)
        .replace(b"49,138884258,7/", f"49,{account_total},{7 + added}/".encode(), 1)
        .replace(b"98,138884258,1,9/", f"98,{account_total},1,{9 + added}/".encode(), 1)
        .replace(b"99,282030196,2,20", f"99,{file_total},2,{20 + added}".encode(), 1)
    )


@pytest.mark.parametrize(
    "records",
    [
        b"16,890,,,,,ACCOUNT ANALYSIS STATEMENT AVAILABLE/\n",
        b"16,890,,Z,,,ACCOUNT ANALYSIS STATEMENT AVAILABLE/\n",
        b"16,890,0,,,,ACCOUNT ANALYSIS/\n",
        b"16,890,,,BANKREF1,,NOTICE OF FEE CHANGE\n88,EFFECTIVE 1 MARCH\n",
    ],
    ids=["empty-amount", "funds-type-z", "zero-amount", "with-continuation"],
)
def test_bai2_non_monetary_record_890_imports_the_file_without_a_money_line(records):
    # given the SVB file with an information-only record (type 890) on the first day
    bank_account = account(**SVB_ACCOUNT)

    # when it is imported
    result = run(bank_account, svb_with_first_day_records(records), "svb.bai2")

    # then both days' transactions are stored, no line is made of the 890 record,
    # and both days still add up
    assert len(result.statements) == 2
    assert result.lines_read == 2
    assert stored_amounts(bank_account) == [D("4901.96"), D("9058.00")]
    assert not StatementLine.objects.filter(bank_account=bank_account, transaction_code="890").exists()
    stored = BankStatement.objects.filter(bank_account=bank_account).order_by("statement_number")
    assert [(s.line_count, s.is_consistent, s.lines_total) for s in stored] == [
        (1, True, D("4901.96")),
        (1, True, D("9058.00")),
    ]


def test_bai2_non_monetary_summary_890_in_the_account_record_is_read():
    # given an 890 among the account's summary items (no amount, no item count)
    content = SVB.replace(b"88,072,000,,,074,000,,,/", b"88,072,000,,,074,000,,,890,,,/", 1)
    bank_account = account(**SVB_ACCOUNT)

    result = run(bank_account, content, "svb.bai2")

    assert result.lines_read == 2
    assert [s.is_consistent for s in BankStatement.objects.filter(bank_account=bank_account)] == [True, True]


def test_bai2_890_record_with_an_amount_is_refused_naming_it():
    # an 890 with money in it: in or out is not said by the type code, so which is unknown
    content = svb_with_first_day_records(b"16,890,12500,,,,WHAT IS THIS/\n", control_total_added=12500)
    bank_account = account(**SVB_ACCOUNT)

    text = refused(bank_account, content, "svb.bai2")

    assert "type 890" in text
    assert "125.00" in text
    assert "non-monetary" in text


def test_bai2_890_record_still_counts_in_the_record_counts():
    # the 890 record was added but the trailers were not brought up to date: a count is off
    content = SVB.replace(SVB_FIRST_DETAIL, SVB_FIRST_DETAIL + b"16,890,,,,,NOTICE/\n", 1)
    bank_account = account(**SVB_ACCOUNT)

    text = refused(bank_account, content, "svb.bai2")

    assert "account 1234567890 record count (49) says 7, the records add up to 8" in text


def test_bai2_credit_without_an_amount_is_still_refused():
    content = svb_with_first_day_records(b"16,142,,,,,NO AMOUNT/\n")
    bank_account = account(**SVB_ACCOUNT)

    text = refused(bank_account, content, "svb.bai2")

    assert "A 16 record (type 142) has no amount" in text


# --------------------------------------------------------------------------
# MT942: an interim report, without booked balances.
# --------------------------------------------------------------------------


def mt942(
    *,
    reference="INTRADAY1230",
    statement="00042/001",
    floor=(":34F:EURD0,", ":34F:EURC0,"),
    lines=None,
    debits=":90D:2EUR94,10",
    credits=":90C:1EUR250,00",
    information=":86:Interim report, not a statement",
):
    """Return an MT942 as SWIFT lays it out: 20, 21, 25, 28C, 34F, 13D, (61, 86)*, 90D, 90C, 86."""
    if lines is None:
        lines = [
            (":61:2510151015C250,00NTRFREF-4711//B1", ":86:Invoice 4711 ACME GMBH"),
            (":61:2510151015D84,10NDDTNONREF//B2", ":86:Stadtwerke Strom Oktober"),
            (":61:2510151015RC10,00NTRFNONREF//B3", ":86:Storno Gutschrift"),
        ]
    body = [f":20:{reference}", ":21:NONREF", f":25:{IBAN}", f":28C:{statement}", *floor]
    body.append(":13D:2510151230+0200")
    for statement_line, details in lines:
        body += [statement_line, details]
    body += [field for field in (debits, credits, information) if field]
    return ("\r\n".join(body) + "\r\n-\r\n").encode()


def test_mt942_interim_report_imports_its_lines_and_says_its_balances_cannot_be_checked():
    # given an interim report: floor limits, a date and time, three entries (one a reversal
    # of a credit), the totals of debits and credits, and a note to the account owner
    bank_account = account()

    # when it is imported
    result = run(bank_account, mt942(), "intraday.sta")

    # then its three lines are stored with their signs
    [outcome] = result.statements
    assert outcome.lines_read == 3
    assert stored_amounts(bank_account) == [D("250.00"), D("-84.10"), D("-10.00")]
    # and the statement says its balances were not given, neither consistent nor not
    statement = BankStatement.objects.get(bank_account=bank_account)
    assert statement.format == "mt942"
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    assert statement.is_consistent is None
    assert statement.balance_difference is None
    assert statement.lines_total == D("155.90")
    assert result.inconsistent_statements == []
    assert (str(statement.from_date), str(statement.to_date)) == ("2025-10-15", "2025-10-15")
    # and the note after the totals belongs to no line: the last line keeps its own details only
    narratives = list(
        StatementLine.objects.filter(bank_account=bank_account)
        .order_by("line_number")
        .values_list("narrative", flat=True)
    )
    assert narratives == ["Invoice 4711 ACME GMBH", "Stadtwerke Strom Oktober", "Storno Gutschrift"]


def test_mt942_without_totals_or_the_second_floor_limit_imports():
    # :90D:/:90C: and the second :34F: are optional
    content = mt942(floor=(":34F:EUR0,",), debits="", credits="", information="")
    bank_account = account()

    result = run(bank_account, content, "intraday.sta")

    assert result.lines_read == 3
    assert BankStatement.objects.get(bank_account=bank_account).is_consistent is None


def test_mt942_with_totals_but_without_floor_limit_or_date_is_read_as_a_report():
    # some banks leave out :34F: and :13D:; the totals and the missing :60F: still say "report"
    content = mt942(floor=()).replace(b":13D:2510151230+0200\r\n", b"")
    bank_account = account()

    result = run(bank_account, content, "intraday.sta")

    assert result.lines_read == 3
    statement = BankStatement.objects.get(bank_account=bank_account)
    assert (statement.format, statement.is_consistent) == ("mt942", None)


def test_mt940_without_its_closing_balance_is_still_refused_as_truncated():
    # an opening balance makes it a statement, whatever else it holds
    content = mt942(floor=()).replace(b":13D:2510151230+0200", b":60F:C251014EUR1000,00")
    bank_account = account()

    text = refused(bank_account, content, "statement.sta")

    assert "lacks its opening (:60F:) or closing (:62F:) balance" in text


def test_mt942_without_entries_imports_an_empty_report_in_its_currency():
    content = mt942(lines=[], debits=":90D:0EUR0,", credits=":90C:0EUR0,", information="")
    bank_account = account()

    result = run(bank_account, content, "intraday.sta")

    [outcome] = result.statements
    assert outcome.lines_read == 0
    statement = BankStatement.objects.get(bank_account=bank_account)
    assert (statement.currency, statement.line_count, statement.is_consistent) == ("EUR", 0, None)
    assert str(statement.from_date) == "2025-10-15"


def test_mt942_without_entries_in_another_currency_is_refused():
    # the report's currency is in its floor limit and totals even when it has no entry
    content = mt942(
        floor=(":34F:USD0,",), lines=[], debits=":90D:0USD0,", credits=":90C:0USD0,", information=""
    )
    bank_account = account()
    before = counts()

    with pytest.raises(DomainError) as raised:
        run(bank_account, content, "intraday.sta")

    assert raised.value.field == "currency"
    assert "USD" in raised.value.message
    assert counts() == before


def test_mt942_in_two_pages_keeps_an_identical_entry_on_each_page_and_a_second_import_adds_nothing():
    # a report sent in two messages (:28C: 00042/001 and /002, same :20:), each with a card payment
    # of 5.00 without any reference: two payments, one per page, as for MT940 pages
    payment = [(":61:2510151015D5,00NCHGNONREF", ":86:Card payment Cafe")]
    page = {"lines": payment, "debits": ":90D:1EUR5,00", "credits": "", "information": ""}
    content = mt942(**page) + mt942(statement="00042/002", **page)
    bank_account = account()

    first = run(bank_account, content, "intraday.sta")
    again = run(bank_account, content, "intraday.sta")

    assert (first.lines_read, first.new_lines) == (2, 2)
    assert stored_amounts(bank_account) == [D("-5.00"), D("-5.00")]
    assert [s.is_consistent for s in BankStatement.objects.filter(bank_account=bank_account)] == [None, None]
    assert (again.new_lines, again.duplicate_lines) == (0, 2)


def test_mbank_mt942_sample_totals_agree_and_it_imports():
    bank_account = account(id="ba-mbank", iban="PL29114010810000267002001002", currency="PLN")

    result = run(bank_account, sample("mt940/mbank_mt942.sta"), "mt942.sta")

    assert result.lines_read == 3
    assert BankStatement.objects.get(bank_account=bank_account).is_consistent is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"credits": ":90C:1EUR260,00"},
            "The :90C: says 1 credit entries totalling 260.00; the :61: lines hold 1 totalling 250.00",
        ),
        (
            {"debits": ":90D:3EUR94,10"},
            "The :90D: says 3 debit entries totalling 94.10; the :61: lines hold 2 totalling 94.10",
        ),
        (
            # a reversal of a credit is a debit entry (SWIFT's RC), not a credit
            {"debits": ":90D:1EUR84,10", "credits": ":90C:2EUR260,00"},
            "The :90D: says 1 debit entries totalling 84.10; the :61: lines hold 2 totalling 94.10",
        ),
        (
            {"credits": ":90C:1USD250,00"},
            "The :90C: is in USD, the :61: lines in EUR",
        ),
        (
            {"credits": ":90C:1EUR250,005"},
            "has more than 2 decimal places",
        ),
    ],
    ids=["credit-sum", "debit-count", "reversal-counted-as-credit", "currency", "too-many-decimals"],
)
def test_mt942_totals_that_disagree_with_its_lines_are_refused_naming_the_field(change, message):
    bank_account = account()

    text = refused(bank_account, mt942(**change), "intraday.sta")

    assert message in text


def test_mt942_with_a_line_cut_off_is_refused_by_its_totals():
    # a transfer that lost the last entry: the totals still count it
    lines = [
        (":61:2510151015C250,00NTRFREF-4711//B1", ":86:Invoice 4711 ACME GMBH"),
        (":61:2510151015D84,10NDDTNONREF//B2", ":86:Stadtwerke Strom Oktober"),
    ]
    bank_account = account()

    text = refused(bank_account, mt942(lines=lines), "intraday.sta")

    assert "The :90D: says 2 debit entries totalling 94.10; the :61: lines hold 1 totalling 84.10" in text
