"""Hostile input, table-driven per endpoint: each bad value gets a 4xx naming its field and changes nothing.

For every write endpoint (and the reports' queries) a table of bad values per
field: wrong types, negative, zero, huge and over-precise amounts, impossible
dates and periods, unknown ids, SQL-looking strings, unicode, NUL characters,
oversized values and unknown fields. Given a month of data, when each is sent
(the rest of the body valid), then the answer is a 4xx whose body names the
field, and the financial tables hold exactly what they held before (row counts
and a checksum of every row).
"""

import datetime
import hashlib
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    ReconciliationMatch,
    StatementLine,
)
from banking.tests.factories import (
    BankStatementFactory,
    BankTransactionFactory,
    FloatAllocationFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from dimensions.models import Branch, CostCenter, Department, Project

pytestmark = pytest.mark.django_db

FINANCIAL_TABLES = (
    BankAccount,
    BankTransaction,
    CashSubmission,
    FloatAllocation,
    BankTransfer,
    BankTransferAllocation,
    BankStatement,
    StatementLine,
    ReconciliationMatch,
    BankReconciliation,
    JournalPosting,
    JournalEntry,
    DimensionAssignment,
    AccountingPeriod,
    GLAccount,
    CostCenter,
    Project,
    Department,
    Branch,
)

SQL = "x'; DROP TABLE bank_transactions; --"
OR_TRUE = "' OR '1'='1"
HUGE = "9" * 30 + ".00"
OVERSIZED = "x" * 100_000  # a 100 kB value

MONEY = [
    "abc",
    "-5.00",
    "0",
    "0.00",
    HUGE,
    "1.001",
    "12.345678",
    "NaN",
    "Infinity",
    "-Infinity",
    True,
    [],
    {"amount": "1.00"},
    None,
    SQL,
]
MONEY_OR_ZERO = [value for value in MONEY if value not in ("0", "0.00")]
DATE = [
    "2025-13-01",
    "2025-02-30",
    "yesterday",
    "31/10/2025",
    20251031,
    "",
    None,
    [],
    SQL,
    "2025-10-01T00:00:00",
]
PERIOD = ["2025-13", "2025-1", "2025-00", "October", "2025-10-01", "", 202510, None, OR_TRUE, "２０２５-１０"]
REFERENCE = ["nope-404", OR_TRUE, SQL, 42, ["ba-op"], {"id": "ba-op"}, "ba-op\x00", "ü" * 70, OVERSIZED]
OPTIONAL_REFERENCE = [value for value in REFERENCE if value is not None]
KEY = ["has space", "a" * 65, "ünïcödé", SQL, OR_TRUE, "", "../etc/passwd", "nul\x00", ["bt-1"]]
# JSON can spell a lone UTF-16 surrogate ("\ud800"), which no UTF-8 text (database, answer) can hold.
SURROGATE = "lone \ud800 surrogate"
TEXT = [OVERSIZED, "nul\x00char", SURROGATE, ["a"], {"a": 1}, True]
IDS = [[], "sl-100", [42], [OR_TRUE], ["nope-404"], [None], [OVERSIZED], None]


def table(**fields):
    """Flatten ``field=[bad values]`` into ``(field, value)`` rows, plus an unknown field."""
    rows = [(field, value) for field, values in fields.items() for value in values]
    # Unknown fields, one of them named with a lone UTF-16 surrogate that an error could echo.
    return [*rows, ("cost_centre_id", "cc-hq"), (SQL, "1"), (SURROGATE, "1")]


DRAFT = {
    "bank_account_id": "ba-op",
    "transaction_type": "deposit",
    "direction": "in",
    "amount": "12.00",
    "transaction_date": "2025-10-16",
}
SUBMISSION = {
    "branch_id": "test-branch",
    "bank_account_id": "ba-op",
    "submission_date": "2025-10-14",
    "expected_amount": "2500.00",
}
ALLOCATION = {
    "branch_id": "test-branch",
    "bank_account_id": "ba-op",
    "allocation_date": "2025-10-01",
    "amount": "500.00",
}
TRANSFER = {
    "from_bank_account_id": "ba-op",
    "to_bank_account_id": "ba-sav",
    "amount": "1000.00",
    "initiated_date": "2025-10-10",
}
MONTH = {"bank_account_id": "ba-op", "period": "2025-10"}
BANKING = "/api/v1/banking"

# endpoint -> (method, url, valid body, rows of (field, bad value))
ENDPOINTS = {
    "record a transaction": (
        "post",
        f"{BANKING}/transactions",
        DRAFT,
        table(
            amount=MONEY,
            transaction_date=DATE,
            value_date=[value for value in DATE if value is not None and value != ""],
            bank_account_id=[*REFERENCE, None],
            cost_center_id=OPTIONAL_REFERENCE,
            transaction_type=["nonsense", OR_TRUE, 3, None, "Deposit", SURROGATE],
            direction=["sideways", None, 1],
            id=KEY,
            description=TEXT,
            reference=TEXT,
            posting_status=["posted", "reversed", 5],
        ),
    ),
    "change a draft": (
        "patch",
        f"{BANKING}/transactions/bt-draft",
        {},
        table(amount=MONEY, transaction_date=DATE, project_id=OPTIONAL_REFERENCE, description=TEXT),
    ),
    "record a cash submission": (
        "post",
        f"{BANKING}/cash-submissions",
        SUBMISSION,
        table(
            expected_amount=MONEY,
            deposited_amount=[value for value in MONEY_OR_ZERO if value is not None],
            submission_date=DATE,
            branch_id=REFERENCE,
            department_id=OPTIONAL_REFERENCE,
            reference=TEXT,
        ),
    ),
    "record a float": (
        "post",
        f"{BANKING}/float-allocations",
        ALLOCATION,
        table(amount=MONEY, allocation_date=DATE, branch_id=REFERENCE, purpose=TEXT),
    ),
    "start a transfer": (
        "post",
        f"{BANKING}/transfers",
        TRANSFER,
        table(
            amount=MONEY,
            initiated_date=DATE,
            to_bank_account_id=REFERENCE,
            allocations=[
                "all",
                [{"amount": "-1.00"}],
                [{"amount": HUGE}],
                [OR_TRUE],
                [{"amount": "1.00", "cost_center_id": SURROGATE}],
            ],
        ),
    ),
    "reverse a transaction": (
        "post",
        f"{BANKING}/transactions/bt-posted/reverse",
        {"reversal_date": "2025-10-20", "reason": "Wrong account"},
        table(reversal_date=DATE, reason=TEXT),
    ),
    "post a float's return": (
        "post",
        f"{BANKING}/float-allocations/fa-posted/post-return",
        {"returned_amount": "100.00", "return_date": "2025-10-31"},
        table(returned_amount=[*MONEY_OR_ZERO, "500.01"], return_date=DATE),
    ),
    "run the reconciliation": (
        "post",
        f"{BANKING}/reconciliation/run",
        MONTH,
        table(bank_account_id=REFERENCE, period=PERIOD, match=["perhaps", 2, [], None]),
    ),
    "sign off a reconciliation": (
        "post",
        f"{BANKING}/reconciliation/finalize",
        {**MONTH, "note": "Checked."},
        table(period=PERIOD, note=TEXT, reconciliation_id=["nope-404", OR_TRUE, 7, []]),
    ),
    "match by hand": (
        "post",
        f"{BANKING}/reconciliation/match",
        {"statement_line_ids": ["sl-100"], "transaction_ids": ["bt-posted"]},
        table(statement_line_ids=IDS, transaction_ids=IDS),
    ),
    "add a cost centre": (
        "post",
        "/api/v1/dimensions/cost-centers",
        {"id": "cc-new", "code": "NEW", "name": "New centre"},
        table(
            id=KEY, code=[*TEXT, "HQ"], name=[*TEXT, ""], parent_id=OPTIONAL_REFERENCE, is_active=["maybe", 3]
        ),
    ),
    "add a GL account": (
        "post",
        "/api/v1/accounting/gl-accounts",
        {"id": "gl-new", "code": "7777", "name": "New account", "account_type": "expense"},
        table(id=KEY, code=[*TEXT, "4000"], account_type=["nonsense", OR_TRUE, None]),
    ),
}

REPORT_QUERIES = {
    "cash position": (
        f"{BANKING}/cash-position",
        MONTH,
        table(period=PERIOD[:-1], bank_account_id=REFERENCE[:6]),
    ),
    "variance report": (f"{BANKING}/variance-report", MONTH, table(period=PERIOD[:-1])),
    "dimensional analysis": (
        f"{BANKING}/dimensional-analysis",
        MONTH,
        table(period=PERIOD[:-1], group_by=["branch", "project,project", OR_TRUE, "ü"]),
    ),
    "reconciliation": (
        f"{BANKING}/reconciliation",
        MONTH,
        table(period=PERIOD[:-1], bank_account_id=REFERENCE[:6]),
    ),
    "transaction list": (
        f"{BANKING}/transactions",
        {},
        # A list ignores query parameters it does not know, as DRF does; the ones it knows are checked.
        [
            ("amount_min", "abc"),
            ("amount_min", SQL),
            ("amount_min", "NaN"),
            ("date_from", "2025-13-01"),
            ("date_from", SQL),
            ("posting_status", "nonsense"),
            ("search", "nul\x00"),
        ],
    ),
}


@pytest.fixture
def month():
    """Accounts, rules, a draft and a posted transaction, a posted float, a statement line."""
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-posted", bank_account=ledger["op"], amount=Decimal("100.00"))
    FloatAllocationFactory(id="fa-posted", branch=ledger["branch"], bank_account=ledger["op"])
    from banking import posting

    posting.bank_transaction_post(transaction_id="bt-posted", user=ledger["user"])
    posting.float_allocation_post(allocation_id="fa-posted", user=ledger["user"])
    BankTransactionFactory(id="bt-draft", bank_account=ledger["op"], amount=Decimal("40.00"))
    statement = BankStatementFactory(bank_account=ledger["op"])
    StatementLineFactory(id="sl-100", statement=statement, booking_date=datetime.date(2025, 10, 15))
    return ledger


def fingerprint():
    """Row count and a checksum of every row of every financial table."""
    prints = {}
    for model in FINANCIAL_TABLES:
        rows = list(model.objects.order_by("pk").values_list())
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        prints[model._meta.db_table] = (len(rows), digest)
    return prints


def _names(body, field):
    """Whether an error body names ``field``: as a key, nested, or in its message."""
    if isinstance(body, dict):
        return field in body or any(_names(value, field) for value in body.values())
    if isinstance(body, list):
        return any(_names(value, field) for value in body)
    return isinstance(body, str) and field in body


def _check(response, field, value):
    shown = repr(value)[:60]
    if not 400 <= response.status_code < 500:
        return f"{field}={shown}: answered {response.status_code}"
    body = response.json()
    # A field whose name no UTF-8 text can hold is named as JSON spells it ("\ud800").
    named = field if field.isascii() or SURROGATE not in field else json.dumps(field)[1:-1]
    if not _names(body, named):
        return f"{field}={shown}: {response.status_code} does not name the field: {json.dumps(body)[:200]}"
    return None


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_each_bad_value_is_refused_naming_its_field_and_changes_nothing(month, admin_api, endpoint):
    method, url, valid, rows = ENDPOINTS[endpoint]
    before = fingerprint()
    problems = []
    for field, value in rows:
        # When the body is valid but for this one field
        # Sent as ASCII JSON, as many clients do: "\ud800" arrives as an escape, which the
        # test client's own (UTF-8) encoder could not even write.
        body = json.dumps({**valid, field: value})
        response = admin_api.generic(method.upper(), url, body, content_type="application/json")
        # Then a 4xx names it, and nothing changed
        problem = _check(response, field, value)
        after = fingerprint()
        if problem is None and after != before:
            problem = f"{field}={repr(value)[:60]}: changed the database"
        if problem:
            problems.append(problem)
        before = after
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("report", list(REPORT_QUERIES))
def test_each_bad_query_is_refused_naming_its_parameter(month, admin_api, report):
    url, valid, rows = REPORT_QUERIES[report]
    problems = []
    for field, value in rows:
        if isinstance(value, (list, dict)) or value is None or SURROGATE in (field, value):
            continue  # a query string carries UTF-8 text only
        response = admin_api.get(url, {**valid, field: value})
        problem = _check(response, field, value)
        if problem:
            problems.append(problem)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_a_body_that_is_not_json_is_a_400(month, admin_api):
    before = fingerprint()
    for raw in ("{not json", "[]", '"a string"', "null", "1e999999", '{"amount": 1e999999}'):
        response = admin_api.generic("POST", f"{BANKING}/transactions", raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.content[:200])
        assert isinstance(response.json(), dict)
    assert fingerprint() == before


def test_an_oversized_body_is_refused_and_changes_nothing(month, admin_api):
    before = fingerprint()
    # Ten thousand allocations on one transfer: a 1 MB body.
    body = {**TRANSFER, "allocations": [{"amount": "0.10", "cost_center_id": "cc-hq"}] * 10_000}
    response = admin_api.post(f"{BANKING}/transfers", body, format="json")
    assert 400 <= response.status_code < 500
    assert _names(response.json(), "allocations") or _names(response.json(), "amount")
    assert fingerprint() == before


@override_settings(BANKING_STATEMENT_MAX_BYTES=1024)
def test_a_statement_file_beyond_the_limit_is_refused_naming_the_file(month, admin_api):
    before = fingerprint()
    upload = SimpleUploadedFile("big.xml", b"<x>" + b"a" * 4096 + b"</x>")
    response = admin_api.post(
        f"{BANKING}/statements/import", {"file": upload, "bank_account_id": "ba-op"}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()
    assert fingerprint() == before


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"bank_account_id": OR_TRUE}, "bank_account_id"),
        ({"bank_account_id": "ba-op", "format": SQL}, "format"),
        ({"bank_account_id": "ba-op", "profile": "nope-404"}, "profile"),
        ({"bank_account_id": "ba-op", "file": "not a file"}, "file"),
    ],
)
def test_a_bad_statement_import_form_names_the_field(month, admin_api, fields, named):
    before = fingerprint()
    data = {"file": SimpleUploadedFile("s.xml", b"<Document/>"), **fields}
    response = admin_api.post(f"{BANKING}/statements/import", data, format="multipart")
    assert response.status_code == 400, response.content[:300]
    assert named in response.json()
    assert fingerprint() == before


