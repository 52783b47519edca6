"""Workbench benchmark: ``.venv/bin/python bench/bench_workbench.py --lines 3000``.

Creates a MariaDB database of its own (``cnperp_bench_workbench``, dropped at the
end unless ``--keep``), migrates it and bulk-creates one account-month the way
``bench/bench_matching.py`` does (N statement lines, about N book transactions,
the noise of ``banking/tests/month_generator.py``), runs the matcher once, then
requests each of the workbench's JSON endpoints ``--requests`` times (30)
through Django's test client as a signed-in superuser (middleware, session,
permission checks and JSON included) and prints p50 and p95 per endpoint.

The raw-SQL floor of the busiest read, a page of 50 open statement lines with
their matches, is the same two SELECTs on a plain mysqlclient connection; the
ratio says what Django and the JSON cost on top.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_matching  # noqa: E402  (the same set-up: database, month, GL lines)

bench_matching.DB_NAME = "cnperp_bench_workbench"
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")


def _timed(call, requests):
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def _floor(requests):
    server = bench_matching._server()
    server.select_db(bench_matching.DB_NAME)
    cursor = server.cursor()

    def page():
        cursor.execute(
            "SELECT id, booking_date, amount, counterparty_name, bank_reference, end_to_end_id, fitid, "
            "narrative, match_status FROM bank_statement_lines WHERE bank_account_id = 'ba-op' "
            "AND booking_date >= '2025-10-01' AND booking_date <= '2025-10-31' "
            "AND match_status IN ('unmatched', 'suggested') ORDER BY booking_date, line_number, id LIMIT 50"
        )
        ids = [row[0] for row in cursor.fetchall()]
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            "SELECT id, statement_line_id, bank_transaction_id, group_key, score, stage, reason, status "
            f"FROM bank_reconciliation_matches WHERE statement_line_id IN ({marks}) "
            "AND status IN ('confirmed', 'suggested') ORDER BY score DESC, id",
            ids,
        )
        cursor.fetchall()

    result = _timed(page, requests)
    server.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    bench_matching._recreate_database()
    bench_matching._setup_django(migrate=True)
    try:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from banking.matching import match_run
        from banking.models import StatementLine

        bench_matching._populate(args.lines)
        user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-pass-1")
        started = time.perf_counter()
        run = match_run(bank_account_id="ba-op", period="2025-10", user=user)
        matcher = time.perf_counter() - started
        print(
            f"{StatementLine.objects.count():,} statement lines; matcher {matcher:.2f} s: "
            f"{run.lines_matched:,} matched, {run.lines_suggested:,} with suggestions"
        )
        client = Client()
        client.force_login(user)
        base = "/admin/banking/bankaccount/ba-op/reconcile/2025-10/"
        checks = [
            ("page (HTML shell)", base, {}),
            ("summary", base + "summary/", {}),
            ("lines, open, page 1", base + "lines/", {}),
            ("lines, all, last page", base + "lines/", {"status": "all", "page": "1000"}),
            ("lines, text filter", base + "lines/", {"status": "all", "q": "acme"}),
            (
                "lines, amount range",
                base + "lines/",
                {"status": "all", "amount_min": "100", "amount_max": "500"},
            ),
            ("books, open, page 1", base + "books/", {}),
            ("suggestions, page 1", base + "suggestions/", {}),
        ]
        print(f"{'endpoint':<26} {'p50 ms':>8} {'p95 ms':>8}")
        for label, url, params in checks:

            def call(url=url, params=params):
                response = client.get(url, params, secure=True)
                assert response.status_code == 200, (url, response.status_code)

            p50, p95 = _timed(call, args.requests)
            print(f"{label:<26} {p50:8.1f} {p95:8.1f}")
            if label == "lines, open, page 1":
                lines_p50 = p50
        floor_p50, floor_p95 = _floor(args.requests)
        print(
            f"raw SQL floor of 'lines, open, page 1': p50 {floor_p50:.1f} ms, p95 {floor_p95:.1f} ms "
            f"(endpoint / floor = {lines_p50 / floor_p50:.1f}x)"
        )
    finally:
        if not args.keep:
            bench_matching._drop_database()


if __name__ == "__main__":
    main()
