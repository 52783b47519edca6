from django.db import migrations, models


class Migration(migrations.Migration):
    """Order the open-items index by dimension before date (see docs/benchmarks.md, Reports).

    The variance report groups an account's unreconciled items by cost centre,
    project and department; read in that order, MariaDB aggregates them as it
    scans the index instead of through a temporary table.
    """

    dependencies = [
        ("banking", "0003_csv_profile_encoding"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="banktransaction",
            name="idx_bt_recon",
        ),
        migrations.AddIndex(
            model_name="banktransaction",
            index=models.Index(
                fields=[
                    "bank_account",
                    "reconciliation_status",
                    "cost_center",
                    "project",
                    "department",
                    "transaction_date",
                    "posting_status",
                    "direction",
                    "amount",
                ],
                name="idx_bt_recon",
            ),
        ),
    ]
