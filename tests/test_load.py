"""Logout under load: every gunicorn worker rejects the revoked token at once.

The example project runs under gunicorn with several gthread workers, on a
PostgreSQL database that the test creates and drops, and on Redis database
10, which the test flushes. Client threads send authenticated GETs with the
access tokens of alice and bob for 30 seconds, and alice logs out halfway.
No request may fail, every request with alice's token sent after the logout
returned must get 401, and bob's requests must keep getting 200.

gunicorn's access log records the worker pid, the status and the
``X-Request-Id`` header of each request, and never the ``Authorization``
header. Joined with the clients' records, it shows that each worker rejected
alice's token with 401 after the logout.

The test needs gunicorn, PostgreSQL (``DATABASE_URL``) and Redis. Without
one of them it is skipped with the reason, except under CI (``JWTSAFE_CI``
set), where it fails. ``-m "not load"`` leaves it out. The figures of the
run are printed to the terminal.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import secrets
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import dj_database_url
import jwt
import pytest
from django.conf import settings

from tests.test_example_project import (  # noqa: F401 (fixtures)
    STARTUP_TIMEOUT_SECONDS,
    _free_port,
    _wait_until_serving,
    example_env,
    manage,
    start_server,
    stop,
)

WORKERS = 4
THREADS_PER_WORKER = 8
CLIENTS = 32
RUN_SECONDS = 30.0
LOGOUT_AFTER_SECONDS = 15.0
REQUEST_TIMEOUT_SECONDS = 10.0
# A keep-alive connection stays on the worker that accepted it, so each
# client opens a new connection after this many requests. That spreads the
# connections over all workers, including late starters, and the test
# checks that each worker served the revoked token.
REQUESTS_PER_CONNECTION = 25
# Far longer than the pause between a client's requests, so gunicorn does
# not close an idle connection while a client is sending on it.
KEEP_ALIVE_SECONDS = 10
LOAD_REDIS_DB = 10
ENDPOINT = "/api/me/"

ALICE = ("alice", "alice-demo-password")
BOB = ("bob", "bob-demo-password")
LOGOUT_REQUEST_ID = "logout"

# The worker pid (gunicorn's %(p)s atom is "<pid>"), the status and the
# request id. The format has no header that could carry a token.
ACCESS_LOG_FORMAT = "%(p)s %(s)s %({x-request-id}i)s"
ACCESS_LOG_LINE = re.compile(r"<(\d+)> (\d{3}) (\S+)")
BOOTED_WORKER = re.compile(r"Booting worker with pid: (\d+)")


def skip_or_fail(reason: str) -> NoReturn:
    if os.environ.get("JWTSAFE_CI"):
        pytest.fail(f"{reason}, and CI must run the load test")
    pytest.skip(reason)


@pytest.fixture
def gunicorn_installed() -> None:
    if importlib.util.find_spec("gunicorn") is None:
        skip_or_fail("gunicorn is not installed (pip install -e '.[test]')")


@pytest.fixture
def load_database_url() -> Iterator[str]:
    """Create a PostgreSQL database for this run, return its URL, then drop it.

    The server is the one in ``DATABASE_URL``. The database gets a random
    name, so the suite's own test database is never reused or dropped.
    """
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        skip_or_fail(
            "the load test needs PostgreSQL: set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
        )
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    connect_args: dict[str, Any] = {
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
    }
    connect_args = {key: value for key, value in connect_args.items() if value}
    name = f"jwtsafe_load_{secrets.token_hex(4)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    try:
        with psycopg.connect(
            dbname="postgres", autocommit=True, connect_timeout=5, **connect_args
        ) as admin:
            admin.execute(create)
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL from DATABASE_URL is not reachable: {error}")

    yield urlsplit(url)._replace(path=f"/{name}").geturl()

    drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    with psycopg.connect(
        dbname="postgres", autocommit=True, connect_timeout=5, **connect_args
    ) as admin:
        admin.execute(drop)


@pytest.fixture
def load_redis_url() -> Iterator[str]:
    """Return the URL of Redis database 10 on the suite's Redis server.

    The suite's own database, 9 by default, stays untouched. Database 10 is
    flushed before and after the run.
    """
    import redis

    server_url = getattr(settings, "REDIS_URL", None)
    if server_url is None:
        skip_or_fail("no Redis server: start redis-server or set REDIS_URL")
    url = urlsplit(server_url)._replace(path=f"/{LOAD_REDIS_DB}").geturl()
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as error:
        skip_or_fail(f"Redis at {url} failed: {error}")
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def load_env(
    # Requested first, so that a missing gunicorn skips before any setup.
    gunicorn_installed: None,
    example_env: dict[str, str],  # noqa: F811
    load_database_url: str,
    load_redis_url: str,
) -> dict[str, str]:
    """Return the environment of the example on PostgreSQL and Redis."""
    example_env["DJANGO_SETTINGS_MODULE"] = "tests.settings_example_postgres"
    example_env["EXAMPLE_DATABASE_URL"] = load_database_url
    example_env["REDIS_URL"] = load_redis_url
    return example_env


@dataclass(frozen=True)
class LoadServer:
    port: int
    process: subprocess.Popen[str]
    log_path: Path
    access_log_path: Path


def wait_for_workers(log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if len(BOOTED_WORKER.findall(log_path.read_text())) >= WORKERS:
            return
        time.sleep(0.1)
    pytest.fail(
        f"gunicorn did not boot {WORKERS} workers within "
        f"{STARTUP_TIMEOUT_SECONDS} s:\n{log_path.read_text()}"
    )


@pytest.fixture
def load_server(load_env: dict[str, str], tmp_path: Path) -> Iterator[LoadServer]:
    """Migrate, load the demo users and serve the example under gunicorn."""
    manage(load_env, "migrate", "--verbosity", "0")
    manage(load_env, "load_demo")

    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    access_log_path = tmp_path / "access.log"
    command = [
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS_PER_WORKER),
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--access-logfile",
        str(access_log_path),
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "example_project.wsgi:application",
    ]
    process = start_server(load_env, command, log_path)
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}", process, log_path)
        wait_for_workers(log_path)
        yield LoadServer(port, process, log_path, access_log_path)
    finally:
        stop(process)


# The load generator


@dataclass
class Record:
    """One request of a client, with times from ``time.monotonic()``."""

    request_id: str
    username: str
    sent_at: float
    finished_at: float = 0.0
    status: int | None = None
    # The connection error or timeout, if the request got no response.
    error: str | None = None
    # The username in the body of a 200 response.
    response_username: str | None = None


def drive_client(
    index: int, port: int, credentials: list[tuple[str, str]], deadline: float
) -> list[Record]:
    """Send GETs until ``deadline``, alternating the users' tokens."""
    records: list[Record] = []
    connection: http.client.HTTPConnection | None = None
    sent_on_connection = 0
    sequence = 0
    while time.monotonic() < deadline:
        if connection is None or sent_on_connection == REQUESTS_PER_CONNECTION:
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS
            )
            sent_on_connection = 0
        username, token = credentials[(index + sequence) % len(credentials)]
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Request-Id": f"{index}-{sequence}",
        }
        record = Record(headers["X-Request-Id"], username, time.monotonic())
        try:
            connection.request("GET", ENDPOINT, headers=headers)
            response = connection.getresponse()
            body = response.read()
            record.status = response.status
            if response.status == 200:
                record.response_username = json.loads(body).get("username")
        except (OSError, http.client.HTTPException, ValueError) as error:
            record.error = f"{type(error).__name__}: {error}"
            connection.close()
            connection = None
        record.finished_at = time.monotonic()
        records.append(record)
        sequence += 1
        sent_on_connection += 1
    if connection is not None:
        connection.close()
    return records


