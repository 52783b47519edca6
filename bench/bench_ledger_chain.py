"""Hash chain benchmark: ``.venv/bin/python bench/bench_ledger_chain.py --count 20000``.

Creates a fresh MariaDB database of its own (``cnperp_bench_chain``, dropped at
the end unless ``--keep``), migrates it, then times:

1. one batch of N manual postings (two GL lines each, a cost centre on both)
   through ``accounting.services.journal_postings_create_many``, and within it
   the time spent sealing them (``accounting.ledger_chain.seal``, measured by
   wrapping the function for this run only);
2. ``manage.py verify_ledger`` over those N postings, and its floor: reading the
   same three tables with plain ``SELECT``s.

It prints the seal's share of the batch and verification's ratio to the floor.
"""

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "cnperp_bench_chain"
HOST, PORT, USER = "127.0.0.1", 3306, "root"


def _server():
    import MySQLdb

    return MySQLdb.connect(host=HOST, port=PORT, user=USER, passwd="", charset="utf8mb4")


def _database(create):
    server = _server()
    cursor = server.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    if create:
        cursor.execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()


def _setup_django():
    os.environ["DATABASE_URL"] = f"mysql://{USER}:@{HOST}:{PORT}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cnperp.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _requests(count):
    from accounting.services import Line, PostingRequest

    return [
        PostingRequest(
            source_type="manual",
            source_id=f"bench-{number}",
            entry_date=datetime.date(2025, 10, 1 + number % 28),
            lines=[
                Line(account_id="gl-1100", debit=Decimal("10.00"), cost_center_id="cc-hq"),
                Line(account_id="gl-4000", credit=Decimal("10.00"), cost_center_id="cc-hq"),
            ],
        )
        for number in range(count)
    ]


def run(count):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounting import ledger_chain
    from accounting.models import GLAccount
    from accounting.services import journal_postings_create_many
    from dimensions.models import CostCenter

    GLAccount.objects.create(id="gl-1100", code="1100", name="Bank", account_type="asset")
    GLAccount.objects.create(id="gl-4000", code="4000", name="Sales receipts", account_type="income")
    CostCenter.objects.create(id="cc-hq", code="HQ", name="Head office")
    user = get_user_model().objects.create(username="bench")
    requests = _requests(count)

    sealing = []
    seal = ledger_chain.seal

    def timed_seal(*args, **kwargs):
        start = time.perf_counter()
        seal(*args, **kwargs)
        sealing.append(time.perf_counter() - start)

    ledger_chain.seal = timed_seal
    try:
        start = time.perf_counter()
        with transaction.atomic():
            journal_postings_create_many(requests=requests, posted_by=user)
        batch = time.perf_counter() - start
    finally:
        ledger_chain.seal = seal

    start = time.perf_counter()
    call_command("verify_ledger", stdout=StringIO())
    verify = time.perf_counter() - start
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("journal_postings", "journal_entries", "dimension_assignments"):
            cursor.execute(f"SELECT * FROM {table}")  # fixed table names only
            cursor.fetchall()
    floor = time.perf_counter() - start

    print(f"postings: {count:,} ({2 * count:,} GL lines, {6 * count:,} dimension assignments)")
    print(f"batch posting: {batch:.2f} s, of which sealing {sealing[0]:.2f} s ({sealing[0] / batch:.0%})")
    print(f"verify_ledger: {verify:.2f} s ({count / verify:,.0f} postings/s)")
    print(f"floor (SELECT the three tables): {floor:.2f} s; ratio {verify / floor:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()
    _database(create=True)
    try:
        _setup_django()
        run(args.count)
    finally:
        if not args.keep:
            _database(create=False)


if __name__ == "__main__":
    main()
