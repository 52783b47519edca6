"""Two people moving records of a hierarchy at the same instant cannot close a loop in it.

Cost centres (and the other dimensions) and GL accounts have a parent. The
check that a record is not its own ancestor reads the chain before the write:
"A under B" and "B under A", saved together, each passed it and the roll-ups
then walked a loop. A move now locks the record and its new parent's chain and
checks again as it stands (``cnperp.hierarchy``), so the second move waits for
the first and is refused, naming ``parent``: 400 over the API, the message on
the admin's form. On MariaDB, with real threads and connections.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from accounting.models import GLAccount
from accounting.tests.factories import GLAccountFactory, UserFactory
from cnperp.records import record_update
from cnperp.tests.api import client_for
from cnperp.tests.threads import started
from dimensions.models import MAX_DEPTH, CostCenter
from dimensions.tests.factories import CostCenterFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]

# model, its API, its admin pages, its loop message, the rest of h-b's admin form
HIERARCHIES = {
    "cost centres": (
        CostCenter,
        "/api/v1/dimensions/cost-centers",
        "/admin/dimensions/costcenter",
        "A dimension cannot be its own ancestor.",
        {"code": "B", "name": "Beta", "is_active": "on", "description": ""},
    ),
    "GL accounts": (
        GLAccount,
        "/api/v1/accounting/gl-accounts",
        "/admin/accounting/glaccount",
        "A GL account cannot be its own ancestor.",
        {"code": "1002", "name": "Beta", "account_type": "asset", "is_active": "on", "description": ""},
    ),
}


@pytest.fixture(params=sorted(HIERARCHIES))
def hierarchy(request):
    """h-a and h-b, side by side at the top of the hierarchy."""
    model = HIERARCHIES[request.param][0]
    if model is CostCenter:
        CostCenterFactory(id="h-a", code="A", name="Alpha")
        CostCenterFactory(id="h-b", code="B", name="Beta")
    else:
        GLAccountFactory(id="h-a", code="1001", name="Alpha", account_type="asset")
        GLAccountFactory(id="h-b", code="1002", name="Beta", account_type="asset")
    return HIERARCHIES[request.param]


def _first_move_held_open(model, proceed, parent="h-b"):
    """Move h-a under ``parent`` in a transaction held open until ``proceed`` is set."""
    moved = threading.Event()

    def run():
        try:
            with transaction.atomic():
                record_update(model=model, pk="h-a", user=None, parent=model.objects.get(pk=parent))
                moved.set()
                proceed.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert moved.wait(timeout=30)
    return thread


def _release_once_waiting(proceed):
    """Let the first move commit once another connection's statement has waited 0.1 s on it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # The first move's connection sleeps in its open transaction: a running statement is
            # the second writer's, waiting on its locks (a lock, or an insert's check of its parent).
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                " WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND TIME_MS > 100"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.02)
    else:
        proceed.set()
        pytest.fail("the second writer never waited for the first move")
    proceed.set()


def _run_race(model, second_move, proceed, parent="h-b"):
    first = _first_move_held_open(model, proceed, parent)
    second, outcome = started(second_move)
    _release_once_waiting(proceed)
    first.join(timeout=30)
    second.join(timeout=30)
    response = outcome["result"]
    assert not isinstance(response, Exception), response
    return response


def _parents(model):
    return dict(model.objects.filter(pk__in=["h-a", "h-b"]).values_list("pk", "parent_id"))


def test_the_api_refuses_the_move_that_would_close_a_loop(hierarchy):
    model, api_url, _admin_url, loop, _form = hierarchy
    api = client_for(UserFactory(username="second", is_superuser=True, is_staff=True))

    response = _run_race(
        model,
        lambda: api.patch(f"{api_url}/h-b", {"parent_id": "h-a"}, format="json"),
        threading.Event(),
    )

    assert response.status_code == 400, response.content
    assert loop in str(response.json()["parent_id"])
    assert _parents(model) == {"h-a": "h-b", "h-b": None}


def test_the_admin_refuses_the_move_that_would_close_a_loop(hierarchy):
    model, _api_url, admin_url, loop, form = hierarchy
    browser = Client()
    browser.force_login(UserFactory(username="second", is_superuser=True, is_staff=True))

    response = _run_race(
        model,
        lambda: browser.post(f"{admin_url}/h-b/change/", {"id": "h-b", "parent": "h-a", **form}),
        threading.Event(),
    )

    assert response.status_code == 200  # the form again, not a redirect to the list
    assert loop in response.content.decode()
    assert _parents(model) == {"h-a": "h-b", "h-b": None}


def test_a_new_value_under_a_chain_moved_at_that_instant_is_held_to_the_depth_limit():
    # Given a chain of 19 cost centres, and h-a alone at the top
    parent = None
    for level in range(1, MAX_DEPTH):
        parent = CostCenterFactory(id=f"h-{level:02}", code=f"L{level:02}", parent=parent)
    CostCenterFactory(id="h-a", code="A", name="Alpha")
    api = client_for(UserFactory(username="second", is_superuser=True, is_staff=True))

    # When h-a moves to the chain's foot (its 20th level, the last), while a child is added
    # under h-a (one level below the top when its form was sent)
    response = _run_race(
        CostCenter,
        lambda: api.post(
            "/api/v1/dimensions/cost-centers",
            {"id": "h-child", "code": "CHILD", "name": "Child", "parent_id": "h-a"},
            format="json",
        ),
        threading.Event(),
        parent="h-19",
    )

    # Then the child waits for the move and is refused: it would be the 21st level
    assert response.status_code == 400, response.content
    assert f"at most {MAX_DEPTH} levels" in str(response.json()["parent_id"]), response.json()
    assert not CostCenter.objects.filter(pk="h-child").exists()
    assert CostCenter.objects.get(pk="h-a").parent_id == "h-19"
