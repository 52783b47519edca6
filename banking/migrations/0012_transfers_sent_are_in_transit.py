"""A transfer whose sending leg is posted is in transit.

Posting the sending leg now moves the transfer from ``initiated`` to
``in_transit`` (and reversing it moves it back). Transfers whose sending leg
was posted before this rule say ``initiated`` still, and ones whose sending leg
was reversed say ``in_transit`` still: they are brought in line.
Going back leaves them as they are: ``in_transit`` was always a valid status.
"""

from django.db import migrations


def sent_transfers_in_transit(apps, schema_editor):
    BankTransfer = apps.get_model("banking", "BankTransfer")
    BankTransaction = apps.get_model("banking", "BankTransaction")
    sent = BankTransaction.objects.filter(
        transfer__isnull=False, direction="out", posting_status="posted"
    ).values("transfer_id")
    BankTransfer.objects.filter(status="initiated", pk__in=sent).update(status="in_transit")
    # In transit with no sending leg standing (reversed, the money back in the source bank).
    BankTransfer.objects.filter(status="in_transit").exclude(pk__in=sent).update(status="initiated")


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0011_float_returns_in_instalments"),
    ]

    operations = [
        migrations.RunPython(sent_transfers_in_transit, migrations.RunPython.noop),
    ]
