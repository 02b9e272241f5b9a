"""Every revocation path, and how the cache and database share the work."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from jwtsafe import sessions
from jwtsafe.models import Session, SessionVersionMixin
from jwtsafe.revocation import REVOKED, RevocationStore, session_key, user_key
from jwtsafe.sessions import (
    get_session_version,
    issue_token_pair,
    revoke_session,
    revoke_user_sessions,
)
from tests.conftest import PASSWORD, bearer, login, resign, split_token

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        # Nothing listens on port 1 of the loopback address.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def whoami(client, token):
    return client.get("/whoami/", **bearer(token))


def refresh(client, token):
    return client.post("/auth/refresh/", {"refresh": token}, format="json")


class TestUserChanges:
    def test_password_change_through_api_revokes(self, client, tokens):
        response = client.post(
            "/password/",
            {"new_password": "a whole new password"},
            format="json",
            **bearer(tokens["access"]),
        )
        assert response.status_code == 204
        assert whoami(client, tokens["access"]).status_code == 401
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_password_change_through_save_revokes(self, client, user, tokens):
        user.set_password("another password entirely")
        user.save()
        assert whoami(client, tokens["access"]).status_code == 401
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_deactivation_through_save_revokes(self, client, user, tokens):
        user.is_active = False
        user.save()
        assert whoami(client, tokens["access"]).status_code == 401
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_other_field_change_keeps_sessions(self, client, user, tokens):
        user.first_name = "Alice"
        user.save()
        assert whoami(client, tokens["access"]).status_code == 200

    def test_deactivation_bypassing_save_caught_at_refresh(self, client, user, tokens):
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_password_change_bypassing_save_caught_at_refresh(
        self, client, user, tokens
    ):
        from django.contrib.auth.hashers import make_password

        get_user_model().objects.filter(pk=user.pk).update(
            password=make_password("changed behind our back")
        )
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_deactivation_bypassing_save_caught_on_cache_miss(
        self, client, user, tokens
    ):
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        cache.clear()
        assert whoami(client, tokens["access"]).status_code == 401

    def test_deleted_user_access_token(self, client, user, tokens):
        user.delete()
        assert whoami(client, tokens["access"]).status_code == 401

    def test_deleted_user_refresh_token(self, client, user, tokens):
        user.delete()
        assert refresh(client, tokens["refresh"]).status_code == 401

    def test_reused_primary_key_does_not_revive_tokens(self, client, user, tokens):
        old_pk = user.pk
        user.delete()
        model = get_user_model()
        reborn = model(pk=old_pk, username="alice", email="a@example.com")
        reborn.set_password(PASSWORD)
        reborn.save()
        assert whoami(client, tokens["access"]).status_code == 401
        assert refresh(client, tokens["refresh"]).status_code == 401
        cache.clear()
        assert whoami(client, tokens["access"]).status_code == 401

    def test_stale_instance_save_does_not_lower_version(self, client, user):
        stale = get_user_model().objects.get(pk=user.pk)
        first = login(client, user)
        client.post("/auth/logout-all/", **bearer(first["access"]))
        second = login(client, user)
        stale.first_name = "Stale"
        stale.save()
        cache.clear()
        assert get_session_version(user) == 1
        assert whoami(client, first["access"]).status_code == 401
        assert whoami(client, second["access"]).status_code == 200


class TestSessionVersion:
    def test_logout_all_raises_version(self, user):
        before = get_session_version(user)
        revoke_user_sessions(user)
        assert get_session_version(user) == before + 1

    def test_storage_matches_user_model(self, user):
        revoke_user_sessions(user)
        if isinstance(user, SessionVersionMixin):
            user.refresh_from_db()
            assert user.session_version == 1
        else:
            assert user.jwtsafe_session_version.version == 1

    @pytest.mark.parametrize("delta", [-1, 1, 1000])
    def test_version_must_match_exactly(self, client, user, tokens, delta):
        revoke_user_sessions(user)
        fresh = login(client, user)
        _, claims = split_token(fresh["access"])
        token = resign(fresh["access"], claim_changes={"ver": claims["ver"] + delta})
        assert whoami(client, token).status_code == 401


class TestPythonApi:
    def test_issue_token_pair(self, client, user):
        pair = issue_token_pair(user)
        assert whoami(client, pair.access).status_code == 200

    def test_revoke_session(self, client, user):
        pair = issue_token_pair(user)
        assert revoke_session(pair.session_id) is True
        assert revoke_session(pair.session_id) is False
        assert whoami(client, pair.access).status_code == 401

    def test_revoke_user_sessions_counts(self, user):
        issue_token_pair(user)
        issue_token_pair(user)
        assert revoke_user_sessions(user) == 2

    def test_inactive_user_gets_no_tokens(self, make_user):
        with pytest.raises(ValueError):
            issue_token_pair(make_user(is_active=False))


@pytest.mark.redis
class TestCache:
    def test_revocation_does_not_wait_for_expiry(self, client, tokens):
        assert whoami(client, tokens["access"]).status_code == 200
        client.post("/auth/logout/", **bearer(tokens["access"]))
        assert whoami(client, tokens["access"]).status_code == 401

    def test_revocation_written_to_cache(self, client, tokens):
        _, claims = split_token(tokens["access"])
        client.post("/auth/logout/", **bearer(tokens["access"]))
        assert cache.get(session_key(claims["sid"])) == REVOKED

    def test_revoked_session_needs_no_query(self, client, tokens):
        client.post("/auth/logout/", **bearer(tokens["access"]))
        with CaptureQueriesContext(connection) as queries:
            assert whoami(client, tokens["access"]).status_code == 401
        assert len(queries) == 0

    def test_entries_expire_by_themselves(self, client, tokens):
        _, claims = split_token(tokens["access"])
        client_cache = cache.client.get_client()
        for key in (session_key(claims["sid"]), user_key(claims["sub"])):
            ttl = client_cache.ttl(cache.make_key(key))
            assert 0 < ttl <= 86400

    def test_fill_never_overwrites_revocation(self, client, tokens):
        _, claims = split_token(tokens["access"])
        client.post("/auth/logout/", **bearer(tokens["access"]))
        RevocationStore().fill(
            claims["sub"], claims["sid"], user_version=0, session_timeout=60
        )
        assert whoami(client, tokens["access"]).status_code == 401

    def test_missing_entry_is_read_from_database(self, client, tokens):
        _, claims = split_token(tokens["access"])
        # Revoke in the database only, then empty the cache: a miss must not
        # read as "not revoked".
        Session.objects.filter(pk=claims["sid"]).update(
            revoked_at="2020-01-01T00:00:00Z"
        )
        cache.delete(session_key(claims["sid"]))
        assert whoami(client, tokens["access"]).status_code == 401

    def test_none_value_is_a_miss(self, client, tokens):
        _, claims = split_token(tokens["access"])
        Session.objects.filter(pk=claims["sid"]).update(
            revoked_at="2020-01-01T00:00:00Z"
        )
        cache.set(session_key(claims["sid"]), None)
        assert whoami(client, tokens["access"]).status_code == 401

    def test_rolled_back_version_in_cache_falls_to_database(self, client, tokens):
        _, claims = split_token(tokens["access"])
        cache.set(user_key(claims["sub"]), claims["ver"] + 1)
        with CaptureQueriesContext(connection) as queries:
            assert whoami(client, tokens["access"]).status_code == 200
        assert len(queries) == 1

    def test_other_process_sees_revocation(self, client, tokens):
        # A second store object with its own connection pool stands for
        # another worker process sharing the same Redis.
        _, claims = split_token(tokens["access"])
        client.post("/auth/logout/", **bearer(tokens["access"]))
        from django_redis import get_redis_connection

        raw = get_redis_connection("default")
        assert raw.exists(cache.make_key(session_key(claims["sid"])))


class TestCacheFailure:
    def test_dead_cache_falls_back_to_database(self, client, tokens, settings):
        settings.CACHES = DEAD_REDIS
        response = whoami(client, tokens["access"])
        assert response.status_code == 200

    def test_dead_cache_still_rejects_revoked(self, client, user, tokens, settings):
        revoke_user_sessions(user)
        settings.CACHES = DEAD_REDIS
        assert whoami(client, tokens["access"]).status_code == 401

    def test_ignore_exceptions_reads_as_miss(self, client, user, tokens, settings):
        revoke_user_sessions(user)
        settings.CACHES = {
            "default": {
                **DEAD_REDIS["default"],
                "OPTIONS": {
                    **DEAD_REDIS["default"]["OPTIONS"],
                    "IGNORE_EXCEPTIONS": True,
                },
            }
        }
        assert whoami(client, tokens["access"]).status_code == 401

    def test_cache_and_database_down_is_503(self, client, tokens, settings):
        settings.CACHES = DEAD_REDIS
        with mock.patch.object(
            sessions.Session.objects, "filter", side_effect=OperationalError("down")
        ):
            response = whoami(client, tokens["access"])
        assert response.status_code == 503
