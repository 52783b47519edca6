"""Master data and who may do what, as a review of those doors found them wanting.

- The admin's History page is the audit trail: only roles that may read the trail see it
  (a clerk or accountant used to read who changed what there).
- The admin role manages API tokens in the admin (its screen is DRF's proxy model, with
  permissions of its own) and adds accounting periods.
- The failed-login lockout counts per account: the database matches "märy" to "mary", so
  counting spellings apart gave each accent its own allowance of guesses.
- A draft is not posted with a value (cost centre, ...) deactivated after it was recorded.
- A posting rule cannot point at an inactive GL account (every posting by it would fail).
- A hierarchy has at most ``MAX_DEPTH`` levels, and a deeper one written before the limit
  still reports (the roll-up used to recurse once per level, a 500).
- ``is_active=no`` (any value but true/false/1/0) is a 400, not an unfiltered list.
"""

import html
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounting.models import GLAccount, JournalEntry
from accounting.tests.factories import GLAccountFactory
from banking.choices import PostingStatus
from banking.models import BankAccount, BankTransaction, PostingRule
from banking.tests.factories import BankTransactionFactory
from banking.tests.posting_setup import ledger_setup
from dimensions.models import MAX_DEPTH, CostCenter
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db

DIMENSIONS = "/api/v1/dimensions"
BANKING = "/api/v1/banking"
PASSWORD = "Matrix-pass-2025!"


