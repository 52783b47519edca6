"""Tamper evidence: each posting is sealed to the one before; verify_ledger finds a change made in SQL."""

import datetime
import importlib
import itertools
import threading
import types
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from accounting.choices import SourceType
from accounting.ledger_chain import GENESIS_HASH, ledger_verify, posting_content, seal_hash
from accounting.models import JournalEntry, JournalPosting, LedgerChainHead
from accounting.services import (
    Line,
    PostingRequest,
    journal_posting_create,
    journal_posting_reverse,
    journal_postings_create_many,
)
from accounting.tests.factories import GLAccountFactory, JournalEntryFactory, UserFactory
from dimensions.tests.factories import CostCenterFactory, DepartmentFactory, ProjectFactory

OCTOBER = datetime.date(2025, 10, 15)
NOVEMBER = datetime.date(2025, 11, 4)


def _ledger():
    GLAccountFactory(id="gl-bank", code="1100")
    GLAccountFactory(id="gl-sales", code="4000")
    CostCenterFactory(id="cc-hq")
    CostCenterFactory(id="cc-ops")
    ProjectFactory(id="prj-roll")
    DepartmentFactory(id="dep-fin")
    return UserFactory(username="poster")


def _lines(amount, **dims):
    return [
        Line(account_id="gl-bank", debit=Decimal(amount), **dims),
        Line(account_id="gl-sales", credit=Decimal(amount), **dims),
    ]


def _post(user, source_id, amount="100.00", day=OCTOBER, **dims):
    return journal_posting_create(
        source_type=SourceType.MANUAL,
        source_id=source_id,
        entry_date=day,
        lines=_lines(amount, **dims),
        posted_by=user,
        description=f"Posting {source_id}",
    )


@pytest.fixture
def ledger(db):
    """Five postings: three in October (with dimensions), a reversal, one in November."""
    user = _ledger()
    first = _post(user, "man-1", "100.00", cost_center_id="cc-hq", project_id="prj-roll")
    _post(user, "man-2", "250.75", cost_center_id="cc-ops", department_id="dep-fin")
    third = _post(user, "man-3", "19.99")
    journal_posting_reverse(posting=first, reversal_date=OCTOBER, reason="Wrong account", posted_by=user)
    _post(user, "man-4", "42.00", day=NOVEMBER)
    return {"user": user, "first": first, "third": third}


