"""Parser benchmark: ``.venv/bin/python bench/bench_parsers.py``.

Times reading OFX files that grow fourfold (2,500, 10,000 and 40,000
transactions) and files of 80,000 unterminated ``<?`` and ``<![CDATA[``
openers, parse only (no database). Reading must grow with the file, not with
its square: the time per transaction stays flat, and an unterminated opener is
refused at once. Before the fix, 40,000 transactions took 134 s and 80,000
``<![CDATA[`` 175 s (docs/benchmarks.md, "Statement import").
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timed(content):
    from banking.importers import ofx
    from banking.importers.base import StatementParseError

    started = time.perf_counter()
    try:
        lines = sum(len(statement.lines) for statement in ofx.parse(content))
    except StatementParseError as exc:
        lines = f"refused: {exc}"
    return time.perf_counter() - started, lines


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cnperp.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/cnperp-bench-parsers.sqlite3")
    import django

    django.setup()
    # The same file the parser's tests read (banking/tests/test_parsers_under_fuzz.py).
    from banking.tests.statement_files import ofx_with

    for transactions in (2500, 10000, 40000):
        content = ofx_with(transactions)
        seconds, lines = _timed(content)
        print(
            f"OFX, {transactions:,} transactions ({len(content) / 1e6:.1f} MB): {seconds:.2f} s, "
            f"{seconds / transactions * 1e6:.1f} us per transaction, {lines} lines"
        )
    for opener in ("<?", "<![CDATA["):
        content = ("OFXHEADER:100\n\n<OFX>" + opener * 80000).encode()
        seconds, outcome = _timed(content)
        print(f"OFX, 80,000 unterminated {opener} ({len(content) / 1e3:.0f} KB): {seconds:.3f} s, {outcome}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
