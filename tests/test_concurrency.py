"""Concurrent refreshes and logouts of one session, on PostgreSQL.

Ten threads refresh one refresh token at once: exactly one may win. Ten
threads log out and refresh one session at once: it must end revoked.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from jwtsafe.models import Session
from tests.conftest import bearer, login, split_token

THREADS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_has_one_winner(user):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)")
    tokens = login(APIClient(), user)
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def refresh() -> None:
        client = APIClient()
        barrier.wait()
        try:
            response = client.post(
                "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
            )
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(status for status, _ in results)
    assert len(statuses) == THREADS
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == THREADS - 1, statuses

    # The losers presented the token just exchanged, within
    # REFRESH_GRACE_PERIOD, as browser tabs do: they lose, and the session
    # and the winner's tokens stay valid.
    _, claims = split_token(tokens["refresh"])
    session = Session.objects.get(pk=claims["sid"])
    assert session.revoked_at is None
    winner = next(body for status, body in results if status == 200)
    assert APIClient().get("/whoami/", **bearer(winner["access"])).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_logout_and_refresh_ends_revoked(user):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)")
    tokens = login(APIClient(), user)
    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    def act(kind: str) -> None:
        client = APIClient()
        barrier.wait()
        try:
            if kind == "logout":
                response = client.post("/auth/logout/", **bearer(tokens["access"]))
                body: dict = {}
            else:
                response = client.post(
                    "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
                )
                body = response.json()
            with lock:
                results.append((kind, response.status_code, body))
        finally:
            connections.close_all()

    kinds = ["logout", "refresh"] * (THREADS // 2)
    threads = [threading.Thread(target=act, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == THREADS
    statuses = {(kind, status) for kind, status, _ in results}
    # No thread failed: logouts end the session or find it ended; refreshes
    # win once at most and are otherwise rejected.
    assert statuses <= {
        ("logout", 204),
        ("logout", 401),
        ("refresh", 200),
        ("refresh", 401),
    }
    assert (
        sum(1 for kind, status, _ in results if (kind, status) == ("refresh", 200)) <= 1
    )

    # Whatever the order, the session ends revoked, and every token of it,
    # a refreshed pair included, is rejected.
    _, claims = split_token(tokens["refresh"])
    session = Session.objects.get(pk=claims["sid"])
    assert session.revoked_at is not None
    client = APIClient()
    assert client.get("/whoami/", **bearer(tokens["access"])).status_code == 401
    for kind, status, body in results:
        if kind == "refresh" and status == 200:
            assert client.get("/whoami/", **bearer(body["access"])).status_code == 401
            refreshed = client.post(
                "/auth/refresh/", {"refresh": body["refresh"]}, format="json"
            )
            assert refreshed.status_code == 401
