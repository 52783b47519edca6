"""The accounting posting service: balanced lines only, dimensions on every line, all or nothing, final."""

import datetime
from decimal import Decimal

import pytest

from accounting import services
from accounting.choices import PeriodStatus, SourceType
from accounting.models import (
    AccountingPeriod,
    DimensionAssignment,
    JournalEntry,
    JournalPosting,
    PostedRecordIsFinal,
)
from accounting.services import Line, journal_posting_create, journal_posting_reverse
from accounting.tests.factories import AccountingPeriodFactory, GLAccountFactory, UserFactory
from cnperp.exceptions import ConflictError, DomainError
from dimensions.tests.factories import CostCenterFactory, ProjectFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 10, 15)


@pytest.fixture
def accounts():
    return GLAccountFactory(id="gl-bank", code="1100"), GLAccountFactory(id="gl-sales", code="4000")


@pytest.fixture
def user():
    return UserFactory(username="poster")


def _post(user, lines, *, source_id="man-1", day=DAY):
    return journal_posting_create(
        source_type=SourceType.MANUAL,
        source_id=source_id,
        entry_date=day,
        lines=lines,
        posted_by=user,
        description="Test posting",
    )


def _balanced(amount="10.00", **dims):
    return [
        Line(account_id="gl-bank", debit=Decimal(amount), **dims),
        Line(account_id="gl-sales", credit=Decimal(amount), **dims),
    ]


def test_a_balanced_posting_writes_header_lines_and_three_assignments_per_line(accounts, user):
    cost_center, project = CostCenterFactory(id="cc-1"), ProjectFactory(id="prj-1")

    posting = _post(user, _balanced(cost_center_id="cc-1", project_id="prj-1"))

    assert posting.reference == "MJ-man-1"
    assert posting.period_id == "2025-10"
    lines = list(posting.lines.order_by("line_number"))
    assert [(line.debit, line.credit) for line in lines] == [
        (Decimal("10.00"), Decimal("0.00")),
        (Decimal("0.00"), Decimal("10.00")),
    ]
    assert {line.reference for line in lines} == {"MJ-man-1"}
    assert all(line.cost_center == cost_center and line.project == project for line in lines)
    rows = DimensionAssignment.objects.filter(journal_entry__posting=posting)
    assert rows.count() == 6
    assert (
        rows.filter(dimension_type="department", department__isnull=True).count() == 2
    )  # explicit unassigned


