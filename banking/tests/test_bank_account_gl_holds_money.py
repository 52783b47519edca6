"""A bank account keeps its books on an account that holds money.

The bank's books are the lines on its GL account. Before, a bank account could
be opened on Sales revenue or Bank charges: the cash dashboard then showed a
year's sales as the bank's (negative) balance, and once lines existed the GL
account was fixed, so the mistake could not be put right.
"""

import pytest

from accounting.tests.factories import GLAccountFactory
from banking.models import BankAccount
from banking.tests.posting_setup import contra, ledger_setup

pytestmark = pytest.mark.django_db
BASE = "/api/v1/banking/bank-accounts"


@pytest.fixture
def ledger():
    return ledger_setup()


def body(gl_account_id):
    return {
        "name": "New",
        "bank_name": "B",
        "currency": "USD",
        "account_number": "9",
        "gl_account_id": gl_account_id,
    }


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ("deposit", "GL account gl-4000 is an income account; a bank account keeps its books on an asset"),
        ("fee", "GL account gl-6100 is an expense account"),
        ("adjustment", "GL account gl-3900 is an equity account"),
        ("cash_in_transit", "GL account gl-1160 is the account of a cash in transit posting rule"),
    ],
)
def test_an_account_that_holds_no_cash_of_the_bank_is_refused(admin_api, ledger, document, said):
    before = BankAccount.objects.count()

    answer = admin_api.post(BASE, body(contra(document)), format="json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["gl_account_id"][0].startswith(said)
    assert BankAccount.objects.count() == before


def test_an_asset_account_of_its_own_is_taken(admin_api, ledger):
    GLAccountFactory(id="gl-1105", code="1105", name="Second bank", account_type="asset")

    answer = admin_api.post(BASE, body("gl-1105"), format="json")

    assert answer.status_code == 201, answer.content
