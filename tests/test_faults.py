"""Redis and database faults: no revocation is lost and no response is 500.

The Redis tests start a Redis server of their own on a free loopback port
and stop, restart and pause it. The database tests point Django's
connection at a port where nothing listens. Every request goes through the
real views; the client turns a server error into a 500 response instead of
raising, so a crash shows as a failed status assertion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from jwtsafe.models import Session
from jwtsafe.revocation import session_key, user_key
from tests.conftest import PASSWORD, bearer, login, split_token
from tests.services import _answers, _free_port

# How long a cache command may wait before jwtsafe reads the database
# instead: django-redis's SOCKET_TIMEOUT.
SOCKET_TIMEOUT_SECONDS = 0.3


class RedisServer:
    """A redis-server process on a free loopback port, started and stopped at will."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            reason = "redis-server is not installed"
            if os.environ.get("JWTSAFE_CI"):
                pytest.fail(f"{reason}, and CI must run the Redis fault tests")
            pytest.skip(reason)
        self.executable = executable
        self.port = _free_port()
        self.directory = tempfile.mkdtemp(prefix="jwtsafe-faults-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("the test Redis server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self, milliseconds: int) -> None:
        """Make the server hold every client's commands for ``milliseconds``."""
        client = redis.Redis(port=self.port)
        client.execute_command("CLIENT", "PAUSE", milliseconds, "ALL")
        client.close()

    def raw(self) -> redis.Redis:
        return redis.Redis(port=self.port)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def faulty_cache(redis_server: RedisServer) -> Iterator[RedisServer]:
    """Use the test's own Redis server as jwtsafe's cache, with timeouts."""
    caches_setting = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {
                "SOCKET_TIMEOUT": SOCKET_TIMEOUT_SECONDS,
                "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
    with override_settings(CACHES=caches_setting):
        yield redis_server
    caches["default"].close()


@pytest.fixture
def client() -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    return client


def whoami(client: APIClient, access: str) -> int:
    return int(client.get("/whoami/", **bearer(access)).status_code)


def logout(client: APIClient, access: str) -> int:
    return int(client.post("/auth/logout/", **bearer(access)).status_code)


def cached_keys(server: RedisServer, access: str) -> list[bytes]:
    _, claims = split_token(access)
    raw = server.raw()
    names = [f"*{user_key(claims['sub'])}", f"*{session_key(claims['sid'])}"]
    return [key for name in names for key in raw.keys(name)]


@pytest.mark.django_db
class TestRedisFaults:
    def test_stop_and_restart(self, client, faulty_cache, make_user):
        alice, bob, carol = (make_user() for _ in range(3))
        alice_access = login(client, alice)["access"]
        bob_access = login(client, bob)["access"]
        carol_access = login(client, carol)["access"]
        assert logout(client, bob_access) == 204

        # Redis up: the cache decides.
        assert whoami(client, alice_access) == 200
        assert whoami(client, bob_access) == 401

        # Redis down: the database decides, and a logout still ends a session.
        faulty_cache.stop()
        for _ in range(3):
            assert whoami(client, alice_access) == 200
            assert whoami(client, bob_access) == 401
        assert logout(client, carol_access) == 204
        assert whoami(client, carol_access) == 401
        # Login counts attempts in the cache: without it, login is
        # unavailable rather than unthrottled.
        response = client.post(
            "/auth/login/",
            {"username": alice.get_username(), "password": PASSWORD},
            format="json",
        )
        assert response.status_code == 503

        # Redis back, empty: the first requests refill it.
        faulty_cache.start()
        assert whoami(client, alice_access) == 200
        assert whoami(client, bob_access) == 401
        assert whoami(client, carol_access) == 401
        assert len(cached_keys(faulty_cache, alice_access)) == 2

    def test_slow_redis_wait_is_bounded(self, client, faulty_cache, make_user):
        alice, bob = make_user(), make_user()
        alice_access = login(client, alice)["access"]
        bob_access = login(client, bob)["access"]
        assert logout(client, bob_access) == 204

        faulty_cache.pause(3000)
        started = time.monotonic()
        assert whoami(client, alice_access) == 200
        assert whoami(client, bob_access) == 401
        elapsed = time.monotonic() - started
        # Two requests, each waiting one socket timeout at most before the
        # database answers, well inside the three-second pause.
        assert elapsed < 4 * SOCKET_TIMEOUT_SECONDS + 1, elapsed

    def test_revocation_during_partition_not_lost(
        self, client, faulty_cache, make_user
    ):
        # The cache contains "active" for bob's session when his logout cannot
        # reach Redis. When Redis responds again, the stale entry must not let
        # his token back in.
        bob = make_user()
        bob_access = login(client, bob)["access"]
        assert whoami(client, bob_access) == 200
        assert len(cached_keys(faulty_cache, bob_access)) == 2

        faulty_cache.pause(1500)
        assert logout(client, bob_access) == 204
        assert whoami(client, bob_access) == 401
        time.sleep(1.6)

        assert whoami(client, bob_access) == 401
        _, claims = split_token(bob_access)
        assert Session.objects.get(pk=claims["sid"]).revoked_at is not None


def point_database_at_closed_port() -> dict[str, Any]:
    """Make every new database connection fail; return the old settings."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = str(_free_port())
    connection.settings_dict["OPTIONS"] = {
        **connection.settings_dict.get("OPTIONS", {}),
        "connect_timeout": 1,
    }
    return saved


@pytest.fixture
def database_outage(transactional_db: None) -> Iterator[Any]:
    if connection.vendor != "postgresql":
        reason = "needs PostgreSQL to cut the connection (set DATABASE_URL)"
        if os.environ.get("JWTSAFE_CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    class Outage:
        saved: dict[str, Any] | None = None

        def start(self) -> None:
            self.saved = point_database_at_closed_port()

        def end(self) -> None:
            if self.saved is not None:
                connection.close()
                connection.settings_dict.clear()
                connection.settings_dict.update(self.saved)
                self.saved = None

    outage = Outage()
    yield outage
    outage.end()


class TestDatabaseFaults:
    def test_database_down(self, client, make_user, database_outage):
        alice, bob, dave = (make_user() for _ in range(3))
        alice_tokens = login(client, alice)
        bob_access = login(client, bob)["access"]
        dave_access = login(client, dave)["access"]
        assert logout(client, bob_access) == 204
        # Dave's state leaves the cache, so only the database could vouch.
        _, claims = split_token(dave_access)
        cache.delete_many([user_key(claims["sub"]), session_key(claims["sid"])])

        database_outage.start()
        # The cache still accepts alice and still marks bob's session revoked.
        assert whoami(client, alice_tokens["access"]) == 200
        assert whoami(client, bob_access) == 401
        # Nothing vouches for dave: refused as unavailable, not accepted.
        response = client.get("/whoami/", **bearer(dave_access))
        assert response.status_code == 503
        assert response.json() == {"detail": response.json()["detail"]}
        # Endpoints that need the database answer 503 too.
        assert (
            client.post(
                "/auth/refresh/", {"refresh": alice_tokens["refresh"]}, format="json"
            ).status_code
            == 503
        )
        assert (
            client.post(
                "/auth/login/",
                {"username": alice.get_username(), "password": "wrong"},
                format="json",
            ).status_code
            == 503
        )
        assert logout(client, alice_tokens["access"]) == 503

        database_outage.end()
        assert whoami(client, dave_access) == 200
        refreshed = client.post(
            "/auth/refresh/", {"refresh": alice_tokens["refresh"]}, format="json"
        )
        assert refreshed.status_code == 200


@pytest.mark.django_db
def test_entries_that_let_tokens_in_expire_soon(
    client, faulty_cache, make_user, settings
):
    # Another process is never told of a failed revocation write, so an entry
    # that reads "active" must not outlive an access token.
    alice, bob = make_user(), make_user()
    alice_access = login(client, alice)["access"]
    bob_access = login(client, bob)["access"]
    assert logout(client, bob_access) == 204
    raw = faulty_cache.raw()
    access_lifetime = settings.JWTSAFE["ACCESS_TOKEN_LIFETIME"].total_seconds()
    refresh_lifetime = settings.JWTSAFE["REFRESH_TOKEN_LIFETIME"].total_seconds()

    for key in cached_keys(faulty_cache, alice_access):
        assert 0 < raw.ttl(key) <= access_lifetime
    _, claims = split_token(bob_access)
    [revoked] = raw.keys(f"*{session_key(claims['sid'])}")
    assert access_lifetime < raw.ttl(revoked) <= refresh_lifetime
