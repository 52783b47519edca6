"""Fault test: MariaDB stopped and started under load; clients get 503 (never 500) and the service recovers.

    .venv/bin/python bench/db_outage.py                      # stop (SIGTERM) for 15 s, then start
    .venv/bin/python bench/db_outage.py --how kill --down 20 # crash it (SIGKILL) instead

It never touches the MariaDB on 3306 or any server it did not start: it runs a
throwaway ``mariadbd`` of its own (``mariadb-install-db`` into a temporary
folder, ``--no-defaults``, loopback only, ``--port`` 3307 by default, refused
when something already listens there), creates ``cnperp_outage`` in it,
migrates, loads the demo company with ``--demo-size`` extra drafts, and starts
gunicorn on a free loopback port with ``DATABASE_URL`` pointing at it. Then
``--clients`` threads read every report and post drafts for the whole run,
while the script:

1. lets them run ``--before`` seconds;
2. stops the server (SIGTERM, a clean shutdown as ``systemctl stop`` does; or
   SIGKILL with ``--how kill``, a crash) and keeps it down ``--down`` seconds;
3. starts it again on the same data folder, and polls ``/ready`` until it is
   200 (at most 60 s), without touching gunicorn;
4. lets the clients run ``--after`` more seconds.

A posting answered 503 goes back into the queue and is tried again later, as
a client told ``Retry-After`` does; one that had committed just before a crash
is then refused as already posted (409), which is right and allowed.

Pass: no 500 (no 5xx other than 503) in any phase, every 503 has the JSON body
``"code": "database_unavailable"``, every request after recovery succeeds, and
the ledger is whole afterwards (``check_gl_balance`` exit 0, every posted draft
has exactly one posting). Exit status 1 otherwise. Everything it started is
stopped and the temporary folder removed at the end.
"""

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import GUNICORN, PYTHON, READS, ROOT, _free_port, _request

DATABASE = "cnperp_outage"
SHARED_PORT = 3306


def _listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ThrowawayMariaDB:
    """A mariadbd of this script's own, in a temporary folder, on loopback."""

    def __init__(self, port, folder):
        self.port = port
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.socket = self.folder / "mariadb.sock"
        self.log = self.folder / "mariadbd.err"
        self.process = None

    def install(self):
        # mariadbd runs as the mysql user when started by root: the folder must be its own.
        os.chmod(self.folder, 0o755)
        self.data.mkdir()
        run_as = ["--user=mysql"] if os.geteuid() == 0 else []
        if run_as:
            shutil.chown(self.folder, "mysql", "mysql")
            shutil.chown(self.data, "mysql", "mysql")
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *run_as,
            ],
            check=True,
            capture_output=True,
        )

    def start(self):
        run_as = ["--user=mysql"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                f"--pid-file={self.folder / 'mariadbd.pid'}",
                f"--log-error={self.log}",
                "--innodb-buffer-pool-size=64M",
                "--skip-name-resolve",
                *run_as,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log.read_text()[-2000:] if self.log.exists() else "(no log)"
                raise SystemExit(f"mariadbd exited at start:\n{log}")
            try:
                self.sql("SELECT 1")
                return
            except Exception:  # not accepting connections yet
                time.sleep(0.2)
        raise SystemExit("mariadbd did not accept connections within 60 s")

    def stop(self, how="stop"):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        self.process.wait(timeout=120)

    def sql(self, statement, database=None):
        import MySQLdb

        connection = MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", passwd="", db=database or "", connect_timeout=2
        )
        try:
            cursor = connection.cursor()
            cursor.execute(statement)
            rows = cursor.fetchall()
            connection.commit()
            return rows
        finally:
            connection.close()


def _manage(env, *args):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )


