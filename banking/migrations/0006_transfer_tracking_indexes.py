from django.db import migrations, models

ACCOUNT_COLUMNS = ("from_bank_account_id", "to_bank_account_id")


def drop_single_account_indexes(apps, schema_editor):
    """Drop an index on the from or to account alone: the new ones lead with it and serve its foreign key.

    MariaDB drops the index it made for each foreign key by itself when these
    are created; but after this migration was reversed (Django then creates
    its own index for each key) and applied again, Django's would stay.
    Either way the table ends with the same indexes.
    """
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT index_name FROM information_schema.statistics
            WHERE table_schema = DATABASE() AND table_name = 'bank_transfers'
            GROUP BY index_name HAVING COUNT(*) = 1 AND MAX(column_name) IN (%s, %s)""",
            ACCOUNT_COLUMNS,
        )
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)} ON bank_transfers")


class Migration(migrations.Migration):
    """Index the transfers by account and date, so that tracking a month reads that month's transfers.

    Transfer tracking used to scan every transfer of the account's history (the
    two foreign-key indexes have no date); see docs/benchmarks.md, Reports.
    """

    dependencies = [
        ("banking", "0005_csv_profile_regional_encodings"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="banktransfer",
            index=models.Index(fields=["from_bank_account", "initiated_date"], name="transfer_from_initiated"),
        ),
        migrations.AddIndex(
            model_name="banktransfer",
            index=models.Index(fields=["to_bank_account", "initiated_date"], name="transfer_to_initiated"),
        ),
        migrations.AddIndex(
            model_name="banktransfer",
            index=models.Index(
                fields=["from_bank_account", "received_date", "initiated_date"], name="transfer_from_received"
            ),
        ),
        migrations.AddIndex(
            model_name="banktransfer",
            index=models.Index(
                fields=["to_bank_account", "received_date", "initiated_date"], name="transfer_to_received"
            ),
        ),
        migrations.AddIndex(
            model_name="banktransfer",
            index=models.Index(fields=["status", "initiated_date"], name="transfer_status_initiated"),
        ),
        # Going back, Django recreates the foreign keys' indexes as it removes the ones above.
        migrations.RunPython(drop_single_account_indexes, migrations.RunPython.noop, atomic=False),
    ]
