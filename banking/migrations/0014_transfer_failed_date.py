"""A failed transfer says when it failed, so a past month shows it open until then.

Transfers that failed before this migration get the date their (last) sending leg
was reversed, the date transfer tracking has read as the end of their transit; one
whose sending leg was never reversed gets the day its failure was recorded
(its last change). Going back drops the column.
"""

from django.db import migrations, models

import banking.models


def date_the_failures(apps, schema_editor):
    BankTransfer = apps.get_model("banking", "BankTransfer")
    BankTransaction = apps.get_model("banking", "BankTransaction")
    JournalPosting = apps.get_model("accounting", "JournalPosting")
    for transfer in BankTransfer.objects.filter(status="failed", failed_date__isnull=True).iterator():
        legs = BankTransaction.objects.filter(transfer_id=transfer.pk, direction="out").values_list("pk", flat=True)
        reversed_on = (
            JournalPosting.objects.filter(source_type="bank_transaction", source_id__in=list(legs), purpose="reverse")
            .order_by("-entry_date")  # the last sending leg's: an earlier one may have been recalled
            .values_list("entry_date", flat=True)
            .first()
        )
        failed_on = reversed_on or transfer.updated_at.date()
        BankTransfer.objects.filter(pk=transfer.pk).update(failed_date=max(failed_on, transfer.initiated_date))


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0008_cash_deposit_source"),
        ("banking", "0013_default_posting_rule_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="banktransfer",
            name="failed_date",
            field=models.DateField(blank=True, null=True, validators=[banking.models.validate_book_date]),
        ),
        migrations.RunPython(date_the_failures, migrations.RunPython.noop),
    ]
