"""One posting rule per document type and scope, held by the database for the default rules too.

The unique constraint on (document type, bank account, branch) never caught two
default rules (no bank account, no branch): NULLs never collide in a unique
index, so two saved at the same instant both passed the model's check and both
stood. ``scope`` is a stored generated column ("" for the default, the ids
otherwise) and the constraint is on it. Going back restores the old constraint.
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


def refuse_duplicate_rules(apps, schema_editor):
    """Name the rules that already share a scope: which one stands is finance staff's decision."""
    from django.db.models import Count

    PostingRule = apps.get_model("banking", "PostingRule")
    clashes = (
        PostingRule.objects.values("document_type", "bank_account_id", "branch_id")
        .annotate(rules=Count("id"))
        .filter(rules__gt=1)
        .order_by("document_type", "bank_account_id", "branch_id")
    )
    for clash in clashes:
        ids = sorted(
            PostingRule.objects.filter(
                document_type=clash["document_type"],
                bank_account_id=clash["bank_account_id"],
                branch_id=clash["branch_id"],
            ).values_list("id", flat=True)
        )
        scope = clash["bank_account_id"] or clash["branch_id"] or "default"
        raise RuntimeError(
            f"Posting rules {', '.join(ids)} are all the {clash['document_type']} rule for {scope}; "
            "delete all but one (the admin's posting rules list) and migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0012_transfers_sent_are_in_transit"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicate_rules, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="postingrule",
            name="one_rule_per_scope",
        ),
        migrations.AddField(
            model_name="postingrule",
            name="scope",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    django.db.models.functions.comparison.Coalesce("bank_account_id", models.Value("")),
                    models.Value("|"),
                    django.db.models.functions.comparison.Coalesce("branch_id", models.Value("")),
                ),
                output_field=models.CharField(max_length=129),
            ),
        ),
        migrations.AddConstraint(
            model_name="postingrule",
            constraint=models.UniqueConstraint(fields=("document_type", "scope"), name="one_rule_per_scope"),
        ),
    ]
