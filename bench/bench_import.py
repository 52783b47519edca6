"""Statement import benchmark: ``.venv/bin/python bench/bench_import.py --lines 50000``.

Creates a fresh MariaDB database of its own (``cnperp_bench_import``, dropped at
the end unless ``--keep``) through a root connection, migrates it, creates one
bank account, and writes a camt.053.001.08 file of N entries (a realistic mix:
credits and debits, bank references on most lines, end-to-end ids, names,
remittance text, some lines without any reference, which take the content-hash
path). Then, in a *fresh process* (so that peak memory is the import's own, not
the set-up's), it runs ``banking.statement_import.statement_import`` on the file
exactly as the API and ``manage.py import_statement`` do, and prints lines per
second and the peak resident memory (``VmHWM``, ``bench/peak_memory.py``). A second import of
the same file (all duplicates) is timed too. ``--repeat N`` imports N times
(the statement is deleted, untimed, between them) and prints each.

Last, the **raw-SQL floor** of the write: the stored lines, read back, are
inserted again with multi-row INSERTs of literals into a ``CREATE TABLE ...
LIKE`` copy of the lines table (same columns and indexes, no foreign keys) on a
plain mysqlclient connection, and the file is parsed once more alone: the
import's time beyond parse + floor is the service's own (dedupe, checks, rows).
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_memory import peak_mib  # noqa: E402  (bench/ is the script's own directory)

DB_NAME = "cnperp_bench_import"
HOST, PORT, USER = "127.0.0.1", 3306, "root"
IBAN = "DE89370400440532013000"
NAMES = ("ACME GmbH", "Blue Ocean Ltd", "Carla Diaz", "Delta Freight", "Eastside Bakery", "Fjord Energy AS")


def _server():
    import MySQLdb

    return MySQLdb.connect(host=HOST, port=PORT, user=USER, passwd="", charset="utf8mb4")


def _recreate_database():
    server = _server()
    cursor = server.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    cursor.execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()


def _drop_database():
    server = _server()
    server.cursor().execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    server.close()


def _setup_django(migrate=False):
    os.environ["DATABASE_URL"] = f"mysql://{USER}:@{HOST}:{PORT}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cnperp.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _entry_amount(n):
    """Return entry ``n``'s signed amount: two credits, then a debit, repeating."""
    amount = Decimal(1000 + (n * 7919) % 900000) / 100
    return amount if n % 3 else -amount


def write_camt(path, size):
    """Write a camt.053 of ``size`` entries; return its opening and closing balance.

    Fixed data: every value follows from the entry's number, so two runs write
    the same file. Balances come before the entries, as the schema orders them.
    """
    opening = Decimal("250000.00")
    closing = opening + sum((_entry_amount(n) for n in range(size)), Decimal("0.00"))
    start = datetime.date(2025, 10, 1)
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2025-10-31T20:00:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH-2025-10</Id>"
            "<FrToDt><FrDtTm>2025-10-01T00:00:00</FrDtTm><ToDtTm>2025-10-31T23:59:59</ToDtTm></FrToDt>"
            f"<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            + _balance("OPBD", opening)
            + _balance("CLBD", closing)
        )
        entries = []
        for n in range(size):
            signed = _entry_amount(n)
            credit = signed > 0
            day = (start + datetime.timedelta(days=n % 31)).isoformat()
            party = "Dbtr" if credit else "Cdtr"
            reference = f"<AcctSvcrRef>BK{n:08d}</AcctSvcrRef>" if n % 10 else ""
            end_to_end = f"E2E-{n:08d}" if n % 4 else "NOTPROVIDED"
            indicator = "CRDT" if credit else "DBIT"
            entries.append(
                f'<Ntry><Amt Ccy="EUR">{abs(signed)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
                f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
                f"{reference}<BkTxCd><Prtry><Cd>{'RCDT' if credit else 'ICDT'}</Cd></Prtry></BkTxCd>"
                f"<NtryDtls><TxDtls><Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>"
                f"<RltdPties><{party}><Pty><Nm>{NAMES[n % len(NAMES)]}</Nm></Pty></{party}></RltdPties>"
                f"<RmtInf><Ustrd>INV-{n % 5000:05d}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
            )
            if len(entries) == 5000:
                out.write("".join(entries))
                entries = []
        out.write("".join(entries))
        out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return opening, closing


def _balance(code, amount):
    sign = "DBIT" if amount < 0 else "CRDT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>2025-10-31</Dt></Dt></Bal>"
    )


def _prepare():
    from accounting.models import GLAccount
    from banking.models import BankAccount

    gl = GLAccount.objects.create(id="gl-1100", code="1100", name="Bank", account_type="asset")
    BankAccount.objects.create(
        id="ba-op", name="Operating", bank_name="Bench Bank", iban=IBAN, currency="EUR", gl_account=gl
    )


