"""On MariaDB the database itself refuses UPDATE and DELETE of posted ledger rows."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from accounting.choices import SourceType
from accounting.services import Line, journal_posting_create
from accounting.tests.factories import GLAccountFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.mariadb]


@pytest.fixture
def posting():
    GLAccountFactory(id="gl-a", code="1")
    GLAccountFactory(id="gl-b", code="2")
    return journal_posting_create(
        source_type=SourceType.MANUAL,
        source_id="man-trigger",
        entry_date=datetime.date(2025, 10, 15),
        lines=[Line("gl-a", debit=Decimal("5.00")), Line("gl-b", credit=Decimal("5.00"))],
        posted_by=UserFactory(),
    )


def _run(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("UPDATE journal_entries SET debit = 6 WHERE posting_id = %s AND debit > 0", "journal_entries"),
        ("DELETE FROM journal_entries WHERE posting_id = %s", "journal_entries"),
        ("UPDATE journal_postings SET description = 'x' WHERE id = %s", "journal_postings"),
        ("DELETE FROM journal_postings WHERE id = %s", "journal_postings"),
        (
            "UPDATE dimension_assignments SET cost_center_id = NULL WHERE journal_entry_id IN "
            "(SELECT id FROM journal_entries WHERE posting_id = %s)",
            "dimension_assignments",
        ),
        (
            "DELETE FROM dimension_assignments WHERE journal_entry_id IN "
            "(SELECT id FROM journal_entries WHERE posting_id = %s)",
            "dimension_assignments",
        ),
    ],
)
def test_raw_update_and_delete_of_posted_rows_fail(posting, sql, table):
    with pytest.raises(DatabaseError, match=f"{table} rows are posted and final"), transaction.atomic():
        _run(sql, [posting.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(debit), COUNT(*) FROM journal_entries WHERE posting_id = %s", [posting.pk])
        assert cursor.fetchone() == (Decimal("5.00"), 2)


def test_the_triggers_are_installed_for_both_verbs_on_the_three_tables():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_object_table, event_manipulation FROM information_schema.triggers "
            "WHERE trigger_schema = DATABASE() AND trigger_name LIKE %s ORDER BY 1, 2",
            ["%\\_no\\_%"],
        )
        rows = cursor.fetchall()
    assert set(rows) == {
        (table, verb)
        for table in ("dimension_assignments", "journal_entries", "journal_postings")
        for verb in ("DELETE", "UPDATE")
    }


def test_the_operator_escape_hatch_works_only_in_the_session_that_sets_it(posting):
    # Given a session that sets the maintenance variable, its DELETE goes through.
    try:
        _run("SET @cnperp_ledger_maintenance = 1")
        with transaction.atomic():
            _run("UPDATE journal_postings SET description = 'maintenance' WHERE id = %s", [posting.pk])
    finally:
        _run("SET @cnperp_ledger_maintenance = NULL")
    # When it is unset again, the triggers refuse as before.
    with pytest.raises(DatabaseError), transaction.atomic():
        _run("UPDATE journal_postings SET description = 'x' WHERE id = %s", [posting.pk])
