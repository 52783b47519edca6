"""Closing and reopening periods, through the services and the commands."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounting.choices import PeriodStatus, SourceType
from accounting.models import AccountingPeriod, JournalPosting
from accounting.services import (
    Line,
    accounting_period_close,
    accounting_period_reopen,
    journal_posting_create,
)
from accounting.tests.factories import AccountingPeriodFactory, GLAccountFactory, UserFactory
from cnperp.exceptions import ConflictError, DomainError, NotFoundError

pytestmark = pytest.mark.django_db


def _command(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _post(user, day):
    GLAccountFactory(id="gl-a", code="1")
    GLAccountFactory(id="gl-b", code="2")
    return journal_posting_create(
        source_type=SourceType.MANUAL,
        source_id=f"man-{day}",
        entry_date=day,
        lines=[Line("gl-a", debit=Decimal("1.00")), Line("gl-b", credit=Decimal("1.00"))],
        posted_by=user,
    )


def test_close_then_nothing_posts_then_reopen_and_it_posts():
    user = UserFactory(username="controller")
    AccountingPeriodFactory(id="2025-10")

    period = accounting_period_close(period_id="2025-10", user=user)
    assert period.status == PeriodStatus.CLOSED
    assert period.closed_by == user
    assert period.closed_at is not None
    with pytest.raises(ConflictError, match="2025-10"):
        _post(user, datetime.date(2025, 10, 31))

    accounting_period_reopen(period_id="2025-10", user=user)
    assert AccountingPeriod.objects.get(pk="2025-10").closed_at is None
    _post(user, datetime.date(2025, 10, 31))
    assert JournalPosting.objects.count() == 1


def test_closing_a_month_without_a_period_row_creates_it_closed():
    period = accounting_period_close(period_id="2024-02", user=UserFactory())
    assert (period.start_date, period.end_date, period.status) == (
        datetime.date(2024, 2, 1),
        datetime.date(2024, 2, 29),
        PeriodStatus.CLOSED,
    )


def test_closing_twice_and_reopening_an_open_period_are_conflicts():
    user = UserFactory()
    AccountingPeriodFactory(id="2025-10")
    accounting_period_close(period_id="2025-10", user=user)
    with pytest.raises(ConflictError, match="already closed"):
        accounting_period_close(period_id="2025-10", user=user)
    accounting_period_reopen(period_id="2025-10", user=user)
    with pytest.raises(ConflictError, match="already open"):
        accounting_period_reopen(period_id="2025-10", user=user)


@pytest.mark.parametrize("code", ["2025-13", "2025-1", "October", "", "2025-10-01"])
def test_a_bad_period_code_is_refused_naming_the_field(code):
    with pytest.raises(DomainError) as caught:
        accounting_period_close(period_id=code, user=UserFactory())
    assert caught.value.field == "period"


def test_reopening_an_unknown_period_is_not_found():
    with pytest.raises(NotFoundError):
        accounting_period_reopen(period_id="2030-01", user=UserFactory())


def test_the_close_and_reopen_commands():
    AccountingPeriodFactory(id="2025-10")
    assert "Period 2025-10 closed" in _command("close_period", "2025-10")
    period = AccountingPeriod.objects.get(pk="2025-10")
    assert period.status == PeriodStatus.CLOSED
    assert period.closed_by.username == "system-posting"
    assert not period.closed_by.is_active  # the service account cannot sign in
    assert "Period 2025-10 reopened" in _command("reopen_period", "2025-10")
    assert AccountingPeriod.objects.get(pk="2025-10").status == PeriodStatus.OPEN


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["close_period", "2025/10"], "not a period"),
        (["reopen_period", "2031-05"], "does not exist"),
        (["close_period", "2025-10", "--user", "nobody"], "nobody"),
    ],
)
def test_the_period_commands_refuse_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        _command(*args)


def test_closing_an_already_closed_period_by_command_fails():
    AccountingPeriodFactory(id="2025-10", status=PeriodStatus.CLOSED)
    with pytest.raises(CommandError, match="already closed"):
        _command("close_period", "2025-10")
