"""Concurrent refreshes of one refresh token: exactly one may win."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from jwtsafe.models import Session
from tests.conftest import bearer, login, split_token

THREADS = 8


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
