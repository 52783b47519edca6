"""A server process once its code is loaded: every view imported, start-up's objects frozen."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_entry_point_loads_the_views_and_freezes_start_up():
    # When the application gunicorn serves is imported, in a process of its own
    script = (
        "import gc, sys\n"
        "before = gc.get_freeze_count()\n"
        "import cnperp.wsgi\n"
        "print(before, gc.get_freeze_count(), 'banking.api.report_views' in sys.modules)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cnperp.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    # Then the views were imported before any request, and start-up's objects are out of the
    # collector's walks (tens of thousands of them)
    assert done.returncode == 0, done.stderr
    before, frozen, views_loaded = done.stdout.split()
    assert before == "0"
    assert int(frozen) > 10_000
    assert views_loaded == "True"
