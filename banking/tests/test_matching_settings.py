"""The matcher's tolerances come from the environment, through cnperp/settings.py."""

import datetime
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from accounting.tests.factories import AccountingPeriodFactory
from banking.choices import LineMatchStatus, MatchStatus
from banking.matching import match_run
from banking.models import ReconciliationMatch, StatementLine
from banking.tests.factories import (
    BankAccountFactory,
    BankStatementFactory,
    BankTransactionFactory,
    StatementLineFactory,
)

ROOT = Path(__file__).resolve().parents[2]
READ_SETTINGS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(repr(settings.BANKING_MATCH_DATE_WINDOW_DAYS), repr(settings.BANKING_MATCH_AUTO_CONFIRM_SCORE))"
)


def settings_in_a_fresh_process(**environment):
    env = {key: value for key, value in os.environ.items() if not key.startswith("BANKING_MATCH_")}
    env.update(DJANGO_SETTINGS_MODULE="cnperp.settings", DJANGO_SECRET_KEY="settings-test-key", **environment)
    done = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_defaults_are_a_five_day_window_and_a_score_of_90():
    assert settings_in_a_fresh_process() == "5 Decimal('90')"


def test_the_environment_sets_the_window_and_the_score():
    found = settings_in_a_fresh_process(
        BANKING_MATCH_DATE_WINDOW_DAYS="2", BANKING_MATCH_AUTO_CONFIRM_SCORE="95.5"
    )
    assert found == "2 Decimal('95.5')"


# --- What they change, and what they refuse ---------------------------------------------


@pytest.fixture
def acme_pair(db):
    """The same 250.00 from ACME two days apart: 98 points, confirmed at the default score."""
    AccountingPeriodFactory(id="2025-10")
    account = BankAccountFactory(id="ba-op")
    statement = BankStatementFactory(bank_account=account)
    BankTransactionFactory(
        bank_account=account,
        amount=Decimal("250.00"),
        counterparty_name="ACME Ltd",
        transaction_date=datetime.date(2025, 10, 8),
    )
    return StatementLineFactory(
        statement=statement,
        amount=Decimal("250.00"),
        counterparty_name="ACME LIMITED",
        booking_date=datetime.date(2025, 10, 10),
    )


@override_settings(BANKING_MATCH_AUTO_CONFIRM_SCORE=Decimal("99"))
def test_a_pair_below_the_auto_confirm_score_stays_a_suggestion(acme_pair):
    match_run(bank_account_id="ba-op", period="2025-10")

    match = ReconciliationMatch.objects.get(statement_line=acme_pair)
    assert (match.status, match.score) == (MatchStatus.SUGGESTED, Decimal("98.00"))
    acme_pair.refresh_from_db()
    assert acme_pair.match_status == LineMatchStatus.SUGGESTED


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BANKING_MATCH_DATE_WINDOW_DAYS", -1),
        ("BANKING_MATCH_DATE_WINDOW_DAYS", 365),
        ("BANKING_MATCH_DATE_WINDOW_DAYS", "5"),
        ("BANKING_MATCH_AUTO_CONFIRM_SCORE", Decimal("101")),
        ("BANKING_MATCH_AUTO_CONFIRM_SCORE", Decimal("20")),
        ("BANKING_MATCH_AUTO_CONFIRM_SCORE", "ninety"),
    ],
)
def test_a_setting_out_of_range_is_refused_by_name_and_nothing_is_matched(acme_pair, name, value):
    with override_settings(**{name: value}), pytest.raises(ImproperlyConfigured, match=name):
        match_run(bank_account_id="ba-op", period="2025-10")

    assert not ReconciliationMatch.objects.exists()
    assert StatementLine.objects.get().match_status == LineMatchStatus.UNMATCHED
