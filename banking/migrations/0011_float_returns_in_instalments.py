"""A float comes back in instalments: one ``float_returns`` row, and one posting, per instalment.

Before this migration a float's return posted once, as the posting of source
``float_return`` whose ``source_id`` is the float's own id (``FR-fa-1``), and
the float allocation held what came back. Each such posting is carried into a
``float_returns`` row here, so that every return, old or new, is a row with its
own posting and can be reversed on its own.

The legacy row takes the float's id as its own. GL lines are immutable (a
migration may not rewrite their ``source_id``), and a return's posting is found
as the ``float_return`` posting whose ``source_id`` is the return's id: with the
float's id on the row, the postings made before instalments are found exactly
like the new ones, by one rule, with no second look-up by reference. New first
returns keep that shape (``banking.models.FloatReturn``).

Going back is refused once a float holds what the single return cannot say: a
second instalment or a reversed return.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q, Sum

import banking.models
import cnperp.fields


def carry_posted_returns(apps, schema_editor):
    JournalPosting = apps.get_model("accounting", "JournalPosting")
    JournalEntry = apps.get_model("accounting", "JournalEntry")
    FloatAllocation = apps.get_model("banking", "FloatAllocation")
    FloatReturn = apps.get_model("banking", "FloatReturn")
    postings = list(
        JournalPosting.objects.filter(source_type="float_return", purpose="post").order_by("source_id")
    )
    if not postings:
        return
    # What came back is what the posting debited the bank with: the ledger, not a summary, says it.
    amounts = dict(
        JournalEntry.objects.filter(posting__source_type="float_return", posting__purpose="post")
        .order_by()
        .values_list("posting_id")
        .annotate(total=Sum("debit"))
    )
    reversals = {
        posting.reverses_id: posting
        for posting in JournalPosting.objects.filter(source_type="float_return", purpose="reverse")
    }
    floats = set(
        FloatAllocation.objects.filter(pk__in=[p.source_id for p in postings]).values_list("pk", flat=True)
    )
    rows = []
    for posting in postings:
        if posting.source_id not in floats:
            continue  # no float to hang it on (a posted float cannot be deleted); the posting stays as it is
        reversal = reversals.get(posting.pk)
        rows.append(
            FloatReturn(
                id=posting.source_id,
                allocation_id=posting.source_id,
                number=1,
                return_date=posting.entry_date,
                amount=amounts[posting.pk],
                posting_status="reversed" if reversal else "posted",
                posted_at=posting.posted_at,
                posted_by_id=posting.posted_by_id,
                gl_reference=posting.reference,
                created_by_id=posting.posted_by_id,
                updated_by_id=(reversal or posting).posted_by_id,
                reversal_date=reversal.entry_date if reversal else None,
                reversal_reason=reversal.reason if reversal else "",
                reversal_gl_reference=reversal.reference if reversal else "",
                reversed_at=reversal.posted_at if reversal else None,
                reversed_by_id=reversal.posted_by_id if reversal else None,
            )
        )
    FloatReturn.objects.bulk_create(rows, batch_size=1000)


def refuse_back_once_in_instalments(apps, schema_editor):
    """Going back leaves one return per float, found by the float's id: refused when that would lie."""
    FloatReturn = apps.get_model("banking", "FloatReturn")
    beyond = (
        FloatReturn.objects.filter(~Q(id=F("allocation_id")) | Q(posting_status="reversed"))
        .order_by("allocation_id", "number")
        .first()
    )
    if beyond is not None:
        raise migrations.exceptions.IrreversibleError(
            f"Float allocation {beyond.allocation_id} has a return ({beyond.gl_reference or beyond.id}) that "
            "banking 0010 cannot hold (a second instalment or a reversed return); its books would be read "
            "as a single return. Restore a backup taken before 0011 instead."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0007_posting_purpose_date_index"),
        ("banking", "0010_transfer_received_again_after_reversal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FloatReturn",
            fields=[
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "posting_status",
                    models.CharField(
                        choices=[("draft", "Draft"), ("posted", "Posted"), ("reversed", "Reversed")],
                        default="draft",
                        max_length=10,
                    ),
                ),
                ("posted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("gl_reference", models.CharField(blank=True, editable=False, max_length=100)),
                (
                    "id",
                    cnperp.fields.KeyField(
                        default=cnperp.fields.PrefixedKey("fr"),
                        max_length=64,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("number", models.PositiveIntegerField(help_text="The float's first, second, ... return.")),
                ("return_date", models.DateField(validators=[banking.models.validate_book_date])),
                (
                    "amount",
                    cnperp.fields.MoneyField(
                        decimal_places=2, max_digits=18, validators=[cnperp.fields.positive_amount]
                    ),
                ),
                (
                    "reversal_date",
                    models.DateField(
                        blank=True, editable=False, null=True, validators=[banking.models.validate_book_date]
                    ),
                ),
                ("reversal_reason", models.CharField(blank=True, editable=False, max_length=255)),
                ("reversal_gl_reference", models.CharField(blank=True, editable=False, max_length=100)),
                ("reversed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "allocation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="returns",
                        to="banking.floatallocation",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "posted_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "reversed_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "float_returns",
                "ordering": ["allocation_id", "number"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)), name="float_return_amount_positive"
                    ),
                    models.UniqueConstraint(fields=("allocation", "number"), name="float_return_number_once"),
                ],
            },
        ),
        # Reversed, this runs first: the check comes before the table is dropped.
        migrations.RunPython(carry_posted_returns, refuse_back_once_in_instalments),
    ]
