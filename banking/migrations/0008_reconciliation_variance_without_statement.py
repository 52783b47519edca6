"""A reconciliation without a statement has no variance (null), as its live result says, not 0.00."""

from django.db import migrations

import cnperp.fields


def no_statement_no_variance(apps, schema_editor):
    reconciliations = apps.get_model("banking", "BankReconciliation")
    reconciliations.objects.filter(balance_status="no_statement").update(variance=None)


def back_to_zero(apps, schema_editor):
    # The column before this migration holds no null: what had none reads 0.00 again.
    reconciliations = apps.get_model("banking", "BankReconciliation")
    reconciliations.objects.filter(variance=None).update(variance=0)


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0007_book_year_dates"),
    ]

    operations = [
        migrations.AlterField(
            model_name="bankreconciliation",
            name="variance",
            field=cnperp.fields.MoneyField(blank=True, decimal_places=2, max_digits=18, null=True),
        ),
        migrations.RunPython(no_statement_no_variance, back_to_zero),
    ]