def test_a_body_nested_thousands_deep_is_a_400_even_before_sign_in(month, admin_api):
    # Thousands of brackets exhausted the recursion of the code reading them: a 500 with a traceback.
    before = fingerprint()
    deep = '{"username": ' + "[" * 3000 + "]" * 3000 + "}"
    anonymous = APIClient().generic("POST", "/api/v1/auth/token", deep, content_type="application/json")
    signed_in = admin_api.generic("POST", f"{BANKING}/transactions", deep, content_type="application/json")
    for response in (anonymous, signed_in):
        assert response.status_code == 400, response.content[:200]
        assert response.json()["code"] == "parse_error"
        assert "nests deeper than 32 levels" in response.json()["detail"]
    assert fingerprint() == before


def test_a_body_nested_as_deep_as_a_request_needs_is_read(month, admin_api):
    # A transfer with its allocations is three levels deep; the limit leaves room for any request.
    response = admin_api.post(f"{BANKING}/transfers", {**TRANSFER, "extra": [[[[1]]]]}, format="json")
    assert response.status_code == 400
    assert "extra" in response.json()  # read, then refused as an unknown field: not a parse error


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096)
def test_a_body_beyond_the_request_limit_is_a_json_413_under_the_api(month, admin_api):
    # Django refuses it before any view, with its HTML "Bad Request" page; the API answers JSON.
    before = fingerprint()
    body = json.dumps({**TRANSFER, "description": "x" * 8000})
    response = admin_api.generic("POST", f"{BANKING}/transfers", body, content_type="application/json")
    assert response.status_code == 413, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
    assert "4,096 bytes" in response.json()["detail"]
    assert fingerprint() == before
