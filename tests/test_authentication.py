"""JWTAuthentication: header parsing, challenges, logging and the lazy user."""

from __future__ import annotations

import base64
import logging
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD, RedisCommandCounter, bearer, resign

CHALLENGE = 'Bearer realm="api"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'


class TestChallenge:
    def test_no_credentials_gets_plain_challenge(self, client, db):
        response = client.get("/whoami/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == CHALLENGE

    def test_bad_token_gets_invalid_token_challenge(self, client, db):
        response = client.get("/whoami/", **bearer("abc"))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE

    def test_body_does_not_name_failed_check(self, client, tokens):
        now = int(time.time())
        expired = resign(
            tokens["access"],
            claim_changes={"exp": now - 100, "iat": now - 200, "nbf": now - 200},
        )
        forged = resign(tokens["access"], key="x" * 64)
        bodies = {
            client.get("/whoami/", **bearer(token)).content
            for token in (expired, forged, "abc")
        }
        assert len(bodies) == 1

    def test_body_does_not_echo_token(self, client, tokens):
        forged = resign(tokens["access"], key="x" * 64)
        response = client.get("/whoami/", **bearer(forged))
        assert forged.encode() not in response.content


class TestHeaderParsing:
    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_scheme_is_case_insensitive(self, client, tokens, scheme):
        response = client.get(
            "/whoami/", HTTP_AUTHORIZATION=f"{scheme} {tokens['access']}"
        )
        assert response.status_code == 200

    def test_several_spaces_after_scheme(self, client, tokens):
        response = client.get(
            "/whoami/", HTTP_AUTHORIZATION=f"Bearer   {tokens['access']}"
        )
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "template",
        [
            "Bearer\t{t}",
            "Bearer {t} ",
            'Bearer "{t}"',
            "Bearer {t},Bearer {t}",
            "Bearer",
            "Bearer ",
        ],
        ids=[
            "tab",
            "trailing-space",
            "quoted",
            "comma-joined",
            "no-token",
            "space-only",
        ],
    )
    def test_malformed_bearer_credentials(self, client, tokens, template):
        header = template.format(t=tokens["access"])
        response = client.get("/whoami/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE

    @pytest.mark.parametrize("scheme", ["Token", "JWT", "Basic"])
    def test_other_scheme_is_not_a_token(self, client, tokens, scheme):
        response = client.get(
            "/whoami/", HTTP_AUTHORIZATION=f"{scheme} {tokens['access']}"
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == CHALLENGE

    def test_other_scheme_reaches_next_class(self, client, user):
        basic = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
        response = client.get("/basic-or-token/", HTTP_AUTHORIZATION=f"Basic {basic}")
        assert response.status_code == 200
        assert response.json() == {"user": str(user.pk)}

    def test_token_reaches_first_class(self, client, user, tokens):
        response = client.get("/basic-or-token/", **bearer(tokens["access"]))
        assert response.status_code == 200

    def test_oversized_header(self, client, db):
        response = client.get("/whoami/", **bearer("A" * 1024 * 1024))
        assert response.status_code == 401


class TestRejectionLog:
    def test_log_names_reason_jti_and_user(self, client, tokens, user, caplog):
        client.post("/auth/logout/", **bearer(tokens["access"]))
        with caplog.at_level(logging.WARNING, logger="jwtsafe"):
            client.get("/whoami/", **bearer(tokens["access"]))
        from tests.conftest import split_token

        _, claims = split_token(tokens["access"])
        messages = [record.getMessage() for record in caplog.records]
        assert any(
            "reason=session_revoked" in message
            and f"jti={claims['jti']}" in message
            and f"user={user.pk}" in message
            for message in messages
        ), messages

    def test_log_never_contains_token_or_key(self, client, tokens, settings, caplog):
        forged = resign(tokens["access"], key="y" * 64)
        with caplog.at_level(logging.DEBUG):
            for token in (forged, tokens["refresh"], "abc"):
                client.get("/whoami/", **bearer(token))
            client.post("/auth/refresh/", {"refresh": tokens["access"]}, format="json")
            client.post(
                "/auth/login/",
                {"username": "alice", "password": "Wr0ng-Pa55word!"},
                format="json",
            )
        text = caplog.text
        assert "reason=" in text
        for secret in (
            forged,
            tokens["access"],
            tokens["refresh"],
            settings.JWTSAFE["SIGNING_KEY"],
            "Wr0ng-Pa55word!",
        ):
            assert secret not in text


@pytest.mark.redis
class TestRequestCost:
    def test_pk_view_one_round_trip(self, client, tokens):
        client.get("/whoami/", **bearer(tokens["access"]))
        with (
            CaptureQueriesContext(connection) as queries,
            RedisCommandCounter() as redis,
        ):
            response = client.get("/whoami/", **bearer(tokens["access"]))
        assert response.status_code == 200
        assert len(queries) == 0, [query["sql"] for query in queries]
        assert redis.count == 1

    def test_first_request_after_login_costs_no_query(self, client, tokens):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/whoami/", **bearer(tokens["access"]))
        assert response.status_code == 200
        assert len(queries) == 0

    def test_view_reading_user_fields_gets_current_user(self, client, tokens, user):
        type(user).objects.filter(pk=user.pk).update(
            email="new@example.com", username="alice2"
        )
        response = client.get("/profile/", **bearer(tokens["access"]))
        assert response.status_code == 200
        assert response.json()["username"] == "alice2"

    def test_authenticated_read_does_not_touch_last_login(self, client, tokens, user):
        user.refresh_from_db()
        before = user.last_login
        client.get("/profile/", **bearer(tokens["access"]))
        user.refresh_from_db()
        assert user.last_login == before


class TestLazyUser:
    def test_deleted_user_rejected_when_fields_read(self, client, tokens, user):
        # Bypass signals so that only the lazy load can notice.
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        response = client.get("/profile/", **bearer(tokens["access"]))
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
