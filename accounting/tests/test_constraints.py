"""The ledger's rules that the database itself holds."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from accounting.models import DimensionAssignment
from accounting.tests.factories import (
    GLAccountFactory,
    JournalEntryFactory,
    JournalPostingFactory,
)
from dimensions.tests.factories import CostCenterFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("debit", "credit"),
    [
        (Decimal("10.00"), Decimal("5.00")),  # both sides
        (Decimal("0.00"), Decimal("0.00")),  # neither side
        (Decimal("-1.00"), Decimal("0.00")),  # negative debit
        (Decimal("0.00"), Decimal("-1.00")),  # negative credit
    ],
)
def test_a_gl_line_is_a_debit_or_a_credit_never_both_never_negative(debit, credit):
    # Given a posting, when a line breaks the debit-or-credit rule, the database refuses it.
    posting = JournalPostingFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntryFactory(posting=posting, debit=debit, credit=credit)


def test_a_valid_debit_line_and_credit_line_are_stored():
    posting = JournalPostingFactory()
    JournalEntryFactory(posting=posting, line_number=1, debit=Decimal("10.00"))
    JournalEntryFactory(posting=posting, line_number=2, credit=Decimal("10.00"))
    assert posting.lines.count() == 2


def test_one_source_is_posted_once():
    first = JournalPostingFactory(source_id="bt-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalPostingFactory(source_type=first.source_type, source_id="bt-1", purpose=first.purpose)


def test_an_account_with_gl_lines_cannot_be_deleted():
    account = GLAccountFactory()
    JournalEntryFactory(account=account, debit=Decimal("1.00"))
    with pytest.raises(ProtectedError):
        account.delete()


def test_a_period_with_postings_cannot_be_deleted():
    posting = JournalPostingFactory()
    with pytest.raises(ProtectedError):
        posting.period.delete()


def test_a_dimension_on_a_gl_line_cannot_be_deleted():
    cost_center = CostCenterFactory()
    JournalEntryFactory(debit=Decimal("1.00"), cost_center=cost_center)
    with pytest.raises(ProtectedError):
        cost_center.delete()


def test_an_assignment_names_a_value_of_its_own_type_only():
    line = JournalEntryFactory(debit=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        DimensionAssignment.objects.create(
            journal_entry=line, dimension_type="project", cost_center=CostCenterFactory()
        )


def test_an_unassigned_dimension_is_an_explicit_row():
    line = JournalEntryFactory(debit=Decimal("1.00"))
    row = DimensionAssignment.objects.create(journal_entry=line, dimension_type="project")
    assert row.is_unassigned