def post(
    port: int,
    path: str,
    request_id: str,
    *,
    payload: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, bytes]:
    """Send a POST on a new connection and return the status and body."""
    headers = {"X-Request-Id": request_id}
    body = None
    if payload is not None:
        body = json.dumps(payload)
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_in(port: int, username: str, password: str) -> str:
    """Log in through the API and return the access token."""
    status, body = post(
        port,
        "/auth/login/",
        f"login-{username}",
        payload={"username": username, "password": password},
    )
    assert status == 200, f"login of {username} returned {status}: {body!r}"
    return str(json.loads(body)["access"])


def seconds_to_expiry(token: str, signing_key: str) -> float:
    # The server checks issuer and audience. The test needs only the expiry,
    # read from a token whose signature it verifies.
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=["HS256"],
        options={"verify_aud": False, "verify_iss": False},
    )
    return float(claims["exp"]) - time.time()


def read_access_log(path: Path) -> dict[str, tuple[int, int]]:
    """Map each request id in gunicorn's access log to (worker pid, status)."""
    served: dict[str, tuple[int, int]] = {}
    for line in path.read_text().splitlines():
        match = ACCESS_LOG_LINE.fullmatch(line)
        assert match is not None, f"unexpected access log line: {line!r}"
        pid, status, request_id = match.groups()
        if request_id == "-":
            # The readiness probe, which sends no request id.
            continue
        assert request_id not in served, f"request id {request_id} logged twice"
        served[request_id] = (int(pid), int(status))
    return served


