"""A CSV profile's encoding: only the character sets banks write statements in.

A profile's encoding decodes the file, and utf-7 reads "+2AA-" as a lone UTF-16
surrogate (unicode_escape reads "\\ud800" as one), which no database column can
hold: the import used to end in a 500. Given such an encoding, when finance
staff save it in the admin or through the API, then the field is refused with
the accepted list; when a profile saved before the rule names one, then the
import is a clear parse error and imports nothing. cp1252 and UTF-16 profiles
import as before.
"""

import codecs
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from banking.importers import csv_profile
from banking.importers.base import StatementParseError
from banking.models import BankStatement, StatementCsvProfile, StatementLine
from banking.statement_encodings import ACCEPTED, STATEMENT_ENCODINGS, validate_statement_encoding
from banking.statement_import import statement_import
from banking.tests.factories import BankAccountFactory, StatementCsvProfileFactory
from cnperp.exceptions import DomainError
from cnperp.tests.admin_pages import add_url, form_data

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/banking/statements/import"
PROFILES = "/api/v1/banking/csv-profiles"
REFUSED = [
    "utf-7",
    "UTF-7",
    "unicode_escape",
    "raw_unicode_escape",
    "punycode",
    "idna",
    "base64_codec",
    "rot13",
]
# Each spells a lone surrogate in the description when read with the encoding named.
SURROGATE_FILES = {
    "utf-7": b"Date,Amount,Description\n2025-10-01,100.00,Deposit +2AA-\n",
    "unicode_escape": b"Date,Amount,Description\n2025-10-01,100.00,Deposit \\ud800\n",
    "raw_unicode_escape": b"Date,Amount,Description\n2025-10-01,100.00,Deposit \\ud800\n",
}


@pytest.fixture
def account():
    return BankAccountFactory(id="ba-csv", iban="", account_number="998877", currency="EUR")


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def upload(client, content, profile, name="oct.csv"):
    data = {"file": SimpleUploadedFile(name, content), "bank_account_id": "ba-csv", "profile": profile}
    return client.post(IMPORT, data, format="multipart")


def counts():
    return BankStatement.objects.count(), StatementLine.objects.count()


def saved_before_the_rule(encoding, name="Old bank"):
    """A profile as an older release could have saved it: the validator bypassed."""
    profile = StatementCsvProfileFactory(name=name)
    StatementCsvProfile.objects.filter(pk=profile.pk).update(encoding=encoding)
    return StatementCsvProfile.objects.get(pk=profile.pk)


# --- The rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [*ACCEPTED, "UTF-8", "utf8", "latin1", "ISO-8859-1", "windows-1252", "iso8859_15", "macroman"]
)
def test_the_accepted_encodings_and_their_aliases_pass(name):
    validate_statement_encoding(name)


@pytest.mark.parametrize("name", [*REFUSED, "utf-32", "iso2022_jp", "bz2_codec", "no-such-codec", ""])
def test_other_encodings_are_refused_naming_them_and_listing_the_accepted(name):
    with pytest.raises(ValidationError) as raised:
        validate_statement_encoding(name)

    [message] = raised.value.messages
    assert f'"{name}"' in message
    assert "utf-8, utf-8-sig, utf-16" in message
    assert "cp1252" in message


def _has_lone_surrogate(text):
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


MULTI_BYTE = {"gbk", "gb18030", "big5", "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949"}


