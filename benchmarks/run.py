"""Compare jwtsafe's cost per request with the alternatives, side by side in one run.

Every setup serves the same DRF view, which returns ``request.user.pk``:

- ``none``: no authentication, the floor of Django and DRF themselves.
- ``floor``: one ``jwt.decode`` and one Redis ``GET``, the floor of any
  strict, revocable JWT check (``benchmarks/floor.py``).
- ``jwtsafe``: ``JWTAuthentication`` in header mode, revocation check on.
- ``simplejwt``: djangorestframework-simplejwt's default class, which loads
  the user from the database and checks no revocation.
- ``simplejwt-stateless``: its class that loads nothing.
- ``knox``: django-rest-knox, a database lookup of a hashed token.
- ``drf-token``: DRF's ``TokenAuthentication``, a database lookup.

Requests go straight to Django's WSGI handler in this process. Rounds
interleave the setups in a new random order each time, so drift on the
machine reaches all of them alike. Each response must be 200, and each
setup must reject a bad credential.

    python -m benchmarks.run                    # in-process, all setups
    python -m benchmarks.run --scale 1000000    # and the cost at 1M sessions
    python -m benchmarks.run --http             # and gunicorn under wrk
    python -m benchmarks.run --profile          # where jwtsafe's time goes
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

import django  # noqa: E402
import jwt  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from benchmarks.floor import issue_floor_token  # noqa: E402
from jwtsafe.conf import ACCESS_TOKEN_TYPE  # noqa: E402
from jwtsafe.sessions import issue_token_pair  # noqa: E402
from jwtsafe.tokens import encode_token  # noqa: E402

# Goals for jwtsafe, with its revocation check on.
MAX_COST_OVER_FLOOR = 1.1
MAX_REFRESH_QUERIES = 4


@dataclass
class Setup:
    name: str
    header: str | None
    bad_header: str | None
    samples: list[int] = field(default_factory=list)
    # The median of each round, in µs.
    round_medians: list[float] = field(default_factory=list)
    queries: int = 0
    redis_commands: int = 0

    @property
    def path(self) -> str:
        return f"/{self.name}/"


# Requests straight to the WSGI handler

HANDLER = WSGIHandler()


def environ_for(
    path: str, header: str | None, method: str = "GET", body: bytes = b""
) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    if header is not None:
        environ["HTTP_AUTHORIZATION"] = header
    return environ


def call(environ: dict[str, Any]) -> tuple[int, bytes]:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    response = HANDLER(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        getattr(response, "close", lambda: None)()
    return int(statuses[0].split()[0]), body


def get(setup: Setup, header: str | None = None) -> int:
    return call(environ_for(setup.path, header or setup.header))[0]


# Counting queries and Redis commands


@contextmanager
def counting() -> Iterator[dict[str, int]]:
    """Count SQL queries and Redis commands sent inside the block.

    A pipeline counts as one command: it is one round trip.
    """
    from redis.connection import AbstractConnection

    counts = {"queries": 0, "redis": 0}
    original = AbstractConnection.send_packed_command

    def count_redis(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["redis"] += 1
        return original(self, *args, **kwargs)

    def count_query(
        execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        counts["queries"] += 1
        return execute(sql, params, many, context)

    AbstractConnection.send_packed_command = count_redis  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(count_query):
            yield counts
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


# The setups and their credentials


def make_setups() -> list[Setup]:
    user_model = get_user_model()
    user = user_model.objects.create_user("bench", password="bench-password-unused")
    _, knox_token = AuthToken.objects.create(user=user)
    drf_token = Token.objects.create(user=user)
    setups = [
        Setup("none", None, None),
        Setup("floor", None, None),
        Setup("jwtsafe", None, None),
        Setup("simplejwt", None, None),
        Setup("simplejwt-stateless", None, None),
        Setup("knox", f"Token {knox_token}", f"Token {'0' * len(knox_token)}"),
        Setup("drf-token", f"Token {drf_token.key}", f"Token {'0' * 40}"),
    ]
    renew_tokens(setups, user)
    return setups


def renew_tokens(setups: list[Setup], user: Any = None) -> None:
    """Give the JWT setups new access tokens.

    Access tokens live five minutes, shorter than a whole run, so each
    phase starts with new ones.
    """
    if user is None:
        user = get_user_model().objects.get(username="bench")
    now = int(time.time())
    simple = str(AccessToken.for_user(user))
    wrong_key = jwt.encode(
        {"sub": str(user.pk), "exp": now + 300}, "x" * 32, algorithm="HS256"
    )
    headers = {
        "floor": issue_floor_token(str(user.pk), uuid.uuid4().hex, now),
        "jwtsafe": issue_token_pair(user).access,
        "simplejwt": simple,
        "simplejwt-stateless": simple,
    }
    for setup in setups:
        if setup.name in headers:
            setup.header = f"Bearer {headers[setup.name]}"
            setup.bad_header = f"Bearer {wrong_key}"


def check_setups(setups: list[Setup]) -> None:
    """Fail unless every setup accepts its credential and rejects a bad one."""
    for setup in setups:
        status = get(setup)
        if status != 200:
            raise SystemExit(f"{setup.name}: status {status} for a valid credential")
        if setup.bad_header is not None:
            status = get(setup, setup.bad_header)
            if status not in (401, 403):
                raise SystemExit(f"{setup.name}: status {status} for a bad credential")
        with counting() as counts:
            get(setup)
        setup.queries = counts["queries"]
        setup.redis_commands = counts["redis"]


def measure(setups: list[Setup], requests: int, rounds: int, seed: int) -> None:
    order = list(setups)
    shuffler = random.Random(seed)
    for setup in setups:
        for _ in range(200):  # imports, connections, caches
            get(setup)
    for _ in range(rounds):
        renew_tokens(setups)
        shuffler.shuffle(order)
        for setup in order:
            samples = time_requests(setup.path, [setup.header], requests)
            setup.samples += samples
            setup.round_medians.append(median_us(samples))


def percentile(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


# Refresh


def measure_refresh(count: int) -> tuple[float, int, int]:
    """Return the median µs, queries and Redis commands of one refresh."""
    user = get_user_model().objects.create_user("refresher", password="unused-x")
    refresh = issue_token_pair(user).refresh
    samples = []
    queries = redis = 0
    for index in range(count):
        body = json.dumps({"refresh": refresh}).encode()
        environ = environ_for("/auth/refresh/", None, "POST", body)
        started = time.perf_counter_ns()
        if index == count - 1:
            with counting() as counts:
                status, content = call(environ)
            queries, redis = counts["queries"], counts["redis"]
        else:
            status, content = call(environ)
        samples.append(time.perf_counter_ns() - started)
        if status != 200:
            raise SystemExit(f"refresh: status {status}")
        refresh = json.loads(content)["refresh"]
    return median_us(samples), queries, redis


# Scale: the same request with many live sessions


def redis_client() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def add_sessions(count: int, users: int) -> list[tuple[str, str]]:
    """Create ``count`` live sessions for ``users`` new users, in the database
    and in Redis, as logins leave them. Return ``(subject, session id)`` of a
    sample."""
    from jwtsafe.models import Session
    from jwtsafe.revocation import session_key, user_key

    user_model = get_user_model()
    first = user_model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lifetime = settings.JWTSAFE["REFRESH_TOKEN_LIFETIME"]
    table = Session._meta.db_table
    users_table = user_model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {users_table} (password, is_superuser, username, "
            "first_name, last_name, email, is_staff, is_active, date_joined) "
            "SELECT '!', false, 'scale-' || g, '', '', '', false, true, now() "
            "FROM generate_series(%s, %s) AS g",
            [first + 1, first + users],
        )
        cursor.execute(
            f"INSERT INTO {table} (id, user_id, created_at, expires_at, "
            "user_agent, refresh_token_id, previous_refresh_token_id, "
            "auth_hash, revoke_reason, revoke_comment) "
            "SELECT gen_random_uuid(), "
            f"(SELECT min(id) FROM {users_table} WHERE username LIKE 'scale-%%') "
            "+ (g %% %s), now(), now() + %s, '', md5(g::text), '', '', '', '' "
            "FROM generate_series(1, %s) AS g",
            [users, lifetime, count],
        )
        cursor.execute(
            f"SELECT s.id, s.user_id FROM {table} s JOIN {users_table} u "
            "ON u.id = s.user_id WHERE u.username LIKE 'scale-%%'"
        )
        rows = cursor.fetchall()
    # As a login leaves them: entries that let a token in expire with the
    # access token.
    timeout = settings.JWTSAFE["ACCESS_TOKEN_LIFETIME"].total_seconds()
    batch: dict[str, Any] = {}
    seen_users: set[str] = set()
    for session_id, user_id in rows:
        subject = str(user_id)
        batch[session_key(uuid.UUID(str(session_id)).hex)] = subject
        if subject not in seen_users:
            seen_users.add(subject)
            batch[user_key(subject)] = 0
        if len(batch) >= 20_000:
            cache.set_many(batch, timeout=timeout)
            batch = {}
    if batch:
        cache.set_many(batch, timeout=timeout)
    sample = random.Random(7).sample(rows, min(200, len(rows)))
    return [(str(user_id), uuid.UUID(str(sid)).hex) for sid, user_id in sample]


def scale_tokens(sample: list[tuple[str, str]]) -> list[str]:
    return [
        "Bearer "
        + encode_token(
            token_type=ACCESS_TOKEN_TYPE,
            subject=subject,
            session_id=session_id,
            session_version=0,
            lifetime_seconds=300,
        )[0]
        for subject, session_id in sample
    ]


def time_requests(path: str, headers: list[str | None], requests: int) -> list[int]:
    """Send ``requests`` GETs to ``path``, cycling through ``headers``, and
    return the nanoseconds each took. Any status but 200 stops the run."""
    samples = []
    for index in range(requests):
        environ = environ_for(path, headers[index % len(headers)])
        started = time.perf_counter_ns()
        status, _ = call(environ)
        samples.append(time.perf_counter_ns() - started)
        if status != 200:
            raise SystemExit(f"{path}: status {status} during the run")
    return samples


def time_tokens(headers: list[str], requests: int) -> list[int]:
    return time_requests("/jwtsafe/", list(headers), requests)


def time_setup(setup: Setup, requests: int) -> list[int]:
    return time_requests(setup.path, [setup.header], requests)


def keys_without_ttl(client: Any, limit: int = 10_000) -> tuple[int, int]:
    """Return how many of up to ``limit`` jwtsafe keys have no TTL, and how
    many were looked at."""
    keys = []
    for key in client.scan_iter("*jwtsafe:v1:*", count=10_000):
        keys.append(key)
        if len(keys) >= limit:
            break
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        pipeline.ttl(key)
    return sum(1 for ttl in pipeline.execute() if ttl < 0), len(keys)


def run_scale(setups: list[Setup], total: int, requests: int, rounds: int) -> None:
    """Time jwtsafe with 1,000 live sessions, then with ``total``.

    The floor setup runs beside it in both phases, so drift of the machine
    between the phases shows in its numbers too.
    """
    if connection.vendor != "postgresql":
        raise SystemExit("--scale needs PostgreSQL (DATABASE_URL)")
    floor = next(setup for setup in setups if setup.name == "floor")
    client = redis_client()
    print(f"\nScale: jwtsafe with 1,000 and then {total:,} live sessions")
    sample_small = add_sessions(1000, 250)
    small = scale_tokens(sample_small)
    time_tokens(small, 500)
    before: dict[str, list[int]] = {"jwtsafe": [], "floor": []}
    for _ in range(rounds):
        before["jwtsafe"] += time_tokens(small, requests)
        before["floor"] += time_setup(floor, requests)
    memory_small = client.info("memory")["used_memory"]

    started = time.monotonic()
    large = scale_tokens(add_sessions(total - 1000, max(1, (total - 1000) // 4)))
    print(f"  added {total - 1000:,} sessions in {time.monotonic() - started:.0f} s")
    small = scale_tokens(sample_small)
    renew_tokens([floor])
    memory_large = client.info("memory")["used_memory"]
    time_tokens(large, 500)
    after: dict[str, list[int]] = {"jwtsafe": [], "jwtsafe-new": [], "floor": []}
    for _ in range(rounds):
        after["jwtsafe"] += time_tokens(small, requests)
        after["jwtsafe-new"] += time_tokens(large, requests)
        after["floor"] += time_setup(floor, requests)

    jwtsafe_ratio = median_us(after["jwtsafe"]) / median_us(before["jwtsafe"])
    floor_ratio = median_us(after["floor"]) / median_us(before["floor"])
    print(f"  {'median µs':34} {'1,000':>8} {total:>10,}")
    print(
        f"  {'jwtsafe, the first 1,000 sessions':34} "
        f"{median_us(before['jwtsafe']):8.1f} {median_us(after['jwtsafe']):10.1f}"
    )
    print(
        f"  {'jwtsafe, sessions added last':34} {'':8} "
        f"{median_us(after['jwtsafe-new']):10.1f}"
    )
    print(
        f"  {'floor (drift control)':34} "
        f"{median_us(before['floor']):8.1f} {median_us(after['floor']):10.1f}"
    )
    print(
        f"  after / before: jwtsafe {jwtsafe_ratio:.3f}, floor {floor_ratio:.3f}; "
        f"jwtsafe's change beyond the floor's: {jwtsafe_ratio / floor_ratio:.3f}"
    )

    per_session = (memory_large - memory_small) / (total - 1000)
    print(f"  Redis keys: {client.dbsize():,}")
    print(
        f"  Redis memory per live session: {per_session:.0f} B "
        "(its session key and a quarter of a user key)"
    )
    session_keys = (
        client.keys("*jwtsafe:v1:session:*")
        if total <= 10_000
        else [next(client.scan_iter("*jwtsafe:v1:session:*", count=1000))]
    )
    print(
        f"  one session key: MEMORY USAGE {client.memory_usage(session_keys[0])} B, "
        f"TTL {client.ttl(session_keys[0])} s"
    )
    missing, looked_at = keys_without_ttl(client)
    print(f"  jwtsafe keys without a TTL: {missing} of {looked_at:,} sampled")


# HTTP under load


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_http(setups: list[Setup], seconds: int, connections: int, workers: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("--http needs wrk: run benchmarks/install.sh")
    port = free_port()
    environment = dict(os.environ, BENCH_DATABASE_NAME=connection.settings_dict["NAME"])
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=environment,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/none/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        print(
            f"\nHTTP: gunicorn, {workers} workers, wrk with {connections} "
            f"connections, {seconds} s per setup and pass, two passes"
        )
        results: dict[str, list[float]] = {setup.name: [] for setup in setups}
        for order in (setups, list(reversed(setups))):
            for setup in order:
                command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
                if setup.header:
                    command += ["-H", f"Authorization: {setup.header}"]
                output = subprocess.run(
                    command + [f"{base}{setup.path}"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
                if errors:
                    raise SystemExit(
                        f"{setup.name}: {errors.group(1)} non-2xx responses"
                    )
                found = re.search(r"Requests/sec:\s+([\d.]+)", output)
                assert found is not None, output
                results[setup.name].append(float(found.group(1)))
        unauthenticated = statistics.mean(results["none"])
        print(f"{'setup':22} {'requests/s':>11} {'vs none':>8}")
        for setup in setups:
            rate = statistics.mean(results[setup.name])
            print(f"{setup.name:22} {rate:11.0f} {rate / unauthenticated:8.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


# Profile


def run_profile(setups: list[Setup], requests: int) -> None:
    from pyinstrument import Profiler

    setup = next(setup for setup in setups if setup.name == "jwtsafe")
    environ = environ_for(setup.path, setup.header)
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(requests):
        environ["wsgi.input"] = io.BytesIO()
        call(environ)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


# Report


def report(setups: list[Setup], refresh: tuple[float, int, int]) -> bool:
    by_name = {setup.name: setup for setup in setups}
    none = median_us(by_name["none"].samples)
    floor_cost = median_us(by_name["floor"].samples) - none

    print(
        f"\n{'setup':22} {'cost/floor':>10} {'total/none':>10} {'median µs':>10} "
        f"{'p95 µs':>8} {'cost µs':>8} {'queries':>8} {'redis':>6}"
    )
    for setup in setups:
        median = median_us(setup.samples)
        cost = median - none
        ratio = "" if setup.name == "none" else f"{cost / floor_cost:10.2f}"
        print(
            f"{setup.name:22} {ratio:>10} {median / none:10.2f} {median:10.1f} "
            f"{percentile(setup.samples, 0.95):8.1f} {cost:8.1f} "
            f"{setup.queries:8d} {setup.redis_commands:6d}"
        )
    refresh_us, refresh_queries, refresh_redis = refresh
    print(
        f"\njwtsafe refresh: median {refresh_us:.0f} µs, {refresh_queries} queries, "
        f"{refresh_redis} Redis commands"
    )

    jwtsafe = by_name["jwtsafe"]
    per_round = [
        (own - base) / (floor - base)
        for own, floor, base in zip(
            jwtsafe.round_medians,
            by_name["floor"].round_medians,
            by_name["none"].round_medians,
            strict=True,
        )
    ]
    quartiles = (
        statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round
    )
    print(
        f"jwtsafe cost / floor cost over {len(per_round)} rounds: "
        f"median {statistics.median(per_round):.2f}, quartiles "
        f"{quartiles[0]:.2f} to {quartiles[-1]:.2f}, "
        f"range {min(per_round):.2f} to {max(per_round):.2f}"
    )
    cost = median_us(jwtsafe.samples) - none
    simplejwt_cost = median_us(by_name["simplejwt"].samples) - none
    goals = [
        (
            f"cost at most {MAX_COST_OVER_FLOOR} x the floor's",
            cost <= MAX_COST_OVER_FLOOR * floor_cost,
        ),
        ("cost below simplejwt's default class", cost < simplejwt_cost),
        ("no database query per request", jwtsafe.queries == 0),
        ("one Redis command per request", jwtsafe.redis_commands == 1),
        (
            f"refresh in at most {MAX_REFRESH_QUERIES} queries",
            refresh_queries <= MAX_REFRESH_QUERIES,
        ),
    ]
    print("\nGoals for jwtsafe:")
    for text, met in goals:
        print(f"  {'met' if met else 'MISSED':6} {text}")
    return all(met for _, met in goals)


def describe_machine() -> None:
    import rest_framework

    redis_version = redis_client().info("server")["redis_version"]
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as file:
            found = re.search(r"model name\s*:\s*(.+)", file.read())
            cpu = found.group(1) if found else cpu
    except OSError:
        pass
    print(
        f"{platform.platform()}; {os.cpu_count()} CPUs, {cpu}; "
        f"Python {platform.python_version()}, Django {django.__version__}, "
        f"DRF {rest_framework.__version__}, PyJWT {jwt.__version__}; "
        f"database {connection.vendor}; Redis {redis_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per setup and round"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale",
        type=int,
        metavar="SESSIONS",
        help="also time jwtsafe with this many live sessions",
    )
    parser.add_argument(
        "--http", action="store_true", help="also run gunicorn under wrk"
    )
    parser.add_argument("--http-seconds", type=int, default=10)
    parser.add_argument("--http-connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a pyinstrument profile of jwtsafe's requests and stop",
    )
    arguments = parser.parse_args()

    setup_test_environment()
    old_config = connection.creation.create_test_db(verbosity=0, keepdb=False)
    redis_client().flushdb()
    try:
        describe_machine()
        setups = make_setups()
        check_setups(setups)
        if arguments.profile:
            run_profile(setups, arguments.requests * arguments.rounds)
            return
        print(f"{arguments.rounds} rounds of {arguments.requests} requests per setup")
        measure(setups, arguments.requests, arguments.rounds, arguments.seed)
        refresh = measure_refresh(500)
        met = report(setups, refresh)
        if arguments.http:
            renew_tokens(setups)
            connection.close()
            run_http(
                setups,
                arguments.http_seconds,
                arguments.http_connections,
                arguments.workers,
            )
        if arguments.scale:
            renew_tokens(setups)
            run_scale(setups, arguments.scale, arguments.requests, arguments.rounds)
        if not met:
            sys.exit(1)
    finally:
        redis_client().flushdb()
        connection.creation.destroy_test_db(old_config, verbosity=0)


if __name__ == "__main__":
    main()
