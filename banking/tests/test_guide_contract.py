"""The deployment guide's migration checks, run as written against MariaDB.

The guide ("Database Migration", step 2.2 and "Post-Migration Validation") checks
columns, the bridge table, indexes and foreign keys through information_schema.
"""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.mariadb]


def _rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _schema():
    return connection.settings_dict["NAME"]


def test_new_dimension_and_posting_columns_exist_on_bank_transactions():
    # The guide's query, narrowed to this database so other schemas don't interfere.
    rows = _rows(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'bank_transactions' AND table_schema = %s "
        "AND column_name IN ('cost_center_id', 'project_id', 'department_id', 'posting_status') "
        "ORDER BY column_name",
        [_schema()],
    )
    assert [r[0] for r in rows] == ["cost_center_id", "department_id", "posting_status", "project_id"]


def test_the_nine_posting_and_reconciliation_columns_of_bank_transactions():
    nine = [
        "cost_center_id",
        "project_id",
        "department_id",
        "posting_status",
        "posted_at",
        "posted_by_id",
        "gl_reference",
        "reconciliation_status",
        "reconciled_at",
    ]
    rows = _rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'bank_transactions' "
        "AND table_schema = %s",
        [_schema()],
    )
    assert set(nine) <= {r[0] for r in rows}


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("cash_submissions", ["cost_center_id", "project_id", "department_id"]),
        ("float_allocations", ["cost_center_id", "department_id"]),
        (
            "bank_reconciliations",
            [
                "cost_center_id",
                "project_id",
                "department_id",
                "scope_key",
                "dimension_breakdown",
                "prepared_by_id",
                "approved_by_id",
                "approved_at",
            ],
        ),
    ],
)
def test_dimension_columns_on_the_other_documents(table, columns):
    rows = _rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = %s",
        [table, _schema()],
    )
    assert set(columns) <= {r[0] for r in rows}


def test_bridge_table_exists_with_17_columns():
    assert _rows(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'bank_transfer_allocations' "
        "AND table_schema = %s",
        [_schema()],
    ) == ((1,),)
    assert _rows(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'bank_transfer_allocations' "
        "AND table_schema = %s",
        [_schema()],
    ) == ((17,),)


def test_bridge_table_is_indexed():
    (count,) = _rows(
        "SELECT COUNT(*) as index_count FROM information_schema.statistics "
        "WHERE table_name = 'bank_transfer_allocations' AND table_schema = %s",
        [_schema()],
    )[0]
    assert count >= 2


def test_the_banking_migration_creates_eleven_named_indexes():
    rows = _rows(
        "SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
        "WHERE table_schema = %s AND index_name LIKE 'idx\\_%%' AND table_name IN "
        "('bank_transactions', 'cash_submissions', 'float_allocations', 'bank_reconciliations', "
        "'bank_transfer_allocations')",
        [_schema()],
    )
    assert len(rows) == 11


def test_foreign_keys_of_transactions_and_bridge_table():
    rows = _rows(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME "
        "FROM INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS "
        "WHERE TABLE_NAME IN ('bank_transactions', 'bank_transfer_allocations') "
        "AND CONSTRAINT_SCHEMA = %s",
        [_schema()],
    )
    referenced = {(table, target) for _, table, target in rows}
    for target in ("bank_accounts", "branches", "cost_centers", "projects", "departments"):
        assert ("bank_transactions", target) in referenced
    for target in ("bank_transfers", "bank_accounts", "cost_centers", "projects", "departments"):
        assert ("bank_transfer_allocations", target) in referenced


def test_keys_are_case_sensitive():
    # Two keys that differ only by case are two keys, not a collision.
    from dimensions.models import CostCenter

    CostCenter.objects.create(id="cc-hq", code="HQ", name="Head office")
    CostCenter.objects.create(id="CC-HQ", code="HQ2", name="Head office (upper)")
    assert CostCenter.objects.filter(id="cc-hq").get().code == "HQ"
