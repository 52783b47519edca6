"""Fault test: stop and start MariaDB under load; clients must see 503 (never 500) and the service recover.

ONLY on a dedicated machine whose MariaDB nothing else uses: it stops the server.

    .venv/bin/python bench/db_outage.py --i-own-this-mariadb \\
        --stop "systemctl stop mariadb" --start "systemctl start mariadb" --port 8010 --token TOKEN

Run it against a gunicorn already serving (for example while bench/load_test.py
runs with --seconds 120). For 10 s it polls; then stops the database for
--down seconds; then starts it and polls until /ready answers 200. It prints the
status counts per phase and exits 1 on any 500 or if the service does not
recover within 60 s without a restart.
"""

import argparse
import http.client
import shlex
import subprocess
import sys
import time
from collections import Counter


def _get(port, path, token):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {token}"})
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return "refused", b""
    finally:
        connection.close()


def _poll(port, token, seconds, counts):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for path in (
            "/health",
            "/api/v1/banking/transactions",
            "/api/v1/banking/reconciliation?period=2025-10",
        ):
            status, body = _get(port, path, token)
            counts[status] += 1
            if status == 503 and b"database_unavailable" not in body and b"unreachable" not in body:
                counts["503-without-clear-body"] += 1
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--i-own-this-mariadb", action="store_true", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--token", required=True)
    parser.add_argument("--down", type=float, default=15)
    args = parser.parse_args()
    phases = {"before": Counter(), "down": Counter(), "after": Counter()}
    _poll(args.port, args.token, 10, phases["before"])
    subprocess.run(shlex.split(args.stop), check=True)
    try:
        _poll(args.port, args.token, args.down, phases["down"])
    finally:
        subprocess.run(shlex.split(args.start), check=True)
    started = time.monotonic()
    while _get(args.port, "/ready", args.token)[0] != 200:
        if time.monotonic() - started > 60:
            print("the service did not recover within 60 s")
            return 1
        time.sleep(0.5)
    recovered = time.monotonic() - started
    _poll(args.port, args.token, 10, phases["after"])
    for phase, counts in phases.items():
        print(f"{phase:7} {dict(counts)}")
    print(f"ready again {recovered:.1f} s after the database was started")
    bad = sum(c[500] + c["503-without-clear-body"] for c in phases.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
