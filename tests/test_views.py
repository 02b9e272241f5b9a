"""Login, refresh, logout and logout-all through real DRF requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from jwtsafe.models import Session
from tests.conftest import PASSWORD, bearer, login, split_token


class EmailBackend(ModelBackend):
    """Log in with the e-mail address in the username field."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = get_user_model().objects.filter(email=username).first()
        if user is not None and user.check_password(password):
            return user
        return None


class TestLogin:
    def test_returns_access_and_refresh(self, client, user):
        body = login(client, user)
        assert set(body) == {"access", "refresh"}

    def test_response_is_not_cached(self, client, user):
        response = client.post(
            "/auth/login/", {"username": "alice", "password": PASSWORD}, format="json"
        )
        assert response["Cache-Control"] == "no-store"

    def test_subject_is_primary_key_string(self, client, user):
        _, claims = split_token(login(client, user)["access"])
        assert claims["sub"] == str(user.pk)
        assert isinstance(claims["sub"], str)

    def test_creates_session_row(self, client, user):
        client.post(
            "/auth/login/",
            {"username": "alice", "password": PASSWORD},
            format="json",
            HTTP_USER_AGENT="pytest-agent",
        )
        session = Session.objects.get(user=user)
        assert session.user_agent == "pytest-agent"
        assert session.ip_address == "127.0.0.1"

    @pytest.mark.parametrize("password", ["wrong", "", PASSWORD.upper()])
    def test_wrong_password(self, client, user, password):
        response = client.post(
            "/auth/login/", {"username": "alice", "password": password}, format="json"
        )
        assert response.status_code in (400, 401)
        if password:
            assert response.status_code == 401
            assert response["WWW-Authenticate"].startswith("Bearer")
        assert "access" not in response.json()

    def test_inactive_user(self, client, make_user):
        make_user(username="carol", is_active=False)
        response = client.post(
            "/auth/login/", {"username": "carol", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 401

    def test_custom_backend(self, client, user, settings):
        settings.AUTHENTICATION_BACKENDS = ["tests.test_views.EmailBackend"]
        response = client.post(
            "/auth/login/",
            {"username": user.email, "password": PASSWORD},
            format="json",
        )
        assert response.status_code == 200

    def test_updates_last_login_once(self, client, user):
        assert user.last_login is None
        login(client, user)
        user.refresh_from_db()
        assert user.last_login is not None

    def test_stale_token_does_not_block_login(self, client, user):
        response = client.post(
            "/auth/login/",
            {"username": "alice", "password": PASSWORD},
            format="json",
            **bearer("expired.or.garbage"),
        )
        assert response.status_code == 200

    def test_throttled_per_username(self, client, user, settings):
        settings.JWTSAFE = {
            **settings.JWTSAFE,
            "LOGIN_THROTTLE_RATES": {"ip": None, "username": "3/min"},
        }
        statuses = [
            client.post(
                "/auth/login/",
                {"username": "ALICE", "password": "wrong"},
                format="json",
                REMOTE_ADDR=f"127.0.0.{number}",
            ).status_code
            for number in range(1, 5)
        ]
        assert statuses == [401, 401, 401, 429]

    def test_throttled_per_ip(self, client, user, settings):
        settings.JWTSAFE = {
            **settings.JWTSAFE,
            "LOGIN_THROTTLE_RATES": {"ip": "2/min", "username": None},
        }
        statuses = [
            client.post(
                "/auth/login/", {"username": f"u{n}", "password": "x"}, format="json"
            ).status_code
            for n in range(3)
        ]
        assert statuses == [401, 401, 429]

    @pytest.mark.parametrize(
        ("body", "content_type", "expected"),
        [
            ("{not json", "application/json", 400),
            ("username=alice", "text/plain", 415),
        ],
    )
    def test_unparsable_body_is_client_error(
        self, client, user, body, content_type, expected
    ):
        # The username throttle parses the body before the view does; a parse
        # error must keep its own status, not become the cache outage's 503.
        response = client.post("/auth/login/", body, content_type=content_type)
        assert response.status_code == expected


def age_last_refresh() -> None:
    """Move every rotation back past REFRESH_GRACE_PERIOD."""
    Session.objects.update(last_refreshed_at=timezone.now() - timedelta(minutes=2))


class TestRefresh:
    def test_returns_new_pair(self, client, tokens):
        response = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        assert response.status_code == 200
        body = response.json()
        assert body["refresh"] != tokens["refresh"]
        assert client.get("/whoami/", **bearer(body["access"])).status_code == 200

    def test_keeps_the_session(self, client, tokens):
        response = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        _, old = split_token(tokens["refresh"])
        _, new = split_token(response.json()["refresh"])
        assert new["sid"] == old["sid"]
        assert new["exp"] <= old["exp"] + 1

    def test_access_token_rejected(self, client, tokens):
        response = client.post(
            "/auth/refresh/", {"refresh": tokens["access"]}, format="json"
        )
        assert response.status_code == 401
        assert (
            response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
        )

    def test_refresh_token_is_single_use(self, client, tokens):
        first = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        second = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        assert first.status_code == 200
        assert second.status_code == 401

    def test_reuse_revokes_the_session(self, client, tokens):
        rotated = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        ).json()
        age_last_refresh()
        client.post("/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
        assert client.get("/whoami/", **bearer(rotated["access"])).status_code == 401
        response = client.post(
            "/auth/refresh/", {"refresh": rotated["refresh"]}, format="json"
        )
        assert response.status_code == 401
        _, claims = split_token(tokens["refresh"])
        assert Session.objects.get(pk=claims["sid"]).revoke_reason == "reuse_detected"

    def test_reuse_within_grace_keeps_the_session(self, client, tokens):
        rotated = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        ).json()
        again = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        assert again.status_code == 401
        assert client.get("/whoami/", **bearer(rotated["access"])).status_code == 200
        response = client.post(
            "/auth/refresh/", {"refresh": rotated["refresh"]}, format="json"
        )
        assert response.status_code == 200

    def test_reuse_of_older_token_revokes_within_grace(self, client, tokens):
        first = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        ).json()
        second = client.post(
            "/auth/refresh/", {"refresh": first["refresh"]}, format="json"
        ).json()
        # Two rotations back is not a concurrent tab: the session ends.
        client.post("/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
        assert client.get("/whoami/", **bearer(second["access"])).status_code == 401

    def test_missing_field_is_bad_request(self, client, db):
        response = client.post("/auth/refresh/", {}, format="json")
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "value", ["", 5, None, ["x"], {"a": 1}, "A" * 1024 * 1024, "a.b.c"]
    )
    def test_invalid_value_is_unauthorized(self, client, db, value):
        response = client.post("/auth/refresh/", {"refresh": value}, format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].endswith('error="invalid_token"')

    def test_stale_access_token_does_not_block_refresh(self, client, tokens):
        response = client.post(
            "/auth/refresh/",
            {"refresh": tokens["refresh"]},
            format="json",
            **bearer("garbage"),
        )
        assert response.status_code == 200


