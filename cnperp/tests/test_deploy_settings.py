"""Production settings: ``check --deploy`` is clean, the secret key is required, TLS options work.

Each case starts a fresh ``manage.py`` (or Python) with the production settings
module and only the variables an operator would set, since settings are read
once per process.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "cnperp.settings",
    "DJANGO_DEBUG": "0",
    "DATABASE_URL": "sqlite:////tmp/cnperp-deploy-check.sqlite3",
}
SHOWN = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_PROXY_SSL_HEADER",
    "BANKING_SEGREGATION_OF_DUTIES",
)


def _environment(**overrides):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "BANKING_"))}
    env.update(PRODUCTION)
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _run(args, **overrides):
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=_environment(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(**overrides):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {SHOWN!r}}}))"
    )
    result = _run(["-c", code], **overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_reports_nothing_with_a_real_secret_key():
    result = _run(["manage.py", "check", "--deploy"], DJANGO_SECRET_KEY=secrets.token_urlsafe(60))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _run(["manage.py", "check"], DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_development_may_run_without_one():
    result = _run(["manage.py", "check"], DJANGO_SECRET_KEY=None, DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_production_is_secure_by_default_and_each_switch_works():
    key = secrets.token_urlsafe(60)
    secure = _settings(DJANGO_SECRET_KEY=key)
    assert secure == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "BANKING_SEGREGATION_OF_DUTIES": True,
    }
    behind_proxy = _settings(
        DJANGO_SECRET_KEY=key,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
    )
    assert behind_proxy["SECURE_SSL_REDIRECT"] is False
    assert behind_proxy["SECURE_HSTS_SECONDS"] == 0
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_test_settings_not_the_production_ones_turn_the_redirect_off():
    # The production module no longer guesses from the settings module's name.
    assert "DJANGO_SETTINGS_MODULE" not in (BASE_DIR / "cnperp" / "settings.py").read_text()
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.BANKING_SEGREGATION_OF_DUTIES is False