def _clear_503(payload):
    try:
        return json.loads(payload).get("code") == "database_unavailable"
    except (ValueError, AttributeError):
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3307, help="Port of the throwaway MariaDB (3307).")
    parser.add_argument("--how", choices=("stop", "kill"), default="stop", help="SIGTERM (stop) or SIGKILL.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--before", type=float, default=10)
    parser.add_argument("--down", type=float, default=15)
    parser.add_argument("--after", type=float, default=15)
    parser.add_argument(
        "--demo-size", type=int, default=3000, help="Draft transactions for the clients to post."
    )
    args = parser.parse_args()
    if args.port == SHARED_PORT:
        parser.error("--port 3306 is the shared server: this script only stops a server of its own.")
    if _listening(args.port):
        parser.error(f"something already listens on 127.0.0.1:{args.port}; choose another --port.")

    folder = tempfile.mkdtemp(prefix="cnperp-outage-")
    database = ThrowawayMariaDB(args.port, folder)
    server = None
    stop_clients = threading.Event()
    try:
        print(f"throwaway MariaDB in {folder} on 127.0.0.1:{args.port} ...", flush=True)
        database.install()
        database.start()
        database.sql(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
        env.update(
            DATABASE_URL=f"mysql://root:@127.0.0.1:{args.port}/{DATABASE}",
            DJANGO_SETTINGS_MODULE="cnperp.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="outage-test-" + os.urandom(32).hex(),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_LOG_LEVEL="WARNING",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS=str(args.workers),
            PROMETHEUS_MULTIPROC_DIR=str(Path(folder) / "metrics"),
        )
        (Path(folder) / "metrics").mkdir()
        print(f"migrate, load_demo --size {args.demo_size} ...", flush=True)
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "load_demo", "--size", str(args.demo_size))
        token = (
            _manage(env, "create_api_user", "outage-tester", "--superuser")
            .stdout.split("token: ")[1]
            .split()[0]
        )
        drafts = queue.Queue()
        for (pk,) in database.sql(
            "SELECT id FROM bank_transactions WHERE posting_status = 'draft' ORDER BY id", DATABASE
        ):
            drafts.put(pk)
        server = subprocess.Popen(
            [GUNICORN, "--config", "cnperp/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(folder) / "gunicorn.err", "w"),  # noqa: SIM115 - closed with the folder
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

        phase = {"name": "before"}
        retried = set()
        counts = defaultdict(Counter)
        problems = []
        lock = threading.Lock()
        paths = [*READS, "/health"]

        def client(number):
            turn = number
            while not stop_clients.is_set():
                turn += 1
                pk = None
                if turn % 3 == 0 and not drafts.empty():
                    try:
                        pk = drafts.get_nowait()
                    except queue.Empty:
                        continue
                    method, path, name = "POST", f"/api/v1/banking/transactions/{pk}/post-accounting", "post"
                else:
                    method, path = "GET", paths[turn % len(paths)]
                    name = path.split("?")[0].rsplit("/", 1)[-1]
                current = phase["name"]
                try:
                    status, _elapsed, payload = _request(
                        port, method, path, token, {} if method == "POST" else None
                    )
                except OSError as error:
                    status, payload = "no answer", str(error).encode()
                if pk is not None and status in (503, "no answer"):
                    # As a client told "Retry-After" does: the draft goes back to be posted later.
                    retried.add(pk)
                    drafts.put(pk)
                # A retried posting that had committed just before the crash is refused as already posted.
                settled = status == 409 and pk in retried
                with lock:
                    counts[current][status] += 1
                    bad = (
                        status == "no answer"
                        or (isinstance(status, int) and status >= 500 and status != 503)
                        or (status == 503 and name != "health" and not _clear_503(payload))
                        or (current == "after" and status not in (200, 201) and not settled)
                    )
                    if bad:
                        problems.append(f"{current} {method} {path}: {status} {payload[:200]!r}")
                time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(args.before)
        phase["name"] = "down"
        stopped_at = time.monotonic()
        database.stop(args.how)
        print(
            f"MariaDB {'killed' if args.how == 'kill' else 'stopped'} ({time.monotonic() - stopped_at:.1f} s)"
        )
        time.sleep(args.down)
        phase["name"] = "restarting"
        restarted_at = time.monotonic()
        database.start()
        ready_at = None
        while time.monotonic() - restarted_at < 60:
            try:
                if _request(port, "GET", "/ready", token)[0] == 200:
                    ready_at = time.monotonic()
                    break
            except OSError:
                pass
            time.sleep(0.1)
        phase["name"] = "after"
        if ready_at is None:
            problems.append("the service did not answer /ready 200 within 60 s of the database's start")
        else:
            print(
                f"MariaDB accepting connections after {time.monotonic() - restarted_at:.1f} s; "
                f"/ready 200 {ready_at - restarted_at:.1f} s after the start, gunicorn never restarted"
            )
            time.sleep(args.after)
        stop_clients.set()
        for thread in threads:
            thread.join()
        gunicorn_alive = server.poll() is None

        for name in ("before", "down", "restarting", "after"):
            print(f"{name:10} {dict(sorted(counts[name].items(), key=str))}")
        check = subprocess.run(
            [PYTHON, "manage.py", "check_gl_balance"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        print(f"check_gl_balance: exit {check.returncode}")
        orphans = database.sql(
            """SELECT COUNT(*) FROM bank_transactions t WHERE t.posting_status = 'posted'
            AND (SELECT COUNT(*) FROM journal_postings p WHERE p.source_type = 'bank_transaction'
            AND p.source_id = t.id AND p.purpose = 'post') <> 1""",
            DATABASE,
        )[0][0]
        print(f"posted transactions without exactly one posting: {orphans}")
        left = database.sql("SELECT COUNT(*) FROM bank_transactions WHERE posting_status = 'draft'", DATABASE)
        print(f"drafts retried after a 503: {len(retried)}; drafts still to post: {left[0][0]}")
        if check.returncode or orphans:
            problems.append("the ledger is not whole after the outage")
        if not gunicorn_alive:
            problems.append("gunicorn exited during the run")
        if not counts["down"]:
            problems.append("no request was made while the database was down")
        print(f"problems: {len(problems)}")
        for line in problems[:10]:
            print("  " + line)
        return 1 if problems else 0
    finally:
        stop_clients.set()
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        database.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
