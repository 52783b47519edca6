"""Seal every posting with a hash chained to the one before (tamper evidence, issue 7).

Adds ``chain_sequence``, ``previous_hash`` and ``chain_hash`` to
``journal_postings`` and the one-row table ``ledger_chain_head``, then seals the
postings already in the ledger, oldest first (by ``posted_at``, then id), so
that ``verify_ledger`` covers them too. From here on the posting service seals
each posting before it is inserted (``accounting.ledger_chain``).

Sealing the existing rows is the one UPDATE of ``journal_postings`` this project
makes: it fills the three new columns once and touches nothing else. On
MariaDB/MySQL the triggers of migration 0002 refuse every UPDATE, so this
migration sets the operators' maintenance variable ``@cnperp_ledger_maintenance``
for its own session while it seals, and clears it again (docs/audit.md). GL
lines (``journal_entries``) and dimension assignments are only read.

Reversing drops the columns and the table; the postings stay as they were.
"""

from collections import defaultdict

from django.db import migrations, models

from accounting.ledger_chain import (
    ASSIGNMENT_FIELDS,
    GENESIS_HASH,
    HEAD_ID,
    LINE_FIELDS,
    POSTING_FIELDS,
    posting_content,
    seal_hash,
)

CHUNK = 2000


def seal_existing_postings(apps, schema_editor):
    JournalPosting = apps.get_model("accounting", "JournalPosting")
    JournalEntry = apps.get_model("accounting", "JournalEntry")
    DimensionAssignment = apps.get_model("accounting", "DimensionAssignment")
    LedgerChainHead = apps.get_model("accounting", "LedgerChainHead")
    connection = schema_editor.connection
    ids = list(JournalPosting.objects.order_by("posted_at", "id").values_list("id", flat=True))
    sequence, previous = 0, GENESIS_HASH
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote('journal_postings')} SET {quote('chain_sequence')} = %s, "
        f"{quote('previous_hash')} = %s, {quote('chain_hash')} = %s WHERE {quote('id')} = %s"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SET @cnperp_ledger_maintenance = 1")
        try:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                headers = {
                    row[0]: dict(zip(POSTING_FIELDS, row, strict=True))
                    for row in JournalPosting.objects.filter(id__in=chunk).values_list(*POSTING_FIELDS)
                }
                lines = defaultdict(list)
                for row in JournalEntry.objects.filter(posting_id__in=chunk).values_list(
                    "posting_id", *LINE_FIELDS
                ):
                    lines[row[0]].append(dict(zip(LINE_FIELDS, row[1:], strict=True)))
                assignments = defaultdict(list)
                for row in DimensionAssignment.objects.filter(journal_entry__posting_id__in=chunk).values_list(
                    "journal_entry_id", *ASSIGNMENT_FIELDS
                ):
                    assignments[row[0]].append(dict(zip(ASSIGNMENT_FIELDS, row[1:], strict=True)))
                seals = []
                for posting_id in chunk:
                    sequence += 1
                    content = posting_content(headers[posting_id], lines[posting_id], assignments)
                    chain_hash = seal_hash(previous, content)
                    seals.append((sequence, previous, chain_hash, posting_id))
                    previous = chain_hash
                cursor.executemany(sql, seals)
        finally:
            if connection.vendor == "mysql":
                cursor.execute("SET @cnperp_ledger_maintenance = NULL")
    LedgerChainHead.objects.update_or_create(
        pk=HEAD_ID, defaults={"last_sequence": sequence, "last_hash": previous}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0002_ledger_immutability_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerChainHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("last_sequence", models.BigIntegerField(default=0)),
                ("last_hash", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "ledger chain head",
                "db_table": "ledger_chain_head",
            },
        ),
        migrations.AddField(
            model_name="journalposting",
            name="chain_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="journalposting",
            name="chain_sequence",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="journalposting",
            name="previous_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        # All or nothing: a failure part-way leaves no posting half-sealed.
        migrations.RunPython(seal_existing_postings, migrations.RunPython.noop, atomic=True, elidable=False),
    ]
