"""The operations doors: manage.py commands, /metrics, settings from the environment.

- A setting the reader does not understand stops the start naming the variable:
  "maybe" used to read as off (segregation of duties off by a typo), "abc" failed
  with a traceback naming nothing, a bad throttle rate was a 500 on every request,
  and a negative or infinite threshold was taken.
- A period ending in a newline ("2025-10\n") is not a period: it used to pass the
  pattern and close a copy of the month that then blocked the real one.
- create_api_user makes only usernames the admin would accept; an empty option
  value is refused, not read as "not given" (--user "" posted as the service account).
- A made-up HTTP method does not grow a metrics series of its own.
"""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from prometheus_client.parser import text_string_to_metric_families

from accounting.choices import PeriodStatus
from accounting.models import AccountingPeriod
from accounting.tests.factories import AccountingPeriodFactory
from banking.tests.posting_setup import ledger_setup

ROOT = Path(__file__).resolve().parents[2]


# --- Settings from the environment --------------------------------------------------------------


def _settings_in_a_fresh_process(**environment):
    """Import cnperp.settings with ``environment`` on top of a clean production-like one."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "BANKING_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cnperp.settings",
        DJANGO_SECRET_KEY="review-settings-key",
        DATABASE_URL="sqlite:////tmp/cnperp-review-settings.sqlite3",
        **environment,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BANKING_RECONCILIATION_THRESHOLD", "x"),
        ("BANKING_VARIANCE_ALERT_THRESHOLD", "5,000.00"),
        ("DJANGO_LOGIN_LOCKOUT_FAILURES", "abc"),
        ("BANKING_STATEMENT_MAX_BYTES", "20MB"),
        ("DJANGO_PASSWORD_MIN_LENGTH", "twelve"),
        ("BACKUP_KEEP", "0"),
        ("DJANGO_LOG_LEVEL", "verbose"),
        ("DJANGO_TIME_ZONE", "Europe/Londn"),
        ("DJANGO_CACHE_URL", "memcache-ish://cache:11211"),
        # Out of the matcher's ranges: they stopped the first matcher run, not the start.
        ("BANKING_MATCH_DATE_WINDOW_DAYS", "91"),
        ("BANKING_MATCH_AUTO_CONFIRM_SCORE", "40"),
        ("BANKING_MATCH_AUTO_CONFIRM_SCORE", "101"),
        # Was a ValueError from the logging set-up naming a handler, not the variable.
        ("DJANGO_LOG_FORMAT", "xml"),
    ],
)
def test_a_malformed_setting_stops_startup_with_a_message_naming_the_variable(name, value):
    done = _settings_in_a_fresh_process(**{name: value})

    assert done.returncode != 0
    # The error itself (the last line), not merely a source line of the traceback, names the variable.
    assert name in _last_line(done.stderr), done.stderr[-600:]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BANKING_RECONCILIATION_THRESHOLD", "-1"),
        ("BANKING_RECONCILIATION_THRESHOLD", "NaN"),
        ("BANKING_VARIANCE_ALERT_THRESHOLD", "Infinity"),
        ("BANKING_VARIANCE_ALERT_THRESHOLD", "-5000"),
    ],
)
def test_a_negative_or_non_finite_money_threshold_is_refused_at_startup(name, value):
    done = _settings_in_a_fresh_process(**{name: value})

    assert done.returncode != 0, f"{name}={value} was accepted silently"
    assert name in _last_line(done.stderr)


@pytest.mark.parametrize(
    "name", ["DJANGO_DEBUG", "BANKING_SEGREGATION_OF_DUTIES", "DJANGO_SECURE_SSL_REDIRECT"]
)
def test_a_boolean_setting_that_is_neither_yes_nor_no_is_refused_not_read_as_off(name):
    # "maybe" (or a typo such as "ture") silently switches segregation of duties or the HTTPS redirect off.
    done = _settings_in_a_fresh_process(**{name: "maybe"})

    assert done.returncode != 0, f"{name}=maybe was read silently as off"
    assert name in _last_line(done.stderr)


@pytest.mark.parametrize(
    ("name", "value"), [("DJANGO_API_THROTTLE_ANON", "lots"), ("DJANGO_API_THROTTLE_USER", "100/fortnight")]
)
def test_a_malformed_throttle_rate_is_refused_at_startup_not_in_every_request(name, value):
    done = _settings_in_a_fresh_process(**{name: value})

    assert done.returncode != 0, f"{name}={value} was accepted; every API request would fail on it"
    assert name in _last_line(done.stderr)


@pytest.mark.parametrize(
    "environment",
    [
        {"DJANGO_DEBUG": "no", "BANKING_SEGREGATION_OF_DUTIES": "ON"},
        {"BANKING_RECONCILIATION_THRESHOLD": "0", "BANKING_VARIANCE_ALERT_THRESHOLD": " 250.50 "},
        {"DJANGO_API_THROTTLE_USER": "100/hour", "DJANGO_API_THROTTLE_ANON": "none"},
        {"DJANGO_LOGIN_LOCKOUT_FAILURES": "0", "BANKING_STATEMENT_MAX_BYTES": ""},
        {"DJANGO_TIME_ZONE": "Europe/London", "DJANGO_LOG_LEVEL": "WARNING", "BACKUP_KEEP": "1"},
        # Empty means the default, as for the switches and numbers.
        {"DJANGO_CACHE_URL": "", "DJANGO_TIME_ZONE": "", "DJANGO_ALLOWED_HOSTS": "", "BACKUP_DIR": ""},
    ],
)
def test_settings_in_the_documented_forms_start(environment):
    done = _settings_in_a_fresh_process(**environment)

    assert done.returncode == 0, done.stderr[-600:]


# --- manage.py commands --------------------------------------------------------------------------


def _command(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_close_period_with_a_trailing_newline_does_not_close_a_ghost_copy_of_the_month():
    # No period row yet: close_period creates the month closed (accounting_period_close).
    with pytest.raises(CommandError):
        _command("close_period", "2025-10\n")

    # Today it prints "Period 2025-10\n closed (2025-10-01 to 2025-10-31)." and stores a period
    # whose id is "2025-10\n": the real 2025-10 is not closed, and postings into October still go through.
    # The ghost also holds October's dates (unique start_date), so the real 2025-10 can no longer be
    # created or closed (AttributeError), and drafts dated in October are left unposted.
    assert not AccountingPeriod.objects.exclude(id__in=["2025-10"]).exists()


@pytest.mark.django_db
def test_close_period_with_a_trailing_newline_on_an_existing_month_is_a_command_error_not_a_traceback():
    AccountingPeriodFactory(id="2025-10")

    # Today: AttributeError 'NoneType' object has no attribute 'status' (accounting/services.py:570).
    with pytest.raises(CommandError):
        _command("close_period", "2025-10\n")
    assert AccountingPeriod.objects.get(id="2025-10").status == PeriodStatus.OPEN


@pytest.mark.django_db
def test_reconcile_with_a_period_with_a_trailing_newline_is_a_command_error_not_a_traceback():
    ledger_setup()
    AccountingPeriodFactory(id="2025-10")

    with pytest.raises(CommandError, match="period"):
        _command("reconcile", "--account", "ba-op", "--period", "2025-10\n")


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["x" * 151, "bob\x00", "bob smith"], ids=["151-chars", "nul", "space"])
def test_create_api_user_refuses_a_username_django_would_not_accept(username):
    with pytest.raises(CommandError):
        _command("create_api_user", username)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [("variance_alerts", "--period", ""), ("post_transactions", "--all-drafts", "--user", "")],
    ids=["variance_alerts-period", "post_transactions-user"],
)
def test_an_empty_option_value_is_refused_not_read_as_the_default(args):
    ledger_setup()
    with pytest.raises(CommandError):
        _command(*args)


# --- /metrics ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_do_not_grow_a_series_for_every_made_up_http_method(client):
    made_up = [f"XMETHOD{number}" for number in range(20)]
    for method in made_up:
        client.generic(method, "/health")

    body = client.get("/metrics").content.decode()
    methods = {
        sample.labels["method"]
        for family in text_string_to_metric_families(body)
        if family.name == "cnperp_http_requests"
        for sample in family.samples
    }
    # Any client picks the method: each made-up one is a new time series for ever (and a new
    # entry in every worker's multiprocess file). They should fold into one label, e.g. "other".
    assert not methods & set(made_up), sorted(methods & set(made_up))[:5]
