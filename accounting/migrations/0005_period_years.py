import django.core.validators
from django.db import migrations

import cnperp.fields


class Migration(migrations.Migration):
    """Periods are months of the years 1900 to 2999, in ASCII digits (a validator: no SQL)."""

    dependencies = [
        ("accounting", "0004_covering_report_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accountingperiod",
            name="id",
            field=cnperp.fields.KeyField(
                max_length=64,
                primary_key=True,
                serialize=False,
                validators=[
                    django.core.validators.RegexValidator(
                        "^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$",
                        code="invalid_period",
                        message="Use the form YYYY-MM, for example 2025-10 (years 1900 to 2999).",
                    )
                ],
            ),
        ),
    ]