class TestLogout:
    def test_ends_this_session(self, client, tokens):
        response = client.post("/auth/logout/", **bearer(tokens["access"]))
        assert response.status_code == 204
        assert client.get("/whoami/", **bearer(tokens["access"])).status_code == 401
        refresh = client.post(
            "/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        assert refresh.status_code == 401

    def test_leaves_other_sessions(self, client, user):
        laptop = login(client, user)
        phone = login(client, user)
        client.post("/auth/logout/", **bearer(laptop["access"]))
        assert client.get("/whoami/", **bearer(phone["access"])).status_code == 200

    def test_needs_a_token(self, client, db):
        assert client.post("/auth/logout/").status_code == 401


class TestLogoutAll:
    def test_ends_every_session_of_the_user(self, client, user, other_user):
        laptop = login(client, user)
        phone = login(client, user)
        bob = login(client, other_user)
        response = client.post("/auth/logout-all/", **bearer(laptop["access"]))
        assert response.status_code == 204
        for pair in (laptop, phone):
            assert client.get("/whoami/", **bearer(pair["access"])).status_code == 401
            refresh = client.post(
                "/auth/refresh/", {"refresh": pair["refresh"]}, format="json"
            )
            assert refresh.status_code == 401
        assert client.get("/whoami/", **bearer(bob["access"])).status_code == 200

    def test_marks_session_rows_revoked(self, client, user):
        laptop = login(client, user)
        login(client, user)
        client.post("/auth/logout-all/", **bearer(laptop["access"]))
        assert not Session.objects.filter(user=user).active().exists()

    def test_new_login_works_afterwards(self, client, user):
        laptop = login(client, user)
        client.post("/auth/logout-all/", **bearer(laptop["access"]))
        fresh = login(client, user)
        assert client.get("/whoami/", **bearer(fresh["access"])).status_code == 200
