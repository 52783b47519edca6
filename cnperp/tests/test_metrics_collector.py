"""``/metrics`` reads the ledger's business figures from the database at scrape time.

Postings in the open periods, drafts waiting, statements imported and the variance
of each account's latest reconciliation, whichever process did the work: the
tests do it through the commands (another process would be no different) and
read the figures back through ``GET /metrics``.
"""

import datetime
import socket
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from banking.tests.factories import BankTransactionFactory
from banking.tests.reconciliation_setup import october
from banking.tests.statement_files import SAMPLES
from cnperp.tests.ledger_data import posted_ledger

SCRAPER_TOKEN = "scraper-token-for-the-tests"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = SCRAPER_TOKEN


def _samples(client):
    """Return ``{(name, frozenset(labels)): value}`` of every sample /metrics shows to the scraper."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}")
    assert response.status_code == 200
    samples = {}
    for line in response.content.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, labels = head.partition("{")
        pairs = frozenset(
            tuple(part.split("=", 1)) for part in labels.rstrip("}").replace('"', "").split(",") if part
        )
        samples[(name, pairs)] = float(value)
    return samples


def _value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


@pytest.mark.django_db
def test_postings_and_drafts_are_counted_from_the_ledger(client):
    # given five transactions posted by post_transactions in October and one new draft
    ledger = posted_ledger()
    BankTransactionFactory(
        id="bt-ops-waiting",
        bank_account=ledger["op"],
        amount=Decimal("10.00"),
        transaction_date=datetime.date(2025, 10, 9),
    )
    # when
    samples = _samples(client)
    # then
    assert _value(samples, "cnperp_ledger_metrics_up") == 1
    assert _value(samples, "cnperp_ledger_postings", period="2025-10") == 5
    assert _value(samples, "cnperp_bank_transactions_draft") == 1
    assert _value(samples, "cnperp_ledger_metrics_seconds") >= 0


@pytest.mark.django_db
def test_a_reversal_counts_as_a_posting_and_a_closed_period_drops_out(client, admin_api):
    # given five postings in October, one of them reversed through the API
    posted_ledger()
    reversed_ = admin_api.post(
        "/api/v1/banking/transactions/bt-ops-1/reverse",
        {"reversal_date": "2025-10-20", "reason": "Entered twice"},
        format="json",
    )
    assert reversed_.status_code == 201, reversed_.content
    assert _value(_samples(client), "cnperp_ledger_postings", period="2025-10") == 6
    # when October is closed (its count is final: nothing more can be posted into it)
    call_command("close_period", "2025-10", stdout=StringIO())
    # then it is no longer exposed
    assert _value(_samples(client), "cnperp_ledger_postings", period="2025-10") is None


@pytest.mark.django_db
def test_statement_imports_count_files_and_new_lines_by_format(client):
    from banking.tests.factories import BankAccountFactory

    # given nothing imported yet
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    assert _value(_samples(client), "cnperp_statements_imported_total", format="camt053") is None
    # when one camt.053 file of 32 lines is imported, then the same file again
    path = str(SAMPLES / "camt" / "camt053_six_v4.xml")
    call_command("import_statement", path, "--account", "ba-six", stdout=StringIO(), stderr=StringIO())
    call_command("import_statement", path, "--account", "ba-six", stdout=StringIO(), stderr=StringIO())
    samples = _samples(client)
    # then one file and its 32 lines are counted; the repeat added nothing
    assert _value(samples, "cnperp_statements_imported_total", format="camt053") == 1
    assert _value(samples, "cnperp_statement_lines_imported_total", format="camt053") == 32


@pytest.mark.django_db
def test_the_latest_reconciliation_variance_and_its_sign_off_are_published(client):
    # given October reconciled for ba-op: statement 1,587.50 against book 1,600.00
    october()
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", "--match", stdout=StringIO())
    samples = _samples(client)
    assert _value(
        samples, "cnperp_ledger_reconciliation_variance", bank_account_id="ba-op", period="2025-10"
    ) == (-12.5)
    assert (
        _value(samples, "cnperp_ledger_reconciliation_finalized", bank_account_id="ba-op", period="2025-10")
        == 0
    )
    # when it is signed off
    call_command("reconcile", "--account", "ba-op", "--period", "2025-10", "--finalize", stdout=StringIO())
    # then
    samples = _samples(client)
    assert (
        _value(samples, "cnperp_ledger_reconciliation_finalized", bank_account_id="ba-op", period="2025-10")
        == 1
    )


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_a_scrape_during_a_database_outage_still_answers_and_says_the_figures_are_missing(client):
    # given the database unreachable (a refused connection, no mock)
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = _closed_port()
    try:
        # when
        samples = _samples(client)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved_port
    # then /metrics answers 200 with the HTTP metrics, and the ledger figures say they are missing
    assert _value(samples, "cnperp_ledger_metrics_up") == 0
    assert not [key for key in samples if key[0] == "cnperp_ledger_postings_total"]
    assert any(key[0] == "cnperp_http_requests_total" for key in samples)
    # and the next scrape, with the database back, reads them again without a restart
    assert _value(_samples(client), "cnperp_ledger_metrics_up") == 1