def _floor():
    """Return ``(seconds, rows)`` to INSERT the stored lines again as raw SQL into a copy of their table."""
    server = _server()
    server.select_db(DB_NAME)
    cursor = server.cursor()
    cursor.execute("SELECT * FROM bank_statement_lines ORDER BY id")
    columns = ", ".join(column[0] for column in cursor.description)
    rows = cursor.fetchall()
    cursor.execute("DROP TABLE IF EXISTS bench_floor_lines")
    cursor.execute("CREATE TABLE bench_floor_lines LIKE bank_statement_lines")
    quote = server.string_literal

    def text(value):
        return "NULL" if value is None else quote(str(value).encode()).decode()

    started = time.perf_counter()
    for chunk in range(0, len(rows), 2000):
        values = ",".join("(" + ",".join(map(text, row)) + ")" for row in rows[chunk : chunk + 2000])
        cursor.execute(f"INSERT INTO bench_floor_lines ({columns}) VALUES {values}")
    server.commit()
    seconds = time.perf_counter() - started
    cursor.execute("DROP TABLE bench_floor_lines")
    server.close()
    return seconds, len(rows)


def _history_length():
    """InnoDB's history list: row versions (the deleted lines among them) its purge has yet to remove."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW ENGINE INNODB STATUS")
        status = cursor.fetchone()[2]
    match = re.search(r"History list length (\d+)", status)
    return int(match.group(1)) if match else 0


def _wait_for_purge(limit_seconds=120):
    """Wait until InnoDB has purged what the DELETE before a repeat left, or ``limit_seconds``.

    The purge of 50,000 deleted lines runs in the background on the same two
    cores: an import started during it measured the purge too (17,500 lines/s
    against 22,700 for the first import of a process). An import in use does
    not follow a DELETE of 50,000 lines, so each repeat starts as the first did.
    """
    deadline = time.monotonic() + limit_seconds
    while _history_length() > 1000 and time.monotonic() < deadline:
        time.sleep(0.5)


def _run(path, repeat=1):
    """Import the file twice in this process; print a JSON line of figures."""
    _setup_django()
    from banking.importers import parse_statements
    from banking.models import BankAccount, BankStatement, StatementLine
    from banking.statement_import import statement_import

    account = BankAccount.objects.get(pk="ba-op")
    content = Path(path).read_bytes()
    runs = []
    for attempt in range(repeat):
        if attempt:
            StatementLine.objects.all().delete()
            BankStatement.objects.all().delete()
            _wait_for_purge()
        started = time.perf_counter()
        result = statement_import(
            bank_account=account, content=content, file_name=Path(path).name, format="auto", user=None
        )
        runs.append(round(time.perf_counter() - started, 3))
    first = runs[-1]
    peak = peak_mib()
    started = time.perf_counter()
    again = statement_import(bank_account=account, content=content, file_name=Path(path).name, user=None)
    second = time.perf_counter() - started
    started = time.perf_counter()
    parse_statements(content, format="auto", profile=None)
    parse_seconds = time.perf_counter() - started
    floor_seconds, floor_rows = _floor()
    outcome = result.statements[0].statement
    print(
        json.dumps(
            {
                "bytes": len(content),
                "lines_read": result.lines_read,
                "new_lines": result.new_lines,
                "stored": StatementLine.objects.filter(bank_account=account).count(),
                "is_consistent": outcome.is_consistent,
                "seconds": round(first, 3),
                "lines_per_second": round(result.lines_read / first),
                "peak_rss_mib": round(peak, 1),
                "reimport_seconds": round(second, 3),
                "reimport_duplicates": again.duplicate_lines,
                "runs": runs,
                "parse_seconds": round(parse_seconds, 3),
                "floor_seconds": round(floor_seconds, 3),
                "floor_rows": floor_rows,
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--repeat", type=int, default=1, help="Import this many times (default 1).")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run(args.run, args.repeat)
        return
    _recreate_database()
    try:
        _setup_django(migrate=True)
        _prepare()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench_camt053.xml"
            started = time.perf_counter()
            write_camt(path, args.lines)
            print(
                f"wrote {args.lines:,} entries, {path.stat().st_size:,} bytes "
                f"in {time.perf_counter() - started:.1f} s"
            )
            child = subprocess.run(
                [sys.executable, __file__, "--run", str(path), "--repeat", str(args.repeat)],
                capture_output=True,
                text=True,
                check=False,
                env=os.environ.copy(),
            )
            if child.returncode != 0:
                sys.stderr.write(child.stderr)
                sys.exit(child.returncode)
            figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"import: {figures['bytes']:,} bytes, {figures['lines_read']:,} lines "
            f"in {figures['seconds']} s = "
            f"{figures['lines_per_second']:,} lines/s; peak RSS {figures['peak_rss_mib']} MiB; "
            f"stored {figures['stored']:,}; consistent {figures['is_consistent']}"
        )
        print(
            f"re-import of the same file: {figures['reimport_seconds']} s, "
            f"{figures['reimport_duplicates']:,} duplicates, nothing added"
        )
        if len(figures["runs"]) > 1:
            print(f"all runs (s): {figures['runs']}")
        floor = figures["parse_seconds"] + figures["floor_seconds"]
        ratio = figures["seconds"] / floor
        print(
            f"floor: parse alone {figures['parse_seconds']} s + raw INSERT of {figures['floor_rows']:,} rows "
            f"{figures['floor_seconds']} s = {floor:.2f} s; import / floor = {ratio:.2f} "
            f"(load average {figures['load_average']})"
        )
    finally:
        if not args.keep:
            _drop_database()


if __name__ == "__main__":
    main()