def is_error(record: Record) -> bool:
    if record.status is None:
        return True
    if record.status not in (200, 401):
        return True
    return record.status == 200 and record.response_username != record.username


def format_figures(
    records: list[Record],
    served: dict[str, tuple[int, int]],
    worker_pids: list[int],
    revoked_after: list[Record],
    logout_seconds: float,
) -> str:
    statuses = Counter(
        str(record.status) if record.status is not None else "no response"
        for record in records
    )
    latencies_ms = sorted(
        (record.finished_at - record.sent_at) * 1000 for record in records
    )
    percentiles = statistics.quantiles(latencies_ms, n=100)
    revoked_after_ids = {record.request_id for record in revoked_after}
    lines = [
        "",
        f"load: gunicorn gthread, {WORKERS} workers x {THREADS_PER_WORKER} "
        f"threads, {CLIENTS} clients, {RUN_SECONDS:.0f} s, GET {ENDPOINT}, "
        f"{os.cpu_count()} CPUs",
        f"  requests sent: {len(records)} ({len(records) / RUN_SECONDS:.0f}/s), "
        f"latency p50 {percentiles[49]:.1f} ms, p99 {percentiles[98]:.1f} ms",
        "  per status: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
        f"  errors: {sum(is_error(record) for record in records)}",
        f"  logout: took {logout_seconds * 1000:.1f} ms, served by worker "
        f"{served.get(LOGOUT_REQUEST_ID, (None,))[0]}",
        f"  revoked token after the logout: {len(revoked_after)} requests, "
        f"{sum(record.status == 401 for record in revoked_after)} answered 401",
    ]
    for pid in worker_pids:
        on_worker = [
            record
            for record in records
            if served.get(record.request_id, (None,))[0] == pid
        ]
        revoked = sum(record.request_id in revoked_after_ids for record in on_worker)
        bob = sum(record.username == BOB[0] for record in on_worker)
        lines.append(
            f"  worker {pid}: {len(on_worker)} requests, {revoked} with the "
            f"revoked token after the logout, {bob} with bob's token"
        )
    return "\n".join(lines)