def _role_user(role):
    user = get_user_model().objects.create_user(username=f"r-{role}", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _web(user):
    client = Client()
    client.force_login(user)
    return client


# --- 1. The History page of a record shows its audit trail to every role that can view the record ---


@pytest.mark.parametrize("role", ["clerk", "accountant"])
def test_a_role_without_the_audit_trail_cannot_read_a_records_history_in_the_admin(admin_api, role):
    """docs/security.md: read_audit_trail (auditlog.view_logentry) is controller, auditor, admin only;
    docs/audit.md: who may read the entries "follows the roles: the view_logentry permission".
    AuditHistoryMixin.history_view checks only the record's view permission, so a clerk reads
    /admin/auditlog/logentry/ -> 403 but /admin/banking/banktransaction/<id>/history/ -> 200 with
    every entry (who changed what, old and new values)."""
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-hist", bank_account=ledger["op"], amount=Decimal("10.00"))
    assert (
        admin_api.patch(
            f"{BANKING}/transactions/bt-hist", {"description": "secret change"}, format="json"
        ).status_code
        == 200
    )
    client = _web(_role_user(role))

    assert client.get("/admin/auditlog/logentry/").status_code == 403  # the trail itself: refused
    history = client.get("/admin/banking/banktransaction/bt-hist/history/")

    assert history.status_code == 403, "the record's history is the audit trail by another door"
    assert b"secret change" not in history.content


# --- 2. The admin role cannot manage API tokens in the admin ---------------------------------------


def test_the_admin_role_can_manage_api_tokens_in_the_admin():
    """docs/security.md: admin "may do everything, users and tokens included"; manage_users
    "Add, change and delete users, their groups and API tokens". The group holds
    authtoken.*_token, but DRF's token admin is registered on the proxy model TokenProxy,
    whose permissions are authtoken.*_tokenproxy: /admin/authtoken/tokenproxy/ answers 403."""
    user = _role_user("admin")
    client = _web(user)

    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200
    assert client.get("/admin/authtoken/tokenproxy/add/").status_code == 200


# --- 3. The admin role cannot add an accounting period in the admin --------------------------------


def test_the_admin_role_can_add_an_accounting_period_in_the_admin():
    """docs/admin.md: Accounting periods - "add by month (2025-11; dates follow)"; docs/security.md:
    admin "may do everything". No role holds accounting.add_accountingperiod, so only a
    superuser outside the roles can open a month in the admin."""
    client = _web(_role_user("admin"))

    assert client.get("/admin/accounting/accountingperiod/add/").status_code == 200


# --- 4. The failed-login lockout is bypassed with an accented variant of the username ---------------


@override_settings(LOGIN_LOCKOUT_FAILURES=3, LOGIN_LOCKOUT_MINUTES=10)
def test_an_accented_variant_of_a_locked_username_does_not_get_in():
    """docs/security.md: after N failures for one username from one address "that pair is locked
    until the window ends, even with the right password". The lockout key is the lower-cased
    username as typed; MariaDB's *_ci collation matches "märy" to the user "mary", so each
    accented spelling (a, á, à, â, ä, ã, å, ...) gets its own N guesses at mary's password, and
    with the right one the token is handed out while "mary" is locked."""
    cache.clear()
    mary = get_user_model().objects.create_user("mary", password=PASSWORD)
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    for _attempt in range(3):
        client.post("/api/v1/auth/token", {"username": "mary", "password": "guess"}, format="json")
    locked = client.post("/api/v1/auth/token", {"username": "mary", "password": PASSWORD}, format="json")
    assert locked.status_code == 429  # the documented lock holds for the exact spelling

    variant = client.post("/api/v1/auth/token", {"username": "märy", "password": PASSWORD}, format="json")

    cache.clear()
    assert variant.status_code == 429, variant.content
    assert not Token.objects.filter(user=mary).exists()


# --- 5. A draft is posted with a dimension deactivated after it was recorded ------------------------


def test_a_draft_whose_cost_centre_was_deactivated_is_not_posted_to_it(admin_api):
    """dimensions/validation.py: documents must use "dimension values finance staff may still post
    to". Deactivating cc-hq while a draft uses it is accepted; changing the draft's description
    is then refused ("HQ Head office is inactive; choose an active cost centre") - yet
    POST transactions/{id}/post-accounting posts it (201) with GL lines on the inactive cc-hq."""
    ledger = ledger_setup()
    BankTransactionFactory(
        id="bt-cc", bank_account=ledger["op"], amount=Decimal("10.00"), cost_center=ledger["cc"]
    )
    deactivated = admin_api.patch(f"{DIMENSIONS}/cost-centers/cc-hq", {"is_active": False}, format="json")
    assert deactivated.status_code == 200, deactivated.content

    posted = admin_api.post(f"{BANKING}/transactions/bt-cc/post-accounting", {}, format="json")

    assert posted.status_code == 409, posted.content
    assert posted.json()["code"] == "inactive_value"
    assert 'cost centre "cc-hq" is inactive' in posted.json()["detail"].lower()
    assert not JournalEntry.objects.filter(cost_center_id="cc-hq").exists()
    assert BankTransaction.objects.get(pk="bt-cc").posting_status == PostingStatus.DRAFT


# --- 6. A posting rule can point at an inactive GL account -------------------------------------------


def test_a_posting_rule_cannot_be_created_with_an_inactive_contra_account(admin_api):
    """A rule whose contra account is inactive can never post: every document it covers answers
    409 account_inactive. The API (and the admin's form) accept it with 201 - PostingRule.clean
    checks only the scope - while documents refuse inactive dimensions and bank accounts."""
    ledger_setup()
    GLAccountFactory(id="gl-closed", code="9999", is_active=False)

    response = admin_api.post(
        f"{BANKING}/posting-rules",
        {"document_type": "fee", "bank_account_id": "ba-sav", "contra_account_id": "gl-closed"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "contra_account_id" in response.json()
    assert not PostingRule.objects.filter(contra_account_id="gl-closed").exists()


# --- 7. A hierarchy has a depth limit, and a deep one written before it still reports ------------


def _chain(levels, prefix="cc-l"):
    CostCenter.objects.bulk_create(
        [
            CostCenter(
                id=f"{prefix}{n}",
                code=f"{prefix}{n}",
                name=f"Level {n}",
                parent_id=f"{prefix}{n - 1}" if n else None,
            )
            for n in range(levels)
        ]
    )


def test_a_cost_centre_below_the_depth_limit_is_refused_naming_parent(admin_api):
    _chain(MAX_DEPTH)

    deeper = admin_api.post(
        f"{DIMENSIONS}/cost-centers",
        {"id": "cc-deep", "code": "DEEP", "name": "Deepest", "parent_id": f"cc-l{MAX_DEPTH - 1}"},
        format="json",
    )
    at_the_limit = admin_api.post(
        f"{DIMENSIONS}/cost-centers",
        {"id": "cc-last", "code": "LAST", "name": "Last", "parent_id": f"cc-l{MAX_DEPTH - 2}"},
        format="json",
    )

    assert deeper.status_code == 400, deeper.content
    assert f"at most {MAX_DEPTH} levels" in deeper.json()["parent_id"][0]
    assert not CostCenter.objects.filter(pk="cc-deep").exists()
    assert at_the_limit.status_code == 201, at_the_limit.content


def test_moving_a_subtree_below_the_depth_limit_is_refused(admin_api):
    _chain(MAX_DEPTH - 1)
    _chain(3, prefix="cc-sub")  # three levels under cc-sub0

    response = admin_api.patch(
        f"{DIMENSIONS}/cost-centers/cc-sub0", {"parent_id": f"cc-l{MAX_DEPTH - 3}"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "its children would not fit" in response.json()["parent_id"][0]
    assert CostCenter.objects.get(pk="cc-sub0").parent_id is None


def test_a_hierarchy_deeper_than_pythons_recursion_limit_still_reports(admin_api):
    # Written directly, as data from before the limit would be: the roll-up walks it without recursion.
    ledger = ledger_setup()
    _chain(1200)
    BankTransactionFactory(
        id="bt-deep", bank_account=ledger["op"], amount=Decimal("10.00"), cost_center_id="cc-l1199"
    )
    posted = admin_api.post(f"{BANKING}/transactions/bt-deep/post-accounting", {}, format="json")
    assert posted.status_code == 201, posted.content

    report = admin_api.get(f"{BANKING}/dimensional-analysis?bank_account_id=ba-op&period=2025-10")

    assert report.status_code == 200, report.content[:300]
    rows = {row["key"]: row for row in report.json()["by_dimension"]["cost_center"]}
    assert rows["cc-l0"]["level"] == 0 and rows["cc-l1199"]["level"] == 1199
    assert rows["cc-l0"]["total_inflow"] == rows["cc-l1199"]["inflow"] == "10.00"


# --- 8. An unrecognised is_active value is ignored: the list comes back unfiltered ------------------


@pytest.mark.parametrize("resource", ["cost-centers", "projects", "departments", "branches"])
def test_an_unrecognised_is_active_value_is_a_400_not_an_unfiltered_list(admin_api, resource):
    """GET .../cost-centers?is_active=no answers 200 with every value, active or not: django-filter's
    BooleanFilter turns anything but true/false/1/0 into "no filter". Other bad filter values
    (gl-accounts?account_type=zzz, periods?status=zzz) answer 400 naming the parameter."""
    CostCenterFactory(id="cc-on", code="ON")
    CostCenterFactory(id="cc-off", code="OFF", is_active=False)

    response = admin_api.get(f"{DIMENSIONS}/{resource}?is_active=no")

    assert response.status_code == 400, response.content
    assert response.json()["is_active"] == ['Use "true" or "false".']


def test_is_active_false_lists_only_the_inactive_values(admin_api):
    CostCenterFactory(id="cc-on", code="ON")
    CostCenterFactory(id="cc-off", code="OFF", is_active=False)

    response = admin_api.get(f"{DIMENSIONS}/cost-centers?is_active=false")

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == ["cc-off"]


def test_a_bank_account_cannot_be_opened_on_an_inactive_gl_account(admin_api):
    GLAccountFactory(id="gl-closed", code="9998", is_active=False)

    response = admin_api.post(
        f"{BANKING}/bank-accounts",
        {
            "id": "ba-new",
            "name": "New account",
            "bank_name": "Bank",
            "account_number": "123",
            "currency": "USD",
            "gl_account_id": "gl-closed",
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "inactive" in response.json()["gl_account_id"][0]
    assert not BankAccount.objects.filter(pk="ba-new").exists()


def test_a_bank_account_whose_gl_account_was_deactivated_can_still_be_renamed(admin_api):
    ledger_setup()
    GLAccount.objects.filter(pk="gl-bank-ba-op").update(is_active=False)

    response = admin_api.patch(f"{BANKING}/bank-accounts/ba-op", {"name": "Old operating"}, format="json")

    assert response.status_code == 200, response.content


def test_the_token_list_shows_only_the_start_of_each_key_and_a_new_key_once():
    # A key is its user: listed in full to anyone who may view tokens, one person could post as
    # another, past segregation of duties and the audit trail.
    holder = get_user_model().objects.create_user(username="key-holder")
    existing = Token.objects.create(user=holder)
    client = _web(_role_user("admin"))

    listed = client.get("/admin/authtoken/tokenproxy/")
    newcomer = get_user_model().objects.create_user(username="new-holder")
    added = client.post("/admin/authtoken/tokenproxy/add/", {"user": newcomer.pk}, follow=True)
    made = Token.objects.get(user=newcomer)
    listed_again = client.get("/admin/authtoken/tokenproxy/")

    assert listed.status_code == 200
    assert existing.key not in listed.content.decode()
    assert f"{existing.key[:6]}…" in listed.content.decode()
    assert added.status_code == 200
    assert made.key in html.unescape(added.content.decode())
    assert "it is not shown again" in html.unescape(added.content.decode())
    assert made.key not in listed_again.content.decode()
    # Nor does a token's own page, its deletion page or its history name it by its key.
    for page in ("change", "delete", "history"):
        shown = client.get(f"/admin/authtoken/tokenproxy/{holder.pk}/{page}/")
        assert shown.status_code == 200, page
        assert existing.key not in shown.content.decode(), page
        assert "API token of key-holder" in html.unescape(shown.content.decode()), page
