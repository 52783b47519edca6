"""Guards on what finance staff type in, through the API, the admin and the services.

- A bank account's GL account and currency are fixed once it has history
  (posted GL lines, bank transactions, statements): moving them made the
  account's whole history vanish from its reports. 409 (API), form error (admin).
- A CSV profile's decimal mark, thousands separator, delimiter and quote
  character are ones the importer reads amounts with: a thousands separator "1"
  turned 12.50 into 2.50. A profile with separate debit and credit columns
  neither negates them (a credit of 100.00 became -100.00) nor names one column
  as both.
- A transfer fails once, for a reason given as a string.
- Document dates lie in the books' years (1900 to 2999): periods exist only for
  those, so a document dated outside could be saved but never posted.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounting.models import JournalEntry
from accounting.tests.factories import GLAccountFactory, JournalEntryFactory
from banking import services
from banking.choices import TransferStatus
from banking.models import (
    BankAccount,
    BankTransaction,
    BankTransfer,
    CashSubmission,
    FloatAllocation,
    StatementCsvProfile,
)
from banking.posting import float_allocation_post
from banking.tests.factories import (
    BankStatementFactory,
    BankTransactionFactory,
    BankTransferFactory,
    FloatAllocationFactory,
    StatementCsvProfileFactory,
)
from banking.tests.posting_setup import ledger_setup
from cnperp.exceptions import ConflictError
from cnperp.tests.admin_pages import add_url, change_url, form_data

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking"
ACCOUNT = f"{BASE}/bank-accounts/ba-op"
PROFILES = f"{BASE}/csv-profiles"
TRANSFERS = f"{BASE}/transfers"


@pytest.fixture
def ledger():
    books = ledger_setup()
    GLAccountFactory(id="gl-x1", code="1101", name="Another bank")
    return books


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _state(account_id="ba-op"):
    return BankAccount.objects.values("gl_account_id", "currency", "name").get(pk=account_id)


# --- Bank account: GL account and currency fixed once there is history -----------------


def _posted_float(books):
    allocation = FloatAllocationFactory(bank_account=books["op"], branch=books["branch"])
    float_allocation_post(allocation_id=allocation.pk, user=books["user"])
    assert JournalEntry.objects.filter(account_id="gl-bank-ba-op").exists()


HISTORY = {
    "float allocations": _posted_float,
    "lines on its GL account": lambda books: JournalEntryFactory(
        account_id="gl-bank-ba-op", debit=Decimal("1000.00")
    ),
    "transfers": lambda books: BankTransferFactory(
        from_bank_account=books["op"], to_bank_account=books["sav"]
    ),
    "bank transactions": lambda books: BankTransactionFactory(bank_account=books["op"]),
    "statements": lambda books: BankStatementFactory(bank_account=books["op"]),
}


@pytest.mark.parametrize("history", HISTORY)
@pytest.mark.parametrize(
    ("change", "field"),
    [({"gl_account_id": "gl-x1"}, "gl_account_id"), ({"currency": "EUR"}, "currency")],
)
def test_the_gl_account_or_currency_of_an_account_with_history_answers_409(
    admin_api, ledger, history, change, field
):
    HISTORY[history](ledger)
    before = _state()

    response = admin_api.patch(ACCOUNT, change, format="json")

    assert response.status_code == 409, response.content
    message = response.json()[field][0]
    assert history in message
    assert "cannot change" in message
    assert _state() == before


def test_the_reviewers_patch_is_refused_while_name_and_bank_stay_editable(admin_api, ledger):
    _posted_float(ledger)
    before = _state()

    refused = admin_api.patch(ACCOUNT, {"gl_account_id": "gl-x1", "currency": "EUR"}, format="json")
    renamed = admin_api.patch(ACCOUNT, {"name": "Main account", "bank_name": "Other Bank"}, format="json")

    assert refused.status_code == 409, refused.content
    assert set(refused.json()) == {"gl_account_id"}
    assert renamed.status_code == 200, renamed.content
    assert _state() == {**before, "name": "Main account"}


def test_the_gl_account_and_currency_move_until_the_account_is_used(admin_api, ledger):
    # Nothing refers to the account yet: a set-up mistake can still be put right.
    moved = admin_api.patch(ACCOUNT, {"gl_account_id": "gl-x1", "currency": "eur"}, format="json")
    # A draft float already counts: its amount is in the account's currency.
    FloatAllocationFactory(bank_account=ledger["op"], branch=ledger["branch"])
    back = admin_api.patch(ACCOUNT, {"gl_account_id": "gl-bank-ba-op"}, format="json")

    assert moved.status_code == 200, moved.content
    assert back.status_code == 409, back.content
    assert "float allocations" in back.json()["gl_account_id"][0]
    assert _state()["gl_account_id"] == "gl-x1"
    assert _state()["currency"] == "EUR"


def test_a_gl_account_whose_key_differs_only_in_case_is_another_account(admin_api, ledger):
    # Keys are case-sensitive: the guard compared them upper-cased and let this move through.
    GLAccountFactory(id="GL-BANK-BA-OP", code="1102", name="Look-alike")
    BankTransactionFactory(bank_account=ledger["op"])

    response = admin_api.patch(ACCOUNT, {"gl_account_id": "GL-BANK-BA-OP"}, format="json")

    assert response.status_code == 409, response.content
    assert _state()["gl_account_id"] == "gl-bank-ba-op"


def test_the_service_refuses_the_gl_account_of_an_account_with_transactions(ledger):
    BankTransactionFactory(bank_account=ledger["op"])

    with pytest.raises(ConflictError, match="bank transactions") as refused:
        services.bank_account_update(bank_account_id="ba-op", user=None, gl_account_id="gl-x1")

    assert refused.value.field == "gl_account"
    assert _state()["gl_account_id"] == "gl-bank-ba-op"


@pytest.mark.parametrize(("field", "value"), [("gl_account", "gl-x1"), ("currency", "EUR")])
def test_the_admin_refuses_the_gl_account_or_currency_of_an_account_with_history(staff, ledger, field, value):
    BankTransactionFactory(bank_account=ledger["op"])
    before = _state()
    data = form_data(staff.get(change_url(ledger["op"])))
    data[field] = value

    response = staff.post(change_url(ledger["op"]), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "bank transactions" in errors[field][0]
    assert _state() == before
    # The name stays editable on the same page.
    data = form_data(staff.get(change_url(ledger["op"])))
    data["name"] = "Main account"
    assert staff.post(change_url(ledger["op"]), data).status_code == 302
    assert _state() == {**before, "name": "Main account"}


# --- CSV profiles: separators the importer reads amounts with --------------------------


def _profile(**change):
    return {
        "name": "Hausbank",
        "delimiter": ";",
        "quote_char": '"',
        "decimal_mark": ",",
        "thousands_separator": ".",
        "date_column": "Datum",
        "amount_column": "Betrag",
        **change,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"thousands_separator": "1"}, "thousands_separator"),
        ({"thousands_separator": "x"}, "thousands_separator"),
        ({"decimal_mark": "x"}, "decimal_mark"),
        ({"decimal_mark": "1"}, "decimal_mark"),
        ({"quote_char": ";"}, "quote_char"),
        ({"delimiter": "1"}, "delimiter"),
        ({"delimiter": "-"}, "delimiter"),
        ({"delimiter": "a"}, "delimiter"),
        ({"thousands_separator": "("}, "thousands_separator"),
        ({"quote_char": "+"}, "quote_char"),
        ({"quote_char": ","}, "quote_char"),
        # A date format that reads no date back: not a format, the day or the year left out.
        ({"date_format": "nonexistent-id"}, "date_format"),
        ({"date_format": "%Y-%m"}, "date_format"),
        ({"date_format": "%d.%m."}, "date_format"),
        ({"date_format": "%Q"}, "date_format"),
    ],
)
def test_a_csv_profile_with_separators_the_importer_misreads_answers_400(admin_api, change, field):
    response = admin_api.post(PROFILES, _profile(**change), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not StatementCsvProfile.objects.exists()


@pytest.mark.parametrize("separator", [" ", "\u00a0", "\u202f"])
def test_a_csv_profile_keeps_the_space_separators_banks_write(admin_api, separator):
    response = admin_api.post(PROFILES, _profile(thousands_separator=separator), format="json")

    assert response.status_code == 201, response.content
    assert StatementCsvProfile.objects.get().thousands_separator == separator


@pytest.mark.parametrize(
    "change",
    [
        # Comma-delimited with quoted comma decimals ("1234,56"): a European spreadsheet's export.
        {"delimiter": ",", "decimal_mark": ",", "thousands_separator": ""},
        {"thousands_separator": "\u2019"},  # the typographic apostrophe some Swiss banks write
        {"delimiter": "\t"},
        {"date_format": "%d/%m/%y"},
        {"date_format": "%d %b %Y"},
        {"date_format": "%Y%m%d"},
        {"date_format": "%Y-%m-%dT%H:%M:%S%z"},  # a timestamp, as some banks export
    ],
)
def test_a_csv_profile_with_layouts_banks_write_is_accepted(admin_api, change):
    response = admin_api.post(PROFILES, _profile(**change), format="json")

    assert response.status_code == 201, response.content
    saved = StatementCsvProfile.objects.get()
    assert {field: getattr(saved, field) for field in change} == change


def test_changing_a_profiles_thousands_separator_to_a_digit_changes_nothing(admin_api):
    profile = StatementCsvProfileFactory(name="Plain")

    response = admin_api.patch(f"{PROFILES}/{profile.pk}", {"thousands_separator": "1"}, format="json")

    assert response.status_code == 400, response.content
    assert "thousands_separator" in response.json()
    assert StatementCsvProfile.objects.get(pk=profile.pk).thousands_separator == ""


def test_the_admin_refuses_a_digit_as_thousands_separator(staff):
    data = form_data(staff.get(add_url(StatementCsvProfile)))
    data.update(_profile(thousands_separator="1"))

    response = staff.post(add_url(StatementCsvProfile), data)

    assert response.status_code == 200
    assert "thousands_separator" in response.context["adminform"].form.errors
    assert not StatementCsvProfile.objects.exists()


def _split(**change):
    columns = {"amount_mode": "split", "amount_column": "", "debit_column": "Soll", "credit_column": "Haben"}
    return _profile(**{**columns, **change})


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # Negated, a credit of 100.00 was imported as -100.00 and a debit of 40.00 as +40.00.
        ({"negate_amounts": True}, "negate_amounts", "Only for one signed amount column"),
        ({"credit_column": "Soll"}, "credit_column", "must differ from the debit column"),
        ({"credit_column": " soll "}, "credit_column", "must differ from the debit column"),
    ],
    ids=["negated", "same-column", "same-header-other-case"],
)
def test_a_split_profile_that_would_misread_amounts_answers_400_naming_the_field(
    admin_api, change, field, message
):
    response = admin_api.post(PROFILES, _split(**change), format="json")

    assert response.status_code == 400, response.content
    assert message in response.json()[field][0]
    assert not StatementCsvProfile.objects.exists()


def test_a_split_profile_with_two_columns_and_a_negated_signed_one_are_accepted(admin_api):
    split = admin_api.post(PROFILES, _split(), format="json")
    signed = admin_api.post(PROFILES, _profile(name="Signed", negate_amounts=True), format="json")

    assert (split.status_code, signed.status_code) == (201, 201), (split.content, signed.content)


def test_switching_a_negated_profile_to_split_columns_changes_nothing(admin_api):
    profile = StatementCsvProfileFactory(name="Negated", negate_amounts=True)

    response = admin_api.patch(
        f"{PROFILES}/{profile.pk}",
        {"amount_mode": "split", "debit_column": "Out", "credit_column": "In"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "negate_amounts" in response.json()
    assert StatementCsvProfile.objects.get(pk=profile.pk).amount_mode == "signed"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"negate_amounts": "on"}, "negate_amounts"), ({"credit_column": "Soll"}, "credit_column")],
)
def test_the_admin_refuses_a_split_profile_that_would_misread_amounts(staff, change, field):
    data = form_data(staff.get(add_url(StatementCsvProfile)))
    data.update(_split(**change))

    response = staff.post(add_url(StatementCsvProfile), data)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not StatementCsvProfile.objects.exists()


def test_the_model_refuses_a_negated_split_profile():
    profile = StatementCsvProfileFactory.build(
        amount_mode="split", amount_column="", debit_column="Out", credit_column="In", negate_amounts=True
    )

    with pytest.raises(ValidationError) as raised:
        profile.full_clean()

    assert "negate_amounts" in raised.value.message_dict


# --- Transfers fail once, for a reason that is a string ---------------------------------


@pytest.fixture
def transfer(ledger, admin_api):
    response = admin_api.post(
        TRANSFERS,
        {
            "id": "tr-1",
            "from_bank_account_id": "ba-op",
            "to_bank_account_id": "ba-sav",
            "amount": "100.00",
            "initiated_date": "2025-10-10",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return BankTransfer.objects.get(pk="tr-1")


def test_a_failed_transfer_cannot_fail_again_and_keeps_its_reason(admin_api, transfer):
    first = admin_api.post(f"{TRANSFERS}/tr-1/fail", {"reason": "Account closed"}, format="json")

    second = admin_api.post(f"{TRANSFERS}/tr-1/fail", {"reason": "Something else"}, format="json")

    assert first.status_code == 200, first.content
    assert second.status_code == 409, second.content
    assert "already failed" in second.json()["detail"]
    transfer.refresh_from_db()
    assert (transfer.status, transfer.failure_reason) == (TransferStatus.FAILED, "Account closed")


def test_the_service_refuses_to_fail_a_failed_transfer_again(ledger, transfer):
    services.bank_transfer_fail(transfer_id="tr-1", user=None, reason="Account closed")

    with pytest.raises(ConflictError, match="already failed"):
        services.bank_transfer_fail(transfer_id="tr-1", user=None, reason="Other")

    assert BankTransfer.objects.get(pk="tr-1").failure_reason == "Account closed"


@pytest.mark.parametrize("reason", [5, 5.5])
def test_a_failure_reason_that_is_not_a_string_answers_400(admin_api, transfer, reason):
    response = admin_api.post(f"{TRANSFERS}/tr-1/fail", {"reason": reason}, format="json")

    assert response.status_code == 400, response.content
    assert "reason" in response.json()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.failure_reason) == (TransferStatus.INITIATED, "")


# --- Document dates within the books' years ----------------------------------------------


def _transaction(**change):
    return {"bank_account_id": "ba-op", "transaction_type": "deposit", "amount": "10.00", **change}


def _submission(**change):
    return {"branch_id": "test-branch", "bank_account_id": "ba-op", "expected_amount": "10.00", **change}


def _float(**change):
    return {"branch_id": "test-branch", "bank_account_id": "ba-op", "amount": "10.00", **change}


def _transfer(**change):
    return {"from_bank_account_id": "ba-op", "to_bank_account_id": "ba-sav", "amount": "10.00", **change}


DOCUMENTS = [
    ("transactions", BankTransaction, _transaction, "transaction_date", {}),
    ("transactions", BankTransaction, _transaction, "value_date", {"transaction_date": "2025-10-01"}),
    ("cash-submissions", CashSubmission, _submission, "submission_date", {}),
    (
        "cash-submissions",
        CashSubmission,
        _submission,
        "deposit_date",
        {"submission_date": "2025-10-01", "deposited_amount": "10.00"},
    ),
    ("float-allocations", FloatAllocation, _float, "allocation_date", {}),
    ("float-allocations", FloatAllocation, _float, "return_date", {"allocation_date": "2025-10-01"}),
    ("transfers", BankTransfer, _transfer, "initiated_date", {}),
]


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
@pytest.mark.parametrize(("documents", "model", "body", "field", "others"), DOCUMENTS)
def test_a_document_date_outside_the_books_answers_400_naming_it(
    admin_api, ledger, documents, model, body, field, others, day
):
    response = admin_api.post(f"{BASE}/{documents}", body(**others, **{field: day}), format="json")

    assert response.status_code == 400, response.content
    assert "1900 to 2999" in response.json()[field][0]
    assert not model.objects.exists()


def test_the_books_run_from_the_first_day_of_1900_to_the_last_of_2999(admin_api, ledger):
    answers = {
        day: admin_api.post(
            f"{BASE}/transactions", _transaction(transaction_date=day), format="json"
        ).status_code
        for day in ("1899-12-31", "1900-01-01", "2999-12-31", "3000-01-01")
    }

    assert answers == {"1899-12-31": 400, "1900-01-01": 201, "2999-12-31": 201, "3000-01-01": 400}


def test_a_change_to_a_date_outside_the_books_changes_nothing(admin_api, ledger):
    draft = BankTransactionFactory(bank_account=ledger["op"])

    response = admin_api.patch(
        f"{BASE}/transactions/{draft.pk}", {"transaction_date": "0001-01-01"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "transaction_date" in response.json()
    assert BankTransaction.objects.get(pk=draft.pk).transaction_date == draft.transaction_date


def test_a_transfer_received_outside_the_books_answers_400(admin_api, transfer):
    response = admin_api.post(f"{TRANSFERS}/tr-1/receive", {"received_date": "9999-12-31"}, format="json")

    assert response.status_code == 400, response.content
    assert "received_date" in response.json()
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.INITIATED
    assert transfer.legs.count() == 1


def test_the_service_refuses_a_transaction_dated_outside_the_books(ledger):
    with pytest.raises(ValidationError) as refused:
        services.bank_transaction_create(
            user=None,
            bank_account=ledger["op"],
            transaction_type="deposit",
            amount="10.00",
            transaction_date=datetime.date(1, 1, 1),
        )

    assert "transaction_date" in refused.value.message_dict
    assert not BankTransaction.objects.exists()


def test_the_admin_refuses_a_transaction_dated_outside_the_books(staff, ledger):
    data = form_data(staff.get(add_url(BankTransaction)))
    data.update(
        bank_account="ba-op", transaction_type="deposit", amount="10.00", transaction_date="0001-01-01"
    )

    response = staff.post(add_url(BankTransaction), data)

    assert response.status_code == 200
    assert "1900 to 2999" in response.context["adminform"].form.errors["transaction_date"][0]
    assert not BankTransaction.objects.exists()


@pytest.mark.parametrize("separator", [" ", "\u202f"])
def test_the_admin_keeps_a_space_as_thousands_separator(staff, separator):
    data = form_data(staff.get(add_url(StatementCsvProfile)))
    data.update(_profile(thousands_separator=separator, delimiter="\t"))

    response = staff.post(add_url(StatementCsvProfile), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    profile = StatementCsvProfile.objects.get()
    assert (profile.thousands_separator, profile.delimiter) == (separator, "\t")


def test_a_tab_delimited_profile_keeps_its_tab_through_the_api(admin_api):
    response = admin_api.post(PROFILES, _profile(delimiter="\t", thousands_separator=" "), format="json")

    assert response.status_code == 201, response.content
    profile = StatementCsvProfile.objects.get()
    assert (profile.delimiter, profile.thousands_separator) == ("\t", " ")