@pytest.mark.load
def test_logout_under_load_reaches_every_worker(
    load_server: LoadServer,
    load_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = load_server.port
    alice_token = log_in(port, *ALICE)
    bob_token = log_in(port, *BOB)
    signing_key = load_env["JWTSAFE_SIGNING_KEY"]
    # Each token must outlive the run, or expiry would produce 401s of its own.
    assert seconds_to_expiry(alice_token, signing_key) > RUN_SECONDS + 30
    assert seconds_to_expiry(bob_token, signing_key) > RUN_SECONDS + 30
    credentials = [(ALICE[0], alice_token), (BOB[0], bob_token)]

    start = time.monotonic()
    deadline = start + RUN_SECONDS
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [
            pool.submit(drive_client, index, port, credentials, deadline)
            for index in range(CLIENTS)
        ]
        time.sleep(max(0.0, start + LOGOUT_AFTER_SECONDS - time.monotonic()))
        logout_sent_at = time.monotonic()
        logout_status, logout_body = post(
            port, "/auth/logout/", LOGOUT_REQUEST_ID, token=alice_token
        )
        logout_done_at = time.monotonic()
        records = [record for future in futures for record in future.result()]
    # Stopping gunicorn lets every worker finish writing its access log.
    stop(load_server.process)

    served = read_access_log(load_server.access_log_path)
    server_log = load_server.log_path.read_text()
    worker_pids = [int(pid) for pid in BOOTED_WORKER.findall(server_log)]
    alice = [record for record in records if record.username == ALICE[0]]
    bob = [record for record in records if record.username == BOB[0]]
    # Requests that overlap the logout may get either status.
    alice_before = [record for record in alice if record.finished_at < logout_sent_at]
    revoked_after = [record for record in alice if record.sent_at > logout_done_at]
    bob_after = [record for record in bob if record.sent_at > logout_done_at]
    with capsys.disabled():
        print(
            format_figures(
                records,
                served,
                worker_pids,
                revoked_after,
                logout_done_at - logout_sent_at,
            )
        )

    assert logout_status == 204, logout_body
    errors = [record for record in records if is_error(record)]
    assert errors == [], f"{len(errors)} failed requests, first: {errors[:5]}"
    rejected_before = [record for record in alice_before if record.status != 200]
    assert rejected_before == [], (
        f"{len(rejected_before)} requests with alice's token got no 200 before "
        f"the logout, first: {rejected_before[:5]}"
    )
    accepted_after = [record for record in revoked_after if record.status != 401]
    assert accepted_after == [], (
        f"{len(accepted_after)} requests with the revoked token sent after the "
        f"logout got no 401, first: {accepted_after[:5]}"
    )
    bob_rejected = [record for record in bob if record.status != 200]
    assert bob_rejected == [], (
        f"{len(bob_rejected)} requests with bob's token got no 200, "
        f"first: {bob_rejected[:5]}"
    )

    # Each response in the clients' records has its access log line.
    answered = [record for record in records if record.status is not None]
    unlogged = [record for record in answered if record.request_id not in served]
    assert unlogged == [], f"{len(unlogged)} responses not in the access log"
    mismatched = [
        record for record in answered if served[record.request_id][1] != record.status
    ]
    assert mismatched == [], f"access log and client disagree: {mismatched[:5]}"

    # A worker that exited and was replaced would add a pid here.
    assert len(worker_pids) == WORKERS, server_log
    revoked_by_worker = Counter(
        served[record.request_id][0] for record in revoked_after
    )
    bob_by_worker = Counter(served[record.request_id][0] for record in bob_after)
    for pid in worker_pids:
        assert revoked_by_worker[pid] > 0, f"worker {pid} got no revoked token"
        assert bob_by_worker[pid] > 0, f"worker {pid} got no bob token after logout"
    for record in revoked_after:
        pid, status = served[record.request_id]
        assert status == 401, f"worker {pid} answered {record} with {status}"

    # Neither log may contain a token.
    access_log = load_server.access_log_path.read_text()
    for token in (alice_token, bob_token):
        assert token not in access_log
        assert token not in server_log
    assert "Bearer" not in access_log