def test_a_missing_period_is_created_open(accounts, user):
    assert not AccountingPeriod.objects.filter(pk="2026-02").exists()
    _post(user, _balanced(), day=datetime.date(2026, 2, 28))
    period = AccountingPeriod.objects.get(pk="2026-02")
    assert period.status == PeriodStatus.OPEN
    assert (period.start_date, period.end_date) == (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [Line("gl-bank", debit=Decimal("10.00")), Line("gl-sales", credit=Decimal("9.99"))],
            "do not balance",
        ),
        ([Line("gl-bank", debit=Decimal("10.00"))], "at least two lines"),
        ([Line("gl-bank"), Line("gl-sales")], "never zero"),
        ([Line("gl-bank", debit=Decimal("-5")), Line("gl-sales", credit=Decimal("-5"))], "negative"),
        (
            [Line("gl-bank", debit=Decimal("5"), credit=Decimal("5")), Line("gl-sales", credit=Decimal("0"))],
            "never both",
        ),
        ([Line("gl-bank", debit=10.0), Line("gl-sales", credit=10.0)], "Decimal, not float"),
        ([Line("gl-bank", debit=Decimal("1.005")), Line("gl-sales", credit=Decimal("1.005"))], "two decimal"),
        ([Line("gl-bank", debit=Decimal("NaN")), Line("gl-sales", credit=Decimal("1"))], "finite"),
        ([Line("gl-nope", debit=Decimal("1")), Line("gl-sales", credit=Decimal("1"))], "does not exist"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(accounts, user, lines, message):
    with pytest.raises(DomainError, match=message) as caught:
        _post(user, lines)
    assert caught.value.field == "lines"
    assert not JournalPosting.objects.exists()
    assert not JournalEntry.objects.exists()


def test_an_inactive_account_is_refused(accounts, user):
    accounts[1].is_active = False
    accounts[1].save()
    with pytest.raises(DomainError, match="inactive"):
        _post(user, _balanced())


def test_a_closed_period_is_refused_naming_it(accounts, user):
    AccountingPeriodFactory(id="2025-10", status=PeriodStatus.CLOSED)
    with pytest.raises(ConflictError, match="2025-10"):
        _post(user, _balanced())
    assert not JournalEntry.objects.exists()


def test_an_error_after_the_first_gl_lines_leaves_nothing_behind(accounts, user, monkeypatch):
    # Given a failure injected in the step after the header and the GL lines are written.
    written = {}

    def fail_after_lines(assignments):
        written["lines"] = JournalEntry.objects.count()
        written["postings"] = JournalPosting.objects.count()
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_assignments_write", fail_after_lines)

    # When a posting is made, then it fails...
    with pytest.raises(RuntimeError, match="disk full"):
        _post(user, _balanced())

    # ... after its lines had reached the database, and none of them is left.
    assert written == {"lines": 2, "postings": 1}
    assert not JournalPosting.objects.exists()
    assert not JournalEntry.objects.exists()
    assert not DimensionAssignment.objects.exists()


def test_a_second_posting_of_the_same_source_breaks_the_unique_constraint(accounts, user):
    from django.db import IntegrityError

    _post(user, _balanced())
    with pytest.raises(IntegrityError):
        _post(user, _balanced())
    assert JournalPosting.objects.count() == 1


def test_a_reversal_mirrors_the_lines_and_leaves_the_original_untouched(accounts, user):
    CostCenterFactory(id="cc-1")
    original = _post(user, _balanced("42.10", cost_center_id="cc-1"))
    before = list(JournalEntry.objects.filter(posting=original).values())

    reversal = journal_posting_reverse(
        posting=original, reversal_date=datetime.date(2025, 11, 3), reason="Duplicate", posted_by=user
    )

    assert reversal.reference == "MJ-man-1-REV"
    assert reversal.reverses == original
    assert reversal.period_id == "2025-11"
    mirrored = list(reversal.lines.order_by("line_number"))
    assert [(line.account_id, line.debit, line.credit, line.cost_center_id) for line in mirrored] == [
        ("gl-bank", Decimal("0.00"), Decimal("42.10"), "cc-1"),
        ("gl-sales", Decimal("42.10"), Decimal("0.00"), "cc-1"),
    ]
    assert [line.reversal_of_id for line in mirrored] == [
        line["id"] for line in sorted(before, key=lambda row: row["line_number"])
    ]
    assert list(JournalEntry.objects.filter(posting=original).values()) == before
    with pytest.raises(ConflictError, match="already been reversed"):
        journal_posting_reverse(posting=original, reversal_date=DAY, reason="Again", posted_by=user)


@pytest.mark.parametrize(
    ("day", "reason", "field"),
    [
        (datetime.date(2025, 10, 1), "Too early", "reversal_date"),
        (DAY, "", "reason"),
        ("2025-10-20", "A string date", "reversal_date"),
    ],
)
def test_a_bad_reversal_is_refused_naming_the_field(accounts, user, day, reason, field):
    original = _post(user, _balanced())
    with pytest.raises(DomainError) as caught:
        journal_posting_reverse(posting=original, reversal_date=day, reason=reason, posted_by=user)
    assert caught.value.field == field
    assert JournalPosting.objects.count() == 1


def test_posted_rows_cannot_be_changed_or_deleted_through_the_orm(accounts, user):
    posting = _post(user, _balanced())
    line = posting.lines.first()
    assignment = line.dimension_assignments.first()

    line.debit = Decimal("99.00")
    for attempt in (
        line.save,
        line.delete,
        posting.save,
        posting.delete,
        assignment.save,
        assignment.delete,
        lambda: JournalEntry.objects.filter(pk=line.pk).update(debit=Decimal("1.00")),
        lambda: JournalEntry.objects.all().delete(),
        lambda: JournalPosting.objects.all().delete(),
        lambda: DimensionAssignment.objects.all().update(cost_center=None),
    ):
        with pytest.raises(PostedRecordIsFinal):
            attempt()
    assert JournalEntry.objects.get(pk=line.pk).debit == Decimal("10.00")
    assert JournalEntry.objects.count() == 2
