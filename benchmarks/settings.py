"""Settings of the benchmark project: one tiny view behind each setup.

``DATABASE_URL`` selects the database (PostgreSQL on 127.0.0.1 by default)
and ``REDIS_URL`` the Redis database (number 13 by default, which the test
suite does not use). The benchmark creates its own database, named
``jwtsafe_bench``, and drops it at the end.

The signing keys are made once and put in the environment, so the gunicorn
workers that ``benchmarks.run`` starts sign and verify with the same ones.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import dj_database_url

SECRET_KEY = os.environ.setdefault("BENCH_SECRET_KEY", secrets.token_urlsafe(40))
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.urls"
WSGI_APPLICATION = "benchmarks.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework.authtoken",
    "knox",
    "jwtsafe",
]

# No middleware: the setups differ only in their authentication class, and
# middleware would add the same cost to each.
MIDDLEWARE: list[str] = []

DATABASES = {
    "default": {
        **dj_database_url.parse(
            os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        ),
        # Persistent connections, as production servers use them; otherwise
        # every request of the setups that query would pay a new connection.
        "CONN_MAX_AGE": None,
        "TEST": {"NAME": "jwtsafe_bench"},
    }
}
# Set by benchmarks.run for the gunicorn workers of the --http mode, which
# use the database the run created.
if os.environ.get("BENCH_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["BENCH_DATABASE_NAME"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "bench",
    }
}

# The hash that makes the benchmark users; login and password checks are not
# what is measured.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ISSUER = "https://auth.bench.test"
AUDIENCE = "https://api.bench.test"

JWTSAFE = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.setdefault(
        "BENCH_JWTSAFE_KEY", secrets.token_urlsafe(32)
    ),
    "ISSUER": ISSUER,
    "AUDIENCE": AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "LOGIN_THROTTLE_RATES": {"ip": None, "username": None},
}

# The floor setup signs with its own key, like every other setup.
FLOOR_KEY = os.environ.setdefault("BENCH_FLOOR_KEY", secrets.token_urlsafe(32))

SIMPLE_JWT = {
    "SIGNING_KEY": os.environ.setdefault(
        "BENCH_SIMPLEJWT_KEY", secrets.token_urlsafe(32)
    ),
    "ALGORITHM": "HS256",
    "ISSUER": ISSUER,
    "AUDIENCE": AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    # Rejections of the bad-credential check are expected.
    "loggers": {
        "jwtsafe": {"handlers": ["null"], "propagate": False},
        "django.request": {"handlers": ["null"], "propagate": False},
    },
}
