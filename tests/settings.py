"""Settings for jwtsafe's test suite, on ``auth.User`` with jwtsafe's version table.

``DATABASE_URL`` selects the database (PostgreSQL under CI); without it the
tests use SQLite. ``REDIS_URL`` selects the Redis server.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dj_database_url

from tests.services import find_redis_url

SECRET_KEY = "tests-django-secret-key-not-the-jwt-key-" + "x" * 16
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "jwtsafe",
    "tests.testapp",
    "example_project.notes",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tests.testapp.backends.DocumentEditorBackend",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Activates the language of Accept-Language, for tests/test_translations.py.
    # Without the header, LANGUAGE_CODE (en-us) applies and texts stay English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "jwtsafe.middleware.CookieResponseCacheMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "sqlite:///:memory:")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Fast hashing keeps the suite quick; production keeps Django's default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REDIS_URL = find_redis_url()
if REDIS_URL is not None:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jwtsafe-tests",
            "OPTIONS": {"SOCKET_TIMEOUT": 2, "SOCKET_CONNECT_TIMEOUT": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwtsafe.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# Test-only key, 64 random bytes written as hex. Never reuse it anywhere.
TEST_SIGNING_KEY = (
    "8f4c1b7e2d9a6053c4e8b1f7a2d6093e5c7b1a4f8e2d6c9b3a7f1e5d8c2b6a90"
    "1d7e3f9a5c2b8e4d6f0a3c7e9b1d5f8a2c4e6b0d3f7a9c1e5b8d2f4a6c0e3b7"
)

JWTSAFE = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": TEST_SIGNING_KEY,
    "ISSUER": "https://auth.jwtsafe.test",
    "AUDIENCE": "https://api.jwtsafe.test",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "LEEWAY": timedelta(seconds=10),
    "CACHE_ALIAS": "default",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    # Every level, so that the suite's log scan (tests/conftest.py) reads
    # every record jwtsafe could log.
    "loggers": {"jwtsafe": {"handlers": ["null"], "level": "DEBUG"}},
}