def test_no_accepted_decoder_can_produce_a_lone_surrogate():
    unicode = {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"}
    assert MULTI_BYTE <= STATEMENT_ENCODINGS
    # Single-byte tables: every byte is a plain character (or undefined).
    for codec in STATEMENT_ENCODINGS - unicode - MULTI_BYTE:
        assert not _has_lone_surrogate(bytes(range(256)).decode(codec, errors="ignore")), codec
    # Multi-byte tables: every pair of bytes, one pair at a time, and for GB 18030 every
    # four-byte sequence (its mapping reaches past U+FFFF, as whole code points).
    pairs = [bytes((first, second)) for first in range(256) for second in range(256)]
    for codec in MULTI_BYTE:
        for pair in pairs:
            assert not _has_lone_surrogate(pair.decode(codec, errors="ignore")), (codec, pair)
    quads = bytes(
        byte
        for a in range(0x81, 0xFF)
        for b in range(0x30, 0x3A)
        for c in range(0x81, 0xFF)
        for d in range(0x30, 0x3A)
        for byte in (a, b, c, d)
    )
    assert not _has_lone_surrogate(quads.decode("gb18030", errors="ignore"))
    # UTF-8 and UTF-16 refuse an encoded lone surrogate.
    for codec, lone in [
        ("utf-8", b"\xed\xa0\x80"),
        ("utf-8-sig", b"\xed\xa0\x80"),
        ("utf-16-le", b"\x00\xd8A\x00"),
        ("utf-16-be", b"\xd8\x00\x00A"),
        ("utf-16", b"\xff\xfe\x00\xd8A\x00"),
    ]:
        with pytest.raises(UnicodeDecodeError):
            lone.decode(codec)


# --- Saving a profile -------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-7", "unicode_escape", "base64_codec", "no-such-codec"])
def test_the_admin_add_form_refuses_the_encoding_naming_the_field(staff, encoding):
    data = form_data(staff.get(add_url(StatementCsvProfile)))
    data.update(name="Acme", encoding=encoding, date_column="Date", amount_column="Amount")

    response = staff.post(add_url(StatementCsvProfile), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["encoding"]
    assert f'"{encoding}"' in errors["encoding"][0]
    assert "cp1252" in errors["encoding"][0]
    assert not StatementCsvProfile.objects.exists()


def test_the_admin_add_form_saves_a_cp1252_profile(staff):
    data = form_data(staff.get(add_url(StatementCsvProfile)))
    data.update(name="Acme", encoding="windows-1252", date_column="Date", amount_column="Amount")

    response = staff.post(add_url(StatementCsvProfile), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert StatementCsvProfile.objects.get().encoding == "windows-1252"


def test_the_api_refuses_the_encoding_on_create_and_on_change(admin_api):
    body = {"id": "csv-acme", "name": "Acme", "date_column": "Date", "amount_column": "Amount"}

    refused = admin_api.post(PROFILES, {**body, "encoding": "utf-7"}, format="json")
    created = admin_api.post(PROFILES, {**body, "encoding": "utf-16"}, format="json")
    changed = admin_api.patch(f"{PROFILES}/csv-acme", {"encoding": "unicode_escape"}, format="json")

    assert refused.status_code == 400
    assert list(refused.json()) == ["encoding"]
    assert '"utf-7"' in refused.json()["encoding"][0]
    assert created.status_code == 201, created.content
    assert changed.status_code == 400
    assert '"unicode_escape"' in changed.json()["encoding"][0]
    assert StatementCsvProfile.objects.get().encoding == "utf-16"


# --- Importing through a profile saved before the rule -----------------------------


@pytest.mark.parametrize("encoding", list(SURROGATE_FILES))
def test_an_old_profile_with_a_refused_encoding_is_a_400_and_imports_nothing(admin_api, account, encoding):
    saved_before_the_rule(encoding)

    response = upload(admin_api, SURROGATE_FILES[encoding], "Old bank")

    assert response.status_code == 400, response.content[:300]
    [message] = response.json()["file"]
    assert message.startswith("oct.csv: ")
    assert f'The CSV profile "Old bank" names an encoding that is refused: "{encoding}"' in message
    assert "Use one of: utf-8" in message
    assert counts() == (0, 0)


def test_the_service_refuses_it_too(account, superuser):
    profile = saved_before_the_rule("utf-7")

    with pytest.raises(DomainError) as raised:
        statement_import(
            bank_account=account,
            content=SURROGATE_FILES["utf-7"],
            file_name="oct.csv",
            format="csv",
            profile=profile,
            user=superuser,
        )

    assert raised.value.field == "file"
    assert '"utf-7"' in str(raised.value)
    assert counts() == (0, 0)


@pytest.mark.parametrize("encoding", ["no-such-codec", "base64_codec", "utf-32"])
def test_the_reader_refuses_an_old_profile_before_decoding(encoding):
    profile = StatementCsvProfile(
        name="Old bank", encoding=encoding, date_column="Date", amount_column="Amount"
    )

    with pytest.raises(StatementParseError) as raised:
        csv_profile.parse(b"Date,Amount\n2025-10-01,1.00\n", profile)

    assert f'"{encoding}"' in str(raised.value)


# --- The encodings banks use still import ----------------------------------------------


def test_a_cp1252_profile_imports(admin_api, account):
    StatementCsvProfileFactory(name="Windows bank", encoding="cp1252")
    content = "Date,Amount,Description\n2025-10-01,100.00,Café €5 fee\n".encode("cp1252")

    response = upload(admin_api, content, "Windows bank")

    assert response.status_code == 201, response.content[:300]
    assert StatementLine.objects.get().narrative == "Café €5 fee"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_profile_imports(admin_api, account, encoding):
    StatementCsvProfileFactory(name="Unicode bank", encoding=encoding)
    # utf-16 writes a byte order mark, utf-16-le none; "𝄞" is a surrogate pair, well formed.
    content = "Date,Amount,Description\n2025-10-01,-12.50,Zürich 𝄞\n".encode(encoding)

    response = upload(admin_api, content, "Unicode bank")

    assert response.status_code == 201, response.content[:300]
    line = StatementLine.objects.get()
    assert (line.amount, line.narrative) == (Decimal("-12.50"), "Zürich 𝄞")


def test_a_utf8_profile_still_drops_a_byte_order_mark():
    profile = StatementCsvProfile(name="Bank", encoding="UTF-8", date_column="Date", amount_column="Amount")

    [statement] = csv_profile.parse(codecs.BOM_UTF8 + b"Date,Amount\n2025-10-01,1.00\n", profile)

    assert statement.lines[0].amount == Decimal("1.00")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_byte_order_mark_before_utf16_le_or_be_is_not_part_of_the_first_header(encoding):
    profile = StatementCsvProfile(name="Bank", encoding=encoding, date_column="Date", amount_column="Amount")

    [statement] = csv_profile.parse("\ufeffDate,Amount\n2025-10-01,1.00\n".encode(encoding), profile)

    assert statement.lines[0].amount == Decimal("1.00")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_a_bad_byte_after_a_utf8_byte_order_mark_is_reported_at_its_own_offset(encoding):
    profile = StatementCsvProfile(name="Bank", encoding=encoding, date_column="Date", amount_column="Amount")
    content = codecs.BOM_UTF8 + b"Date,Amount\n2025-10-01,1.00 \xff\n"

    with pytest.raises(StatementParseError) as raised:
        csv_profile.parse(content, profile)

    offset = content.index(b"\xff")  # counted from the file's first byte, the mark's included
    assert f"byte 0xff at offset {offset} cannot be decoded" in str(raised.value)
    assert raised.value.line == 2


@pytest.mark.parametrize(
    ("encoding", "narrative"),
    [
        ("gbk", "上海分行 手续费"),
        ("shift_jis", "東京支店 手数料"),
        ("cp1257", "Rīga komisija"),
        ("koi8-r", "Комиссия"),
    ],
)
def test_regional_bank_encodings_import(admin_api, account, encoding, narrative):
    StatementCsvProfileFactory(name="Regional bank", encoding=encoding)
    content = f"Date,Amount,Description\n2025-10-01,-12.50,{narrative}\n".encode(encoding)

    response = upload(admin_api, content, "Regional bank")

    assert response.status_code == 201, response.content[:300]
    assert StatementLine.objects.get().narrative == narrative
