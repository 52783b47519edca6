"""Documents whose keys differ only in case post as two documents.

Keys are case-sensitive (``BA-OP`` and ``ba-op`` are two keys), and a
posting's reference carries its document's key. The reference's unique index
compared case-insensitively on MariaDB, so posting ``BT-CASE-A`` after
``bt-case-a`` answered 500 (a duplicate ``BT-BT-CASE-A``), and one such draft
stopped the whole ``post_transactions`` batch.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting.models import JournalPosting
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup

pytestmark = pytest.mark.django_db
BASE = "/api/v1/banking"


@pytest.fixture
def ledger():
    setup = ledger_setup()
    for key in ("bt-case-a", "BT-CASE-A", "Bt-Case-A"):
        BankTransactionFactory(
            id=key,
            bank_account=setup["op"],
            transaction_type="fee",
            direction="out",
            amount=Decimal("10.00"),
            transaction_date=datetime.date(2025, 10, 5),
        )
    return setup


def test_two_keys_differing_in_case_post_through_the_api(admin_api, ledger):
    first = admin_api.post(f"{BASE}/transactions/bt-case-a/post-accounting", {}, format="json")
    second = admin_api.post(f"{BASE}/transactions/BT-CASE-A/post-accounting", {}, format="json")
    again = admin_api.post(f"{BASE}/transactions/BT-CASE-A/post-accounting", {}, format="json")

    assert (first.status_code, second.status_code, again.status_code) == (201, 201, 200), second.content
    assert (first.json()["reference"], second.json()["reference"]) == ("BT-bt-case-a", "BT-BT-CASE-A")
    assert again.json()["reference"] == "BT-BT-CASE-A"
    assert JournalPosting.objects.filter(source_id__in=["bt-case-a", "BT-CASE-A"]).count() == 2


def test_the_batch_posts_every_one_of_them(ledger):
    out = io.StringIO()
    call_command("post_transactions", "--all-drafts", stdout=out, stderr=io.StringIO())

    assert sorted(JournalPosting.objects.values_list("reference", flat=True)) == [
        "BT-BT-CASE-A",
        "BT-Bt-Case-A",
        "BT-bt-case-a",
    ]
