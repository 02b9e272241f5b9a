from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


def pytest_report_header() -> list[str]:
    redis_url = getattr(settings, "REDIS_URL", None)
    lines = [f"jwtsafe: database {settings.DATABASES['default']['ENGINE']}"]
    if redis_url:
        lines.append(f"jwtsafe: Redis at {redis_url}")
    else:
        lines.append(
            "jwtsafe: NOTICE no Redis server found and redis-server is not "
            "installed; tests marked 'redis' are skipped"
        )
    return lines


# The log scan: every record the suite logs, at any level and from any
# logger, must contain no token, key or password.

# A compact JWS or JWT: base64url of '{"' then two more segments.
LOGGED_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Secrets made during the run, such as the keys of key-ring tests.
SECRETS_MADE: set[str] = set()


class LogScan(logging.Handler):
    """Keep the text of every record logged while the suite runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        found = self.secrets_in(text)
        if found:
            self.leaks.append(f"{record.name} {record.levelname}: {found}")

    @staticmethod
    def secrets_in(text: str) -> str | None:
        if LOGGED_TOKEN.search(text):
            return "a token"
        if "PRIVATE KEY" in text:
            return "a PEM private key"
        known = {
            "the test signing key": settings.JWTSAFE.get("SIGNING_KEY"),
            "SECRET_KEY": settings.SECRET_KEY,
            "the test password": PASSWORD,
        }
        for name, value in known.items():
            if isinstance(value, str) and value and value in text:
                return name
        for value in list(SECRETS_MADE):
            if value in text:
                return "a key made by a test"
        return None


LOG_SCAN = LogScan()


def pytest_configure(config: Any) -> None:
    logging.getLogger().addHandler(LOG_SCAN)
    logging.getLogger().setLevel(logging.DEBUG)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    logging.getLogger().removeHandler(LOG_SCAN)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if LOG_SCAN.leaks:
        if reporter is not None:
            reporter.write_sep("=", "secrets found in the suite's logs", red=True)
            for leak in LOG_SCAN.leaks[:20]:
                reporter.write_line(leak)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(
            f"jwtsafe: log scan read {LOG_SCAN.records} log records; no token, "
            "key or password in them"
        )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if getattr(settings, "REDIS_URL", None) is None:
        skip = pytest.mark.skip(reason="no Redis server (see the report header)")
        for item in items:
            if "redis" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> Any:
        number = next(counter)
        fields.setdefault("username", f"user{number}")
        fields.setdefault("email", f"user{number}@example.com")
        return get_user_model().objects.create_user(password=PASSWORD, **fields)

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user(username="alice")


@pytest.fixture
def other_user(make_user: Callable[..., Any]) -> Any:
    return make_user(username="bob")


# Every claim jwtsafe writes into a token without scopes. No role, group or
# permission is among them.
DOCUMENTED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver", "token_use"}
)


def login(client: APIClient, user: Any, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(
        "/auth/login/",
        {"username": user.get_username(), "password": password},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def tokens(client: APIClient, user: Any) -> dict[str, str]:
    return login(client, user)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# Raw token building, independent of jwtsafe and PyJWT, so that tests can
# produce every malformed or forged shape.


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def split_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def sign_raw(
    header_segment: str,
    payload_segment: str,
    key: bytes | str | None = None,
    algorithm: str = "HS256",
) -> str:
    """Return a compact token over already encoded segments, HMAC-signed."""
    if key is None:
        key = settings.JWTSAFE["SIGNING_KEY"]
    if isinstance(key, str):
        key = key.encode("utf-8")
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    signature = hmac.new(key, signing_input, HASHES[algorithm]).digest()
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def mint(
    header: dict[str, Any],
    payload: Any,
    key: bytes | str | None = None,
    algorithm: str = "HS256",
) -> str:
    return sign_raw(b64url_json(header), b64url_json(payload), key, algorithm)


def resign(
    token: str,
    header_changes: dict[str, Any] | None = None,
    claim_changes: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    key: bytes | str | None = None,
) -> str:
    """Re-sign ``token`` with the server key after changing its header or claims."""
    header, payload = split_token(token)
    header.update(header_changes or {})
    payload.update(claim_changes or {})
    for name in remove:
        header.pop(name, None)
        payload.pop(name, None)
    return mint(header, payload, key)


class RedisCommandCounter:
    """Count round trips to Redis: each packed command sent on a connection."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> RedisCommandCounter:
        from redis.connection import AbstractConnection

        self._patch = pytest.MonkeyPatch()
        original = AbstractConnection.send_packed_command
        counter = self

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return original(self, *args, **kwargs)

        self._patch.setattr(AbstractConnection, "send_packed_command", counting)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._patch.undo()


@pytest.fixture
def uses_postgres() -> bool:
    return connection.vendor == "postgresql"


def private_pem(key: Any) -> str:
    """Return a private key as unencrypted PKCS#8 PEM text."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem(key: Any) -> str:
    """Return the public key of a private key as SubjectPublicKeyInfo PEM text."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
