"""Gunicorn settings for ``make serve`` and the systemd unit (docs/deployment.md).

Workers: 2 x CPUs + 1, gunicorn's own rule of thumb for synchronous workers
that wait on the database; GUNICORN_WORKERS overrides it. The app servers keep
no state of their own (sessions and data live in the database), so any number
of them can run behind a load balancer.
"""

import os
import shutil
import tempfile

from prometheus_client import multiprocess


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


wsgi_app = "cnperp.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8010')}")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * _cpu_count() + 1))
worker_class = "sync"
# A report must answer in 500 ms; 30 s means something is stuck, and the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage.
max_requests = 2000
max_requests_jitter = 200
# The request line is logged by cnperp.middleware as JSON; gunicorn's access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Every worker writes its metrics into one folder, and /metrics adds them up.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="cnperp-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    # Values left by a previous run would be added to this one's.
    for entry in os.listdir(_metrics_dir):
        path = os.path.join(_metrics_dir, entry)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
