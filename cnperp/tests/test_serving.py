"""Production serving: `check --deploy` is clean with production settings, and real gunicorn serves it."""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cnperp.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="banking.example.com,127.0.0.1",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/cnperp-deploy-check.sqlite3"),
    )
    env.update(extra)
    return env


def test_check_deploy_gives_no_warning_with_production_settings():
    # given only the three variables the README asks production to set
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_secret_key_production_settings_refuse_to_start():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is not set" in result.stderr


def test_the_gunicorn_config_uses_two_workers_per_cpu_plus_one():
    env = {k: v for k, v in os.environ.items() if k not in {"GUNICORN_WORKERS", "PROMETHEUS_MULTIPROC_DIR"}}
    code = (
        "import os, runpy; c = runpy.run_path('cnperp/gunicorn.conf.py'); "
        "print(c['workers'], len(os.sched_getaffinity(0)), c['bind'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    workers, cpus, bind = int(out[0]), int(out[1]), out[2]
    assert workers == 2 * cpus + 1
    assert bind == "0.0.0.0:8010"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_app_admin_static_files_and_metrics(tmp_path):
    # given production settings on the test database, static files collected
    db = connection.settings_dict
    env = _production_env(
        DATABASE_URL=f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SECURE_SSL_REDIRECT="0",
        LOG_FILE=str(tmp_path / "cnperp.log"),
        GUNICORN_WORKERS="2",
        GUNICORN_BIND=f"127.0.0.1:{(port := _free_port())}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    (tmp_path / "metrics").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "cnperp/gunicorn.conf.py"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = _get(base + "/health")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        # when
        for _ in range(6):
            _get(base + "/health")
        ready = _get(base + "/ready")
        css = _get(base + "/static/admin/css/base.css")
        metrics = _get(base + "/metrics")[2].decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # then
    assert status == 200 and ready[0] == 200
    assert css[0] == 200 and b"body" in css[2]
    assert "max-age" in css[1]["Cache-Control"]
    # both workers' counts are summed: 7 health checks
    assert 'cnperp_http_requests_total{method="GET",status="200"}' in metrics
    health_count = [
        line
        for line in metrics.splitlines()
        if line.startswith("cnperp_http_requests_total") and "200" in line
    ]
    assert float(health_count[0].split()[-1]) >= 8
    # the request log went to LOG_FILE as JSON lines
    log_lines = (tmp_path / "cnperp.log").read_text().splitlines()
    assert any('"path":"/ready"' in line and '"status":200' in line for line in log_lines)
