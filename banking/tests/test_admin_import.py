"""The admin upload form (banking.admin_import), hooked into a test admin site
exactly as the statement admin would hook it.

Uses the camt.053 sample from viafintech/camt_parser (MIT) in ``samples/camt``.
"""

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import include, path

from banking.admin_import import StatementImportAdminMixin
from banking.models import BankStatement, StatementLine
from banking.tests.factories import BankAccountFactory, StatementCsvProfileFactory
from banking.tests.statement_files import sample
from cnperp.admin import ViewOnlyAdmin

site = admin.AdminSite(name="import_test_admin")


class BankStatementAdmin(StatementImportAdminMixin, ViewOnlyAdmin):
    pass


site.register(BankStatement, BankStatementAdmin)
urlpatterns = [path("admin/", site.urls), path("", include("cnperp.urls"))]

URL = "/admin/banking/bankstatement/import/"
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def signed_in(client, superuser):
    client.force_login(superuser)
    return client


@override_settings(SECURE_SSL_REDIRECT=False)
def test_upload_imports_and_shows_the_summary(signed_in):
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")

    page = signed_in.get(URL)
    response = signed_in.post(
        URL,
        {
            "bank_account": "ba-six",
            "format": "auto",
            "file": SimpleUploadedFile("six.xml", sample("camt/camt053_six_v4.xml")),
        },
    )

    assert page.status_code == 200
    assert response.status_code == 200
    assert StatementLine.objects.count() == 32
    assert b"32 line(s) read, 32 new, 0 duplicate(s) skipped" in response.content
    # Each statement links to the reconciliation of the month it closes
    statement = BankStatement.objects.get()
    period = f"{statement.to_date:%Y-%m}"
    assert f'href="/admin/banking/bankaccount/ba-six/reconcile/{period}/"'.encode() in response.content
    assert f"Reconcile {period}".encode() in response.content


@override_settings(SECURE_SSL_REDIRECT=False)
def test_wrong_account_shows_the_error_on_the_field_and_imports_nothing(signed_in):
    BankAccountFactory(id="ba-x", iban="GB29NWBK60161331926819", account_number="", currency="CHF")

    response = signed_in.post(
        URL,
        {
            "bank_account": "ba-x",
            "format": "auto",
            "file": SimpleUploadedFile("six.xml", sample("camt/camt053_six_v4.xml")),
        },
    )

    assert response.status_code == 200
    assert "is for account CH0309000000250090342" in str(response.context["form"].errors["bank_account"])
    assert StatementLine.objects.count() == 0


@override_settings(SECURE_SSL_REDIRECT=False)
def test_the_same_csv_uploaded_under_another_name_is_already_imported(signed_in):
    BankAccountFactory(id="ba-csv", iban="", account_number="1234", currency="USD")
    profile = StatementCsvProfileFactory(name="Plain")
    content = b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n"

    def upload(name):
        form = {"bank_account": "ba-csv", "format": "csv", "profile": profile.pk}
        return signed_in.post(URL, {**form, "file": SimpleUploadedFile(name, content)})

    upload("oct.csv")
    response = upload("oct (1).csv")

    assert response.status_code == 200
    assert b"1 line(s) read, 0 new, 1 duplicate(s) skipped" in response.content
    assert b"(already imported from oct.csv)" in response.content
    assert (BankStatement.objects.count(), StatementLine.objects.count()) == (1, 1)


@override_settings(SECURE_SSL_REDIRECT=False)
def test_the_summary_names_the_file_exactly_as_uploaded(signed_in):
    # Django's admin page capitalised every message: "nov.csv: ..." read "Nov.csv: ...".
    BankAccountFactory(id="ba-csv", iban="", account_number="1234", currency="USD")
    profile = StatementCsvProfileFactory(name="Plain")
    content = b"Date,Amount,Description\n2025-11-01,100.00,Deposit\n"

    def upload(name):
        form = {"bank_account": "ba-csv", "format": "csv", "profile": profile.pk}
        return signed_in.post(URL, {**form, "file": SimpleUploadedFile(name, content)})

    first = upload("nov.csv")
    again = upload("nov.csv")

    assert b'<li class="success">nov.csv: 1 line(s) read, 1 new' in first.content
    assert b"Nov.csv" not in first.content
    assert b"nov.csv: 1 line(s) read, 0 new, 1 duplicate(s) skipped" in again.content
    assert b"Nov.csv" not in again.content


@override_settings(SECURE_SSL_REDIRECT=False)
def test_changelist_offers_the_import_button(signed_in):
    response = signed_in.get("/admin/banking/bankstatement/")

    assert b"Import statement" in response.content


@override_settings(SECURE_SSL_REDIRECT=False)
def test_user_without_permission_is_refused(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-123-456", is_staff=True)
    client.force_login(clerk)

    assert client.get(URL).status_code == 403
