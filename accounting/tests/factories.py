import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounting.choices import AccountType, SourceType
from accounting.models import AccountingPeriod, DimensionAssignment, GLAccount, JournalEntry, JournalPosting


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("s3cret-pass-1")


class GLAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GLAccount
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"gl-{n:04d}")
    code = factory.Sequence(lambda n: f"{1000 + n}")
    name = factory.Sequence(lambda n: f"Account {n}")
    account_type = AccountType.ASSET


class AccountingPeriodFactory(factory.django.DjangoModelFactory):
    """The period ``id`` (``YYYY-MM``); dates follow from it."""

    class Meta:
        model = AccountingPeriod
        django_get_or_create = ("id",)

    id = "2025-10"
    start_date = factory.LazyAttribute(lambda p: AccountingPeriod.bounds(p.id)[0])
    end_date = factory.LazyAttribute(lambda p: AccountingPeriod.bounds(p.id)[1])


class JournalPostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JournalPosting

    reference = factory.Sequence(lambda n: f"MAN-{n:05d}")
    source_type = SourceType.MANUAL
    source_id = factory.Sequence(lambda n: f"man-{n:05d}")
    entry_date = datetime.date(2025, 10, 15)
    period = factory.SubFactory(AccountingPeriodFactory)
    posted_by = factory.SubFactory(UserFactory)
    posted_at = factory.LazyFunction(timezone.now)


class JournalEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JournalEntry

    posting = factory.SubFactory(JournalPostingFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    reference = factory.LazyAttribute(lambda e: e.posting.reference)
    entry_date = factory.LazyAttribute(lambda e: e.posting.entry_date)
    period = factory.LazyAttribute(lambda e: e.posting.period)
    account = factory.SubFactory(GLAccountFactory)
    debit = 0
    credit = 0
    source_type = factory.LazyAttribute(lambda e: e.posting.source_type)
    source_id = factory.LazyAttribute(lambda e: e.posting.source_id)
    posted_by = factory.LazyAttribute(lambda e: e.posting.posted_by)
    posted_at = factory.LazyAttribute(lambda e: e.posting.posted_at)


class DimensionAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DimensionAssignment

    journal_entry = factory.SubFactory(JournalEntryFactory, debit=100)
    dimension_type = "cost_center"
