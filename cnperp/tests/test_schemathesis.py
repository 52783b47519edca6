"""Schemathesis against the WSGI app's own ``/api/schema``: every operation, as every role.

For each operation of the schema and each of the five roles (a real token on
the ``Authorization`` header), schemathesis generates requests, valid ones and
ones that break the schema, and sends them through the WSGI application, the
whole middleware stack included. Every answer must be no 5xx and must conform
to the schema: a documented status code, content type and body.

Bounded for CI: derandomized (the same requests every run), a few examples per
operation and role, no shrinking. ``SCHEMATHESIS_EXAMPLES`` raises the number
for a deeper local run. Runs on MariaDB (the production engine); on SQLite it
is skipped.
"""

import contextlib
import os
from decimal import Decimal

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from banking.tests.factories import (
    BankStatementFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    StatementLineFactory,
)
from banking.tests.posting_setup import ledger_setup
from cnperp import roles
from cnperp.wsgi import application

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema", application)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture
def wsgi_requests_share_the_test_transaction():
    """Keep the test's connection open across requests, as Django's own test client does.

    The WSGI handler closes connections it finds in a transaction at the start and
    end of each request; here that transaction is the test's, so it must live on.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(wsgi_requests_share_the_test_transaction):
    """A month of data to find, and a token per role."""
    ledger = ledger_setup()
    BankTransactionFactory(id="bt-1", bank_account=ledger["op"], amount=Decimal("100.00"))
    CashSubmissionFactory(id="cs-1", branch=ledger["branch"], bank_account=ledger["op"])
    FloatAllocationFactory(id="fa-1", branch=ledger["branch"], bank_account=ledger["op"])
    StatementLineFactory(id="sl-1", statement=BankStatementFactory(id="st-1", bank_account=ledger["op"]))
    answer = {}
    for role in roles.ROLES:
        user = get_user_model().objects.create_user(username=f"fuzz-{role}")
        user.groups.add(Group.objects.get(name=role))
        answer[role] = Token.objects.create(user=user).key
    return answer


def _strategy(operation):
    modes = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to negate
        modes.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return st.one_of(*modes)


def _send_as(strategy, key):
    """Return a Hypothesis test sending the examples of ``strategy`` with token ``key``."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": f"Token {key}"}, checks=CHECKS)

    return answers_as_documented


@pytest.mark.parametrize("label", list(OPERATIONS))
def test_every_operation_answers_as_its_schema_says_for_every_role(tokens, label):
    strategy = _strategy(OPERATIONS[label])
    for role, key in tokens.items():
        try:
            _send_as(strategy, key)()
        except Exception as exc:
            exc.add_note(f"as the {role}")
            raise
