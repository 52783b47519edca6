"""Settings for the test suite: MariaDB on 127.0.0.1:3306 unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "mysql://root:@127.0.0.1:3306/cnperp")

from cnperp.settings import *  # noqa: F403
from cnperp.settings import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# No API rate limits in the suite (cnperp/tests/test_auth_throttle.py turns them on).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
# Django's test client talks plain HTTP.
SECURE_SSL_REDIRECT = False
# Existing tests make and post with one user; test_duties.py turns the rule on.
BANKING_SEGREGATION_OF_DUTIES = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
