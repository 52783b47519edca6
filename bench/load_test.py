"""Load test: N clients for T seconds against real gunicorn on loopback, on a MariaDB database of its own.

    .venv/bin/python bench/load_test.py --clients 32 --seconds 60      # the issue's full run
    .venv/bin/python bench/load_test.py --clients 8 --seconds 20       # a short run on a shared machine

It creates the database ``cnperp_ops_load`` (dropped at the end; never another
name), migrates it, loads the demo company, starts gunicorn on a free port of
127.0.0.1, and runs clients that mix the guide's report reads with postings of
draft transactions (``POST transactions/{id}/post-accounting``). Report
endpoints that do not exist yet answer 404 on a probe and are skipped with a
note. At the end: requests, errors (any 5xx or connection failure), p50/p95/p99
per endpoint, and ``check_gl_balance`` on the result. Exit status 1 on any error.
"""

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DATABASE = "cnperp_ops_load"
READS = [
    "/api/v1/banking/reconciliation?bank_account_id=ba-op&period=2025-10",
    "/api/v1/banking/cash-position?bank_account_id=ba-op&period=2025-10",
    "/api/v1/banking/dimensional-analysis?bank_account_id=ba-op&period=2025-10",
    "/api/v1/banking/variance-report?bank_account_id=ba-op&period=2025-10",
    "/api/v1/banking/transfer-tracking?bank_account_id=ba-op",
    "/api/v1/banking/transactions?bank_account=ba-op",
]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(env, *args):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )


def _mysql(sql):
    subprocess.run(["mariadb", "-uroot", "-h127.0.0.1", "-P3306", "-e", sql], check=True)


def _request(port, method, path, token, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, time.perf_counter() - started, payload
    finally:
        connection.close()


def _row(name, values, q):
    ms = [q[49] * 1000, q[94] * 1000, q[98] * 1000, max(values) * 1000]
    return f"{name:24} {len(values):6} " + " ".join(f"{v:8.1f}" for v in ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--demo-size", type=int, default=2000, help="extra draft transactions to post")
    args = parser.parse_args()

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=f"mysql://root:@127.0.0.1:3306/{DATABASE}",
        DJANGO_SETTINGS_MODULE="cnperp.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="load-test-" + os.urandom(32).hex(),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        DJANGO_LOG_LEVEL="WARNING",
    )
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    _mysql(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
    server = None
    try:
        print(f"setting up {DATABASE}: migrate, load_demo --size {args.demo_size} ...", flush=True)
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "load_demo", "--size", str(args.demo_size))
        token = (
            _manage(env, "create_api_user", "load-tester", "--superuser")
            .stdout.split("token: ")[1]
            .split()[0]
        )
        drafts_out = subprocess.run(
            [
                PYTHON,
                "-c",
                "import django,os;django.setup();"
                "from banking.models import BankTransaction;"
                "print('\\n'.join(BankTransaction.objects.filter(posting_status='draft')"
                ".order_by('pk').values_list('pk',flat=True)))",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        drafts = queue.Queue()
        for pk in drafts_out:
            drafts.put(pk)
        server = subprocess.Popen(
            [GUNICORN, "--config", "cnperp/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(port, "GET", "/ready", token)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not become ready")
            time.sleep(0.3)

        reads = []
        for path in READS:
            status = _request(port, "GET", path, token)[0]
            if status == 404:
                print(f"note: {path.split('?')[0]} answers 404 (not built yet): skipped")
            else:
                reads.append(path)
        print(
            f"{len(drafts_out)} drafts to post; {len(reads)} report endpoints; "
            f"{args.clients} clients for {args.seconds} s"
        )

        timings, statuses, failures = defaultdict(list), defaultdict(int), []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client(number):
            # Reads take their own turns, so every report is read whatever the number of reads:
            # a shared counter with the posting's "every third turn" skipped two of the six.
            turn, read_turn = number, number
            while time.monotonic() < stop_at:
                turn += 1
                if turn % 3 == 0 and not drafts.empty():
                    try:
                        pk = drafts.get_nowait()
                    except queue.Empty:
                        continue
                    name, method, path, body = (
                        "post-accounting",
                        "POST",
                        f"/api/v1/banking/transactions/{pk}/post-accounting",
                        {},
                    )
                elif reads:
                    read_turn += 1
                    path = reads[read_turn % len(reads)]
                    name, method, body = path.split("?")[0].rsplit("/", 1)[-1], "GET", None
                else:
                    return
                try:
                    status, elapsed, payload = _request(port, method, path, token, body)
                except OSError as error:
                    with lock:
                        failures.append(f"{name}: {error}")
                    continue
                with lock:
                    timings[name].append(elapsed)
                    statuses[status] += 1
                    if status >= 500:
                        failures.append(f"{name}: {status} {payload[:200]!r}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started

        total = sum(len(v) for v in timings.values())
        print(f"\n{total} requests in {wall:.1f} s = {total / wall:.0f} req/s; statuses {dict(statuses)}")
        print(f"{'endpoint':24} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        every = []
        for name, values in sorted(timings.items()):
            every += values
            q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
            print(_row(name, values, q))
        if len(every) > 1:
            q = statistics.quantiles(every, n=100)
            print(_row("all", every, q))
        print(f"errors (5xx or connection failures): {len(failures)}")
        for line in failures[:10]:
            print("  " + line)
        check = subprocess.run(
            [PYTHON, "manage.py", "check_gl_balance"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        first = (check.stdout.strip() or check.stderr.strip()).splitlines()[:1]
        print(f"check_gl_balance: exit {check.returncode}; {first[0] if first else ''}")
        return 1 if failures or check.returncode else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        _mysql(f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    sys.exit(main())