def _tamper(sql, params=()):
    """Change the ledger behind the application's back, as an intruder with SQL access would.

    On MariaDB the triggers refuse it (rule 2); the operators' maintenance
    variable lets this session through, and is cleared right after.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SET @cnperp_ledger_maintenance = 1")
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "mysql":
                cursor.execute("SET @cnperp_ledger_maintenance = NULL")


def _verify(*args):
    out = StringIO()
    call_command("verify_ledger", *args, stdout=out)
    return out.getvalue()


def _failure(*args):
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_ledger", *args, stdout=out)
    assert raised.value.returncode == 1
    return str(raised.value), out.getvalue()


def test_every_posting_is_sealed_in_order_to_the_one_before(ledger):
    postings = list(JournalPosting.objects.order_by("chain_sequence"))

    assert [p.chain_sequence for p in postings] == [1, 2, 3, 4, 5]
    assert postings[0].previous_hash == GENESIS_HASH
    for before, after in itertools.pairwise(postings):
        assert after.previous_hash == before.chain_hash
    assert all(len(p.chain_hash) == 64 for p in postings)
    head = LedgerChainHead.objects.get()
    assert (head.last_sequence, head.last_hash) == (5, postings[-1].chain_hash)


def test_a_seal_covers_amounts_accounts_and_dimensions():
    header = {
        "id": "jp-1",
        "reference": "MJ-1",
        "source_type": "manual",
        "source_id": "1",
        "purpose": "post",
        "entry_date": OCTOBER,
        "period_id": "2025-10",
        "description": "",
        "reverses_id": None,
        "reason": "",
        "posted_by_id": 1,
        "posted_at": datetime.datetime(2025, 10, 15, 9, 30, tzinfo=datetime.UTC),
    }
    line = {
        "id": "je-1",
        "line_number": 1,
        "reference": "MJ-1",
        "entry_date": OCTOBER,
        "period_id": "2025-10",
        "account_id": "gl-bank",
        "debit": Decimal("10.00"),
        "credit": Decimal("0.00"),
        "description": "",
        "source_type": "manual",
        "source_id": "1",
        "posted_by_id": 1,
        "posted_at": "2025-10-15 09:30:00",
        "reversal_of_id": None,
        "cost_center_id": "cc-hq",
        "project_id": None,
        "department_id": None,
    }
    unassigned = {"project_id": None, "department_id": None}
    assignments = {"je-1": [{"dimension_type": "cost_center", "cost_center_id": "cc-hq", **unassigned}]}
    sealed = seal_hash(GENESIS_HASH, posting_content(header, [line], assignments))

    # The same content, however it is typed (0 or 0.00, text or aware time), gives the same seal,
    same = {**line, "credit": 0, "posted_at": datetime.datetime(2025, 10, 15, 9, 30, tzinfo=datetime.UTC)}
    assert seal_hash(GENESIS_HASH, posting_content(header, [same], assignments)) == sealed
    # and any change of amount, account or dimension, or of the seal before, gives another.
    for changed in ({"debit": Decimal("10.01")}, {"account_id": "gl-sales"}, {"cost_center_id": "cc-ops"}):
        assert seal_hash(GENESIS_HASH, posting_content(header, [{**line, **changed}], assignments)) != sealed
    assert seal_hash(GENESIS_HASH, posting_content(header, [line], {})) != sealed
    assert seal_hash("1" * 64, posting_content(header, [line], assignments)) != sealed


def test_a_clean_ledger_verifies(ledger):
    out = _verify()

    assert "Verified 5 posting(s): every seal matches." in out
    assert ledger_verify().ok


def test_a_balanced_change_of_amounts_in_sql_is_found_though_the_ledger_still_balances(ledger):
    # Given someone raises both lines of a posting by the same amount, directly in SQL,
    _tamper(
        "UPDATE journal_entries SET debit = debit + 1000 WHERE posting_id = %s AND debit > 0",
        [ledger["third"].pk],
    )
    _tamper(
        "UPDATE journal_entries SET credit = credit + 1000 WHERE posting_id = %s AND credit > 0",
        [ledger["third"].pk],
    )
    # (the balance check cannot see it: the posting still balances),
    call_command("check_gl_balance", stdout=StringIO())

    # when the ledger is verified, the posting is named and the command exits 1.
    message, out = _failure()
    assert "Posting MJ-man-3" in message
    assert f"id {ledger['third'].pk}, sequence 3, period 2025-10" in message
    assert "no longer matches its seal" in message
    assert "1 problem(s)" in out


def test_a_deleted_line_is_found(ledger):
    line = JournalEntry.objects.filter(posting=ledger["third"]).order_by("line_number").last()
    _tamper("DELETE FROM dimension_assignments WHERE journal_entry_id = %s", [line.pk])
    _tamper("DELETE FROM journal_entries WHERE id = %s", [line.pk])

    message, _out = _failure()

    assert "Posting MJ-man-3" in message


def test_a_dimension_moved_to_another_cost_centre_is_found(ledger):
    _tamper(
        "UPDATE dimension_assignments SET cost_center_id = 'cc-ops' WHERE cost_center_id = 'cc-hq' "
        "AND journal_entry_id IN (SELECT id FROM journal_entries WHERE posting_id = %s)",
        [ledger["first"].pk],
    )

    message, _out = _failure()

    assert "Posting MJ-man-1 " in message


def test_a_deleted_posting_leaves_a_gap_that_names_the_one_after(ledger):
    posting = JournalPosting.objects.get(chain_sequence=2)
    _tamper(
        "DELETE FROM dimension_assignments WHERE journal_entry_id IN "
        "(SELECT id FROM journal_entries WHERE posting_id = %s)",
        [posting.pk],
    )
    _tamper("DELETE FROM journal_entries WHERE posting_id = %s", [posting.pk])
    _tamper("DELETE FROM journal_postings WHERE id = %s", [posting.pk])

    message, _out = _failure()

    assert "Posting MJ-man-3 " in message
    assert "follows a posting that is missing (sequence 2)" in message


def test_a_rewritten_seal_breaks_the_link_to_the_next_posting(ledger):
    # Someone changes a line and recomputes that posting's seal to match, but not the ones after it.
    _tamper("UPDATE journal_entries SET description = 'hidden' WHERE posting_id = %s", [ledger["third"].pk])
    stored = next(iter(ledger_verify().findings))
    assert stored.posting_id == ledger["third"].pk
    _tamper("UPDATE journal_postings SET chain_hash = %s WHERE id = %s", ["f" * 64, ledger["third"].pk])

    message, out = _failure()

    assert "Posting MJ-man-3 " in message
    assert "no longer links to the posting before it (sequence 3)" in out


def test_the_newest_posting_deleted_is_found_by_the_chain_head(ledger):
    newest = JournalPosting.objects.get(chain_sequence=5)
    _tamper(
        "DELETE FROM dimension_assignments WHERE journal_entry_id IN "
        "(SELECT id FROM journal_entries WHERE posting_id = %s)",
        [newest.pk],
    )
    _tamper("DELETE FROM journal_entries WHERE posting_id = %s", [newest.pk])
    _tamper("DELETE FROM journal_postings WHERE id = %s", [newest.pk])

    message, _out = _failure()

    assert "The chain head names seal 5 as the newest, but the ledger's newest seal is 4" in message


def test_a_missing_chain_head_is_reported_and_posting_goes_on_from_the_newest_seal(ledger):
    _tamper("DELETE FROM ledger_chain_head")

    message, _out = _failure()
    assert "The chain head names seal 0 as the newest, but the ledger's newest seal is 5" in message

    posting = _post(ledger["user"], "man-after")
    assert posting.chain_sequence == 6
    assert ledger_verify().ok


def test_a_posting_written_behind_the_posting_service_has_no_seal(ledger):
    JournalEntryFactory(posting__reference="MAN-SQL", account_id="gl-bank", debit=Decimal("5.00"))

    message, _out = _failure()

    assert "Posting MAN-SQL " in message
    assert "has no seal" in message


def test_a_period_is_verified_on_its_own(ledger):
    # A change in October is not November's business, and is October's.
    _tamper("UPDATE journal_entries SET account_id = 'gl-sales' WHERE posting_id = %s", [ledger["third"].pk])

    assert "Verified 1 posting(s) of period 2025-11: every seal matches." in _verify("--period", "2025-11")
    message, out = _failure("--period", "2025-10")
    assert "Posting MJ-man-3 " in message
    assert "Checked 4 sealed posting(s) of period 2025-10" in out


@pytest.mark.parametrize("period", ["2025-13", "October", "2025-1"])
def test_a_bad_period_is_refused_naming_the_form(db, period):
    with pytest.raises(CommandError, match="use YYYY-MM"):
        call_command("verify_ledger", "--period", period, stdout=StringIO())


def test_a_batch_is_sealed_posting_by_posting(db):
    user = _ledger()
    requests = [
        PostingRequest(
            source_type=SourceType.MANUAL,
            source_id=f"batch-{n}",
            entry_date=OCTOBER,
            lines=_lines(f"{n}.50", cost_center_id="cc-hq"),
        )
        for n in range(1, 21)
    ]

    postings = journal_postings_create_many(requests=requests, posted_by=user)

    assert [p.chain_sequence for p in postings] == list(range(1, 21))
    assert ledger_verify().verified == 20
    assert ledger_verify().ok


def test_the_migration_seals_postings_written_before_it(db):
    # Given postings written without a seal (as before migration 0003),
    _ledger()
    for number in range(3):
        JournalEntryFactory(posting__reference=f"OLD-{number}", account_id="gl-bank", debit=Decimal("7.00"))
    assert not ledger_verify().ok

    # when the migration's sealing step runs,
    migration = importlib.import_module("accounting.migrations.0003_posting_chain")
    from django.apps import apps

    migration.seal_existing_postings(apps, types.SimpleNamespace(connection=connection))

    # then every posting is sealed, oldest first, and the ledger verifies.
    assert sorted(JournalPosting.objects.values_list("chain_sequence", flat=True)) == [1, 2, 3]
    assert ledger_verify().ok


@pytest.mark.mariadb
def test_the_triggers_still_refuse_a_change_without_the_maintenance_variable(ledger):
    with (
        pytest.raises(DatabaseError, match="posted and final"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE journal_postings SET chain_hash = %s", ["0" * 64])


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_posting_keeps_one_unbroken_chain():
    # Given four clerks posting five documents each at the same moment,
    user = _ledger()
    start = threading.Barrier(4)
    errors = []

    def post_many(worker):
        try:
            start.wait()
            for number in range(5):
                _post(user, f"w{worker}-{number}", f"{worker}{number}.25", cost_center_id="cc-hq")
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post_many, args=(worker,)) for worker in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every posting has its own place in one chain, and the chain verifies.
    assert errors == []
    assert sorted(JournalPosting.objects.values_list("chain_sequence", flat=True)) == list(range(1, 21))
    assert "Verified 20 posting(s)" in _verify()


def test_benchmark_postings_written_in_bulk_are_sealed_too(db):
    # The bulk loader writes postings without the posting service; it seals them all the same.
    call_command("load_demo", "--size", "40", "--with-postings", stdout=StringIO())

    assert JournalPosting.objects.filter(chain_sequence__isnull=True).count() == 0
    assert "Verified 40 posting(s)" in _verify()


def test_text_is_sealed_exactly_as_stored(db):
    # Accents, other scripts, emoji, tabs and trailing spaces come back from the database unchanged.
    user = _ledger()
    journal_posting_create(
        source_type=SourceType.MANUAL,
        source_id="man-text",
        entry_date=OCTOBER,
        lines=[
            Line(account_id="gl-bank", debit=Decimal("1.00"), description="Café — 東京 🚀\tend  "),
            Line(account_id="gl-sales", credit=Decimal("1.00"), description="x" * 255),
        ],
        posted_by=user,
        description="Ünïcödé posting  ",
    )

    assert "Verified 1 posting(s)" in _verify()
