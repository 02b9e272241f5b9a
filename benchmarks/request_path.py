"""Compare the cost of one authenticated DRF request, side by side in one run.

Each variant serves the same view, which returns ``request.user.pk``:

- jwtsafe, cache warm: verification plus one Redis MGET.
- jwtsafe, cache cold: the cache is emptied before each request, so every
  request falls back to the database and refills the cache.
- DRF TokenAuthentication: one database query per request, no revocation
  beyond deleting the token row.
- simplejwt stateless (if installed): signature and claims only, no
  revocation check at all.

Rounds alternate between variants so that drift on the machine hits all of
them alike. The report gives the median time per request of each variant and
its ratio to jwtsafe with a warm cache, plus the database queries and Redis
round trips one request costs.

Run from the repository root:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m benchmarks.request_path
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
)
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from jwtsafe.sessions import issue_token_pair  # noqa: E402
from tests.conftest import RedisCommandCounter  # noqa: E402


def measure(
    send: Callable[[], Any], before: Callable[[], None] | None, count: int
) -> float:
    """Return the median seconds per request over ``count`` requests."""
    samples = []
    for _ in range(count):
        if before is not None:
            before()
        start = time.perf_counter()
        response = send()
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"unexpected status {response.status_code}")
    return statistics.median(samples)


def costs(
    send: Callable[[], Any], before: Callable[[], None] | None
) -> tuple[int, int]:
    if before is not None:
        before()
    with CaptureQueriesContext(connection) as queries, RedisCommandCounter() as redis:
        send()
    return len(queries), redis.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per variant")
    arguments = parser.parse_args()
    if settings.REDIS_URL is None:
        raise SystemExit(
            "The benchmark needs Redis: set REDIS_URL or start redis-server."
        )

    setup_test_environment()
    old_config = connection.creation.create_test_db(verbosity=0)
    try:
        run(arguments.requests, arguments.rounds)
    finally:
        connection.creation.destroy_test_db(old_config, verbosity=0)


def run(requests: int, rounds: int) -> None:
    cache.clear()
    user = get_user_model().objects.create_user("bench", password="unused-password")
    client = APIClient()
    pair = issue_token_pair(user)
    drf_token = Token.objects.create(user=user)

    def get(path: str, header: str) -> Callable[[], Any]:
        return lambda: client.get(path, HTTP_AUTHORIZATION=header)

    variants: dict[str, tuple[Callable[[], Any], Callable[[], None] | None]] = {
        "jwtsafe, cache warm": (get("/jwtsafe/", f"Bearer {pair.access}"), None),
        "jwtsafe, cache cold": (get("/jwtsafe/", f"Bearer {pair.access}"), cache.clear),
        "DRF TokenAuthentication": (get("/drf-token/", f"Token {drf_token.key}"), None),
    }
    try:
        from rest_framework_simplejwt.tokens import AccessToken
    except ImportError:
        print("simplejwt is not installed; its row is left out.", file=sys.stderr)
    else:
        simple = str(AccessToken.for_user(user))
        variants["simplejwt, stateless"] = (
            get("/simplejwt/", f"Bearer {simple}"),
            None,
        )

    for send, before in variants.values():
        measure(send, before, 100)  # warm up imports, connections and caches

    medians: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (send, before) in variants.items():
            medians[name].append(measure(send, before, requests))

    baseline = statistics.median(medians["jwtsafe, cache warm"])
    print(f"database: {connection.vendor}; {rounds} rounds of {requests} requests")
    print(f"{'variant':26} {'median µs':>10} {'ratio':>7} {'queries':>8} {'redis':>6}")
    for name, (send, before) in variants.items():
        value = statistics.median(medians[name])
        queries, redis = costs(send, before)
        if before is cache.clear:
            redis -= 1  # the FLUSHDB of the setup step is not part of the request
        print(
            f"{name:26} {value * 1e6:10.0f} {value / baseline:7.2f} "
            f"{queries:8d} {redis:6d}"
        )


if __name__ == "__main__":
    main()
