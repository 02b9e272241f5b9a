"""Settings for the example notes API, for local development only.

Environment variables:

- ``JWTSAFE_SIGNING_KEY``: the HMAC key that signs tokens. Without it, the
  project makes a key of its own in ``example_project/.signing-key``.
- ``DJANGO_SECRET_KEY``: Django's own secret key. Keep it different from the
  signing key.
- ``REDIS_URL``: a Redis server for the cache, such as
  ``redis://127.0.0.1:6379/0``. Without it the cache is in local memory.
- ``EXAMPLE_DB_PATH``: the SQLite file, ``example_project/db.sqlite3`` by
  default.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent

# This project is an example that runs on 127.0.0.1, so it keeps DEBUG on.
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# The fallback is public and for local development only.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY",
    "django-insecure-example-2k3ss!)+hni9)yqcs^5#o-#x+)yfl0#4k9)yo03w4b#t$tha1w",
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "jwtsafe",
    "example_project.accounts",
    "example_project.notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Marks responses to cookie-authenticated requests private to the user.
    "jwtsafe.middleware.CookieResponseCacheMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The user model carries the session version column of SessionVersionMixin.
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# jwtsafe keeps revocation state and login throttle counts in this cache.
# Local memory is private to one process, so it works only while a single
# process serves the API, as runserver does, and every revocation happens
# in that process. A revocation made in another process, such as a password
# change from `manage.py shell` or a logout handled by another worker, does
# not reach the server's memory. The revoked access token can then keep
# working until it expires, 5 minutes at most here, although refresh rejects
# it because refresh reads the database. With Redis, every process reads the
# same revocation state, so a revocation takes effect at once.
REDIS_URL = os.environ.get("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jwtsafe-example",
            # A slow or unreachable Redis costs a request this long at most
            # before jwtsafe reads the database instead.
            "OPTIONS": {"SOCKET_TIMEOUT": 0.25, "SOCKET_CONNECT_TIMEOUT": 0.25},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    # The Authorization header for API clients, the access cookie for the
    # web page. Cookie requests must pass Django's CSRF check.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jwtsafe.authentication.JWTCookieAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # JSON only: the browsable API's forms would list every username as a
    # choice for a note's shared_with field.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Rate for views that set throttle_scope, such as the password change.
    "DEFAULT_THROTTLE_RATES": {"password": "5/min"},
    # drf-spectacular builds the OpenAPI schema served at /api/schema/.
    # jwtsafe's own extensions describe its views and authentication.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "jwtsafe example notes API",
    "VERSION": "1.0.0",
    # Leave the schema URL itself out of the schema.
    "SERVE_INCLUDE_SCHEMA": False,
}


def development_signing_key() -> str:
    """Return this checkout's own signing key, made on first use.

    The key lives in ``.signing-key`` beside this file, which git ignores,
    so no two checkouts share a key and none is published. Deployments set
    JWTSAFE_SIGNING_KEY instead, to the output of
    ``python manage.py jwtsafe_keygen``.
    """
    path = BASE_DIR / ".signing-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    # Create the file readable by its owner only, and keep the key of a
    # process that made it first.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


JWTSAFE = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.get("JWTSAFE_SIGNING_KEY") or development_signing_key(),
    "ISSUER": "http://127.0.0.1:8000",
    "AUDIENCE": "example-notes-api",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# jwtsafe logs each rejected token at WARNING with a reason code, the token's
# jti and the user id. It never logs the token itself.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "jwtsafe": {"handlers": ["console"], "level": "WARNING"},
    },
}
