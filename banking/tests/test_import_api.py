"""POST /api/v1/banking/statements/import and the statement reads.

Uses the real camt.053 sample from viafintech/camt_parser (MIT) in
``samples/camt`` (see samples/README.md and samples/LICENSES).
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from banking.demo import CSV_PROFILE, DEMO_STATEMENT_HEADER
from banking.models import BankStatement, StatementCsvProfile, StatementLine
from banking.tests.factories import BankAccountFactory, StatementCsvProfileFactory
from banking.tests.statement_files import camt_entry, camt_file, camt_statement, sample

pytestmark = pytest.mark.django_db

URL = "/api/v1/banking/statements/import"
SIX = "camt/camt053_six_v4.xml"


@pytest.fixture
def six_account():
    return BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")


def upload(client, content, name="statement.xml", **fields):
    data = {"file": SimpleUploadedFile(name, content), "bank_account_id": "ba-six", **fields}
    return client.post(URL, data, format="multipart")


def counts():
    return BankStatement.objects.count(), StatementLine.objects.count()


def test_import_answers_201_with_the_summary(admin_api, six_account):
    response = upload(admin_api, sample(SIX), name="six.xml")

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["format"] == "camt"
    assert (body["lines_read"], body["new_lines"], body["duplicate_lines"]) == (32, 32, 0)
    [statement] = body["statements"]
    assert statement["opening_balance"] == "322152.16"
    assert statement["closing_balance"] == "322689.77"
    assert statement["is_consistent"] is True
    assert statement["balance_difference"] == "0.00"
    assert BankStatement.objects.get().created_by.username == "root-admin"


def test_same_file_again_answers_200_and_adds_nothing(admin_api, six_account):
    upload(admin_api, sample(SIX))
    before = counts()

    response = upload(admin_api, sample(SIX))

    assert response.status_code == 200
    assert (response.json()["new_lines"], response.json()["duplicate_lines"]) == (0, 32)
    assert counts() == before


def _renamed_copies():
    """Files imported twice under two names: a CSV, numbered by its name, and camt with and without ids."""
    two_without_id = camt_file(
        [
            camt_statement([camt_entry("5.00", reference="A")], statement_id=""),
            camt_statement([camt_entry("7.00", reference="B")], statement_id="", opening="1005.00"),
        ]
    )
    return {
        "csv": (b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n", {"profile": "Plain CSV"}, 1),
        "camt-without-ids": (two_without_id, {}, 2),
        "camt-with-ids": (camt_file([camt_statement([camt_entry("5.00", reference="A")])]), {}, 1),
    }


@pytest.mark.parametrize("kind", ["csv", "camt-without-ids", "camt-with-ids"])
def test_the_same_bytes_under_another_name_answer_200_already_imported_and_add_nothing(admin_api, kind):
    # A CSV statement is numbered by its file name, so "oct (1).csv" was stored a second time (201).
    content, fields, statements = _renamed_copies()[kind]
    BankAccountFactory(id="ba-six", iban="DE89370400440532013000", account_number="", currency="EUR")
    StatementCsvProfileFactory(name="Plain CSV")
    first = upload(admin_api, content, name="oct.csv", **fields)
    assert first.status_code == 201, first.content
    before = counts()

    again = upload(admin_api, content, name="oct (1).csv", **fields)

    assert again.status_code == 200, again.content
    body = again.json()
    assert (body["file_name"], body["new_lines"]) == ("oct (1).csv", 0)
    assert body["file_sha256"] == first.json()["file_sha256"]
    assert [statement["already_imported"] for statement in body["statements"]] == [True] * statements
    assert [statement["id"] for statement in body["statements"]] == [
        statement["id"] for statement in first.json()["statements"]
    ]
    assert counts() == before


def test_inconsistent_statement_is_imported_and_shown(admin_api):
    BankAccountFactory(id="ba-six", iban="CH1111111111111111111", account_number="", currency="CHF")

    response = upload(admin_api, sample("camt/camt053_v8.xml"))

    assert response.status_code == 201
    [statement] = response.json()["statements"]
    assert statement["is_consistent"] is False
    assert Decimal(statement["balance_difference"]) != 0


@pytest.mark.parametrize(
    ("fields", "content", "field"),
    [
        ({"bank_account_id": "ba-nope"}, None, "bank_account_id"),
        ({"format": "qif"}, None, "format"),
        ({"format": "csv"}, b"Date,Amount\n2025-10-01,1.00\n", "profile"),
        ({"profile": "no-such-profile"}, None, "profile"),
        ({}, b"", "file"),
        ({}, b"<Document>", "file"),
        ({}, camt_file([camt_statement([camt_entry("1.00")])]), "bank_account_id"),
    ],
    ids=[
        "unknown-account",
        "bad-format",
        "csv-without-profile",
        "unknown-profile",
        "empty",
        "truncated",
        "other-account",
    ],
)
def test_bad_input_answers_400_naming_the_field_and_imports_nothing(
    admin_api, six_account, fields, content, field
):
    response = upload(admin_api, content if content is not None else sample(SIX), **fields)

    assert response.status_code == 400, response.data
    assert field in response.json()
    assert counts() == (0, 0)


def test_missing_file_answers_400_on_file(admin_api, six_account):
    response = admin_api.post(URL, {"bank_account_id": "ba-six"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


@override_settings(BANKING_STATEMENT_MAX_BYTES=1000)
def test_file_over_the_limit_answers_400_on_file(admin_api, six_account):
    response = upload(admin_api, sample(SIX))

    assert response.status_code == 400
    assert "BANKING_STATEMENT_MAX_BYTES" in response.json()["file"][0]


def test_csv_with_profile_by_name(admin_api):
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    StatementCsvProfileFactory(name="Plain CSV")
    content = b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n"

    response = upload(admin_api, content, name="oct.csv", profile="Plain CSV")

    assert response.status_code == 201, response.data
    assert response.json()["new_lines"] == 1


def test_a_profile_saved_before_the_separator_rules_is_refused_naming_it(admin_api):
    # A thousands separator "1" was accepted once and read 12.50 as 2.50; such a
    # row may still be in the table, written before the profile's checks existed.
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    profile = StatementCsvProfileFactory(name="Old CSV")
    type(profile).objects.filter(pk=profile.pk).update(thousands_separator="1")
    content = b"Date,Amount,Description\n2025-10-01,12.50,Deposit\n"

    response = upload(admin_api, content, name="oct.csv", profile="Old CSV")

    assert response.status_code == 400, response.content
    message = response.json()["profile"][0]
    assert 'The CSV profile "Old CSV" cannot read statements as saved' in message
    assert "thousands separator" in message
    assert counts() == (0, 0)


# The demo bank's export: decimal mark ",", thousands separator ".".
FNB_HEADER = ";".join(DEMO_STATEMENT_HEADER)
POINT_DECIMALS = {"decimal_mark": ".", "thousands_separator": ",", "delimiter": ";"}


def _fnb_profile(**change):
    return StatementCsvProfile.objects.create(id="csv-fnb", **{**CSV_PROFILE, **change})


@pytest.mark.parametrize(
    ("change", "amount", "message"),
    [
        # 12.50 was read as 1250.00: the thousands separator was deleted before the decimal mark was read.
        ({}, "12.50", 'The amount "12.50" in column "Amount" has the thousands separator "." between digits'),
        (POINT_DECIMALS, "12,50", 'The amount "12,50" in column "Amount" has the thousands separator ","'),
        ({}, "1.234,5.0", 'The amount "1.234,5.0" in column "Amount" has the thousands separator "." after'),
        ({}, "1234.567,89", "not groups of three"),
        # A currency sign or a CR/DR marker is named as itself, not blamed on the grouping.
        (POINT_DECIMALS, "$1,234.50", 'The amount "$1,234.50" in column "Amount" holds "$", which the'),
        (POINT_DECIMALS, "12.50 CR", 'holds "C", "R", which the profile does not read'),
        ({}, "1.234,50 S", 'holds "S", which the profile does not read'),
    ],
    ids=[
        "fnb-12.50",
        "point-decimals-12,50",
        "separator-after-mark",
        "first-group-of-four",
        "dollar-sign",
        "cr-marker",
        "soll-marker",
    ],
)
def test_a_csv_amount_with_its_thousands_separator_out_of_place_answers_400_and_imports_nothing(
    admin_api, change, amount, message
):
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    _fnb_profile(**change)
    content = f"{FNB_HEADER}\n01.11.2025;01.11.2025;{amount};card fee;R-1;Shop;;\n".encode()

    response = upload(admin_api, content, name="fnb.csv", profile="csv-fnb")

    assert response.status_code == 400, response.content
    assert response.json()["file"][0].startswith("fnb.csv: line 2: ")
    assert message in response.json()["file"][0]
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    ("change", "amount", "stored"),
    [
        ({}, "1.234.567,89", "1234567.89"),
        ({}, "-1.250", "-1250.00"),
        ({}, "12,50", "12.50"),
        (POINT_DECIMALS, "1,234,567.89", "1234567.89"),
        (POINT_DECIMALS, "(1,250.00)", "-1250.00"),
    ],
)
def test_csv_amounts_grouped_in_threes_are_read_whole(admin_api, change, amount, stored):
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    _fnb_profile(**change)
    content = f'{FNB_HEADER}\n01.11.2025;01.11.2025;"{amount}";card fee;R-1;Shop;;\n'.encode()

    response = upload(admin_api, content, name="fnb.csv", profile="csv-fnb")

    assert response.status_code == 201, response.content
    assert StatementLine.objects.get().amount == Decimal(stored)


SPLIT_FILE = b"Datum;Soll;Haben\n01.10.2025;40,00;\n02.10.2025;;100,00\n"
SPLIT = {
    "delimiter": ";",
    "decimal_mark": ",",
    "date_format": "%d.%m.%Y",
    "amount_mode": "split",
    "date_column": "Datum",
    "amount_column": "",
    "description_column": "",
    "debit_column": "Soll",
    "credit_column": "Haben",
}


@pytest.mark.parametrize(
    ("saved", "field"),
    [({"negate_amounts": True}, "negate amounts"), ({"credit_column": "SOLL"}, "credit column")],
    ids=["negated", "same-column"],
)
def test_a_split_profile_saved_before_its_columns_were_checked_is_refused_naming_it(admin_api, saved, field):
    # Negated, this file's credit of 100.00 was imported as -100.00 and its debit of 40.00 as +40.00.
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    profile = StatementCsvProfileFactory(name="Old split", **SPLIT)
    StatementCsvProfile.objects.filter(pk=profile.pk).update(**saved)

    response = upload(admin_api, SPLIT_FILE, name="oct.csv", profile="Old split")

    assert response.status_code == 400, response.content
    message = response.json()["profile"][0]
    assert 'The CSV profile "Old split" cannot read statements as saved' in message
    assert field in message
    assert counts() == (0, 0)


def test_a_split_profile_naming_one_column_by_header_and_position_answers_400_on_file(admin_api):
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    StatementCsvProfileFactory(name="Split", **{**SPLIT, "credit_column": "1"})

    response = upload(admin_api, SPLIT_FILE, name="oct.csv", profile="Split")

    assert response.status_code == 400, response.content
    assert "are the same column of the file (position 1)" in response.json()["file"][0]
    assert counts() == (0, 0)


def test_a_split_profile_reads_a_debit_as_money_out_and_a_credit_as_money_in(admin_api):
    BankAccountFactory(id="ba-six", iban="", account_number="998877", currency="USD")
    StatementCsvProfileFactory(name="Split", **SPLIT)

    response = upload(admin_api, SPLIT_FILE, name="oct.csv", profile="Split")

    assert response.status_code == 201, response.content
    assert list(StatementLine.objects.order_by("booking_date").values_list("amount", flat=True)) == [
        Decimal("-40.00"),
        Decimal("100.00"),
    ]


def test_signed_out_is_401_and_without_permission_is_403(six_account):
    assert upload(APIClient(), sample(SIX)).status_code == 401
    clerk = get_user_model().objects.create_user("clerk", password="pw-123-456")
    client = APIClient()
    client.force_authenticate(clerk)

    assert upload(client, sample(SIX)).status_code == 403
    assert counts() == (0, 0)


def test_statements_and_their_lines_are_listed(admin_api, six_account):
    upload(admin_api, sample(SIX))
    statement = BankStatement.objects.get()

    listing = admin_api.get("/api/v1/banking/statements", {"bank_account": "ba-six"})
    detail = admin_api.get(f"/api/v1/banking/statements/{statement.pk}")
    lines = admin_api.get(f"/api/v1/banking/statements/{statement.pk}/lines", {"page_size": 100})

    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    assert detail.json()["closing_balance"] == "322689.77"
    assert lines.json()["count"] == 32
    first = lines.json()["results"][0]
    assert first["line_number"] == 1
    assert first["amount"] == "-24.00"
    assert admin_api.get("/api/v1/banking/statements/st-missing").status_code == 404


def test_a_statements_lines_filter_by_match_status_and_refuse_an_unknown_one(admin_api, six_account):
    upload(admin_api, sample(SIX))
    url = f"/api/v1/banking/statements/{BankStatement.objects.get().pk}/lines"

    unmatched = admin_api.get(url, {"match_status": "unmatched", "page_size": 100})
    bogus = admin_api.get(url, {"match_status": "bogus"})
    misspelt = admin_api.get(url, {"match_statuss": "unmatched"})

    assert unmatched.json()["count"] == 32
    # An unknown status used to answer 200 with no lines, as if none had it.
    assert bogus.status_code == 400
    assert list(bogus.json()) == ["match_status"]
    # and a parameter the route does not know, with every line
    assert misspelt.status_code == 400
    assert misspelt.json() == {"match_statuss": ["Unknown parameter."]}


def test_camt_amount_with_a_minus_sign_answers_400_on_file_and_imports_nothing(admin_api):
    # camt amounts carry no sign: "-5.00" CRDT was stored as money out though the bank says credit
    BankAccountFactory(id="ba-six", iban="DE89370400440532013000", account_number="", currency="EUR")
    content = camt_file([camt_statement([camt_entry("-5.00", sign="CRDT")])])

    response = upload(admin_api, content)

    assert response.status_code == 400, response.data
    [message] = response.json()["file"]
    assert 'entry 1 of the statement "-5.00" has a minus sign' in message
    assert "camt amounts carry no sign" in message
    assert counts() == (0, 0)


def test_statements_are_filtered_by_statement_format(admin_api, six_account):
    # given a camt.053 and a CSV statement of one account
    upload(admin_api, sample(SIX))
    StatementCsvProfileFactory(name="Plain CSV")
    upload(
        admin_api,
        b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n",
        name="oct.csv",
        profile="Plain CSV",
    )
    url = "/api/v1/banking/statements"

    camt = admin_api.get(url, {"statement_format": "camt053"})
    csv = admin_api.get(url, {"statement_format": "csv"})
    # ?format= still chooses the renderer
    rendered = admin_api.get(url, {"statement_format": "csv", "format": "json"})
    unknown = admin_api.get(url, {"statement_format": "qif"})

    assert camt.status_code == 200, camt.content
    assert [row["format"] for row in camt.json()["results"]] == ["camt053"]
    assert [row["file_name"] for row in csv.json()["results"]] == ["oct.csv"]
    assert rendered.status_code == 200
    assert rendered.json()["count"] == 1
    assert unknown.status_code == 400
    assert "statement_format" in unknown.json()
