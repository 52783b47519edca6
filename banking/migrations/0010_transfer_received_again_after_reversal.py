"""A transfer's receipt reversed in the books can be received again.

One live leg per direction instead of one leg per direction: a reversed leg's
``live_leg`` is NULL (a unique index lets NULL repeat), so the transfer can
take a new receiving leg. The new unique index is added before the old one is
dropped: on MariaDB the transfer's foreign key needs an index that starts with
``transfer_id`` at every step.
"""

from django.db import migrations, models


def reversed_legs_are_not_live(apps, schema_editor):
    BankTransaction = apps.get_model("banking", "BankTransaction")
    BankTransaction.objects.filter(transfer__isnull=False, posting_status="reversed").update(live_leg=None)


def refuse_back_once_received_again(apps, schema_editor):
    """Going back restores one leg per direction: impossible once a transfer was received again."""
    from django.db.models import Count

    BankTransaction = apps.get_model("banking", "BankTransaction")
    twice = (
        BankTransaction.objects.filter(transfer__isnull=False)
        .values("transfer_id", "direction")
        .annotate(legs=Count("id"))
        .filter(legs__gt=1)
        .order_by("transfer_id")
        .first()
    )
    if twice is not None:
        raise migrations.exceptions.IrreversibleError(
            f"Transfer {twice['transfer_id']} has {twice['legs']} {twice['direction']} legs (received again "
            "after a reversal); banking 0009 allows one per direction. Restore a backup taken before "
            "0010 instead."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0009_amounts_answer_on_their_field"),
    ]

    operations = [
        migrations.AddField(
            model_name="banktransaction",
            name="live_leg",
            field=models.BooleanField(db_default=True, default=True, editable=False, null=True),
        ),
        migrations.RunPython(reversed_legs_are_not_live, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="banktransaction",
            constraint=models.UniqueConstraint(
                fields=("transfer", "direction", "live_leg"), name="one_live_leg_per_direction"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="banktransaction",
            name="one_leg_per_direction",
        ),
        # Last, so that going back checks first, before anything is undone.
        migrations.RunPython(migrations.RunPython.noop, refuse_back_once_received_again),
    ]
