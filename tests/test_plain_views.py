"""Plain Django views behind jwt_required and JWTAuthenticationMiddleware.

Sync views are called through Django's test client (WSGI handler), async
views through ``AsyncClient`` (ASGI handler), run from these sync tests by
``async_to_sync``. Sync code called with ``thread_sensitive=True`` then runs
in the test's thread and reads the data of its database transaction.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from jwtsafe import sessions
from jwtsafe.decorators import jwt_required
from jwtsafe.middleware import JWTAuthenticationMiddleware
from jwtsafe.sessions import issue_token_pair
from tests.conftest import bearer, resign, split_token
from tests.test_cookies import Browser
from tests.test_revocation import DEAD_REDIS

REALM_CHALLENGE = 'Bearer realm="api"'
INVALID_CHALLENGE = 'Bearer realm="api", error="invalid_token"'
INVALID_BODY = b'{"detail":"Invalid or expired token."}'
MISSING_BODY = b'{"detail":"Authentication credentials were not provided."}'
UNAVAILABLE_BODY = (
    b'{"detail":"Authentication is temporarily unavailable. Try again later."}'
)

SYNC_WHOAMI = "/plain/whoami/"
ASYNC_WHOAMI = "/plain/async-whoami/"
OPEN = "/plain/open/"
ASYNC_OPEN = "/plain/async-open/"

MIDDLEWARE_WITH_JWT = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "jwtsafe.middleware.CookieResponseCacheMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jwtsafe.middleware.JWTAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


def sync_get(path: str, token: str | None = None, **extra: Any) -> Any:
    if token is not None:
        extra.update(bearer(token))
    return Client().get(path, **extra)


def async_get(path: str, token: str | None = None, **extra: Any) -> Any:
    # AsyncClient takes request headers in headers=, not as META keys.
    headers = {
        name.removeprefix("HTTP_").replace("_", "-"): value
        for name, value in extra.items()
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return async_to_sync(AsyncClient().get)(path, headers=headers)


# Each case: how to send a request, and the view it reaches.
DECORATED = [
    pytest.param(sync_get, SYNC_WHOAMI, id="sync"),
    pytest.param(async_get, ASYNC_WHOAMI, id="async"),
]
MIDDLEWARE = [
    pytest.param(sync_get, OPEN, id="sync"),
    pytest.param(async_get, ASYNC_OPEN, id="async"),
]


def assert_rejected(response: Any, challenge: str, body: bytes) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == challenge
    assert response.content == body
    assert response["Content-Type"] == "application/json"


def expired(token: str) -> str:
    _, claims = split_token(token)
    start = claims["iat"] - 3600
    return resign(token, claim_changes={"iat": start, "nbf": start, "exp": start + 60})


BAD_TOKENS = {
    "garbage": lambda token: "not-a-token",
    "forged": lambda token: resign(token, key="another key " * 8),
    "expired": expired,
    "wrong_audience": lambda token: resign(
        token, claim_changes={"aud": "https://other.test"}
    ),
}


@pytest.fixture
def jwt_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = MIDDLEWARE_WITH_JWT


def logout(token: str) -> None:
    response = APIClient().post("/auth/logout/", **bearer(token))
    assert response.status_code == 204


# The decorator.


@pytest.mark.parametrize(("send", "path"), DECORATED)
class TestDecorator:
    def test_valid_token_sets_user(self, send, path, user, tokens):
        response = send(path, tokens["access"])
        assert response.status_code == 200
        assert response.json()["user"] == str(user.pk)
        assert response.json()["authenticated"] is True

    def test_no_credentials_401_without_error(self, send, path, db):
        assert_rejected(send(path), REALM_CHALLENGE, MISSING_BODY)

    def test_other_scheme_401_without_error(self, send, path, db):
        response = send(path, HTTP_AUTHORIZATION="Basic YWxpY2U6cGFzcw==")
        assert_rejected(response, REALM_CHALLENGE, MISSING_BODY)

    @pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
    def test_bad_token_401_invalid_token(self, send, path, tokens, kind):
        response = send(path, BAD_TOKENS[kind](tokens["access"]))
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    @pytest.mark.parametrize(
        "header", ["Bearer", "Bearer\tabc", "Bearer a b", 'Bearer "abc"']
    )
    def test_malformed_header_401_invalid_token(self, send, path, db, header):
        response = send(path, HTTP_AUTHORIZATION=header)
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    def test_logout_then_401(self, send, path, tokens):
        assert send(path, tokens["access"]).status_code == 200
        logout(tokens["access"])
        response = send(path, tokens["access"])
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    def test_revoked_user_sessions_then_401(self, send, path, user, tokens):
        sessions.revoke_user_sessions(user)
        response = send(path, tokens["access"])
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    def test_cache_and_database_down_is_503(self, send, path, tokens, settings):
        settings.CACHES = DEAD_REDIS
        with mock.patch.object(
            sessions.Session.objects, "filter", side_effect=OperationalError("down")
        ):
            response = send(path, tokens["access"])
        assert response.status_code == 503
        assert response.content == UNAVAILABLE_BODY
        assert "WWW-Authenticate" not in response

    def test_dead_cache_falls_back_to_database(self, send, path, tokens, settings):
        settings.CACHES = DEAD_REDIS
        assert send(path, tokens["access"]).status_code == 200


@pytest.mark.parametrize("kind", ["missing", "garbage", "revoked"])
def test_body_and_header_equal_drf(tokens, kind):
    extra: dict[str, str] = {}
    if kind == "garbage":
        extra = bearer("not-a-token")
    if kind == "revoked":
        logout(tokens["access"])
        extra = bearer(tokens["access"])
    drf = APIClient().get("/whoami/", **extra)
    plain = Client().get(SYNC_WHOAMI, **extra)
    assert plain.status_code == drf.status_code
    assert plain.content == drf.content
    assert plain["WWW-Authenticate"] == drf["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("send", "path"),
    [
        pytest.param(sync_get, "/plain/profile/", id="sync"),
        pytest.param(async_get, "/plain/async-profile/", id="async"),
    ],
)
class TestLazyUser:
    def test_user_row_loaded_on_demand(self, send, path, user, tokens):
        response = send(path, tokens["access"])
        assert response.status_code == 200
        assert response.json() == {"username": user.get_username()}

    def test_inactive_user_row_401(self, send, path, user, tokens):
        # An update() bypasses save(), so the cache still calls the session
        # active and only the row that the view loads shows the change.
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        response = send(path, tokens["access"])
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)


@pytest.mark.redis
def test_pk_only_view_runs_no_query(tokens):
    with CaptureQueriesContext(connection) as queries:
        response = sync_get(SYNC_WHOAMI, tokens["access"])
    assert response.status_code == 200
    assert len(queries) == 0


class TestScopes:
    def test_token_with_scope_200(self, client, user):
        pair = issue_token_pair(user, scopes=["notes:read"])
        response = Client().get("/plain/scoped/", **bearer(pair.access))
        assert response.status_code == 200
        assert response.json() == {"scopes": ["notes:read"]}

    def test_token_without_scope_403(self, user):
        pair = issue_token_pair(user)
        response = Client().get("/plain/scoped/", **bearer(pair.access))
        assert response.status_code == 403
        assert response.json() == {
            "detail": "The access token lacks a scope that this request needs."
        }

    def test_string_scopes_rejected(self):
        with pytest.raises(TypeError, match="list of scope names"):
            jwt_required(scopes="notes:read")

    def test_unknown_transport_rejected(self):
        with pytest.raises(ValueError, match="header"):
            jwt_required(transport="query")  # type: ignore[arg-type]


def test_decorated_views_keep_their_kind():
    from tests.testapp import views

    assert iscoroutinefunction(views.async_whoami)
    assert not iscoroutinefunction(views.plain_whoami)
    assert views.plain_whoami.__name__ == "plain_whoami"
    assert views.plain_whoami.csrf_exempt is True


# Cookie mode: the same rules as JWTCookieAuthentication.


COOKIE_VIEWS = [
    pytest.param("/plain/cookie-whoami/", id="sync"),
    pytest.param("/plain/async-cookie-whoami/", id="async"),
]


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.mark.parametrize("path", COOKIE_VIEWS)
class TestCookieMode:
    def test_cookie_get_200(self, browser, user, path):
        browser.log_in(user)
        response = browser.get(path)
        assert response.status_code == 200
        assert response.json()["user"] == str(user.pk)

    def test_cookie_post_with_csrf_200(self, browser, user, path):
        browser.log_in(user)
        response = browser.post(path)
        assert response.status_code == 200
        assert response.json()["method"] == "POST"

    def test_cookie_post_without_csrf_403(self, browser, user, path):
        browser.log_in(user)
        response = browser.post(path, csrf=False)
        assert response.status_code == 403
        assert response.json()["detail"].startswith("CSRF Failed:")

    def test_header_post_needs_no_csrf(self, user, path):
        pair = issue_token_pair(user)
        client = Client(enforce_csrf_checks=True)
        response = client.post(path, **bearer(pair.access))
        assert response.status_code == 200

    def test_no_cookie_401_without_error(self, browser, db, path):
        assert_rejected(browser.get(path), REALM_CHALLENGE, MISSING_BODY)

    def test_bad_cookie_401_invalid_token(self, browser, user, path):
        browser.client.cookies["jwtsafe_access"] = "not-a-token"
        assert_rejected(browser.get(path), INVALID_CHALLENGE, MISSING_BODY)

    def test_logout_then_401(self, browser, user, path):
        browser.log_in(user)
        access = browser.cookie("jwtsafe_access")
        logout(access)
        assert_rejected(browser.get(path), INVALID_CHALLENGE, MISSING_BODY)

    def test_header_and_cookie_of_two_users_401(self, browser, user, other_user, path):
        browser.log_in(user)
        other = issue_token_pair(other_user)
        response = browser.get(path, **bearer(other.access))
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)


def test_cookie_mode_body_equal_drf(browser, user):
    browser.log_in(user)
    drf = browser.post("/cookie-whoami/", csrf=False)
    plain = browser.post("/plain/cookie-whoami/", csrf=False)
    assert plain.status_code == drf.status_code == 403
    assert plain.content == drf.content


def test_async_cookie_mode_through_async_client(user):
    browser = Browser()
    browser.log_in(user)
    access = browser.cookie("jwtsafe_access")
    csrf = browser.cookie("csrftoken")
    client = AsyncClient(enforce_csrf_checks=True)
    client.cookies["jwtsafe_access"] = access
    client.cookies["csrftoken"] = csrf
    path = "/plain/async-cookie-whoami/"

    without = async_to_sync(client.post)(path)
    with_token = async_to_sync(client.post)(path, headers={"X-CSRFToken": csrf})

    assert without.status_code == 403
    assert with_token.status_code == 200
    assert with_token.json()["user"] == str(user.pk)


# The middleware.


@pytest.mark.usefixtures("jwt_middleware")
@pytest.mark.parametrize(("send", "path"), MIDDLEWARE)
class TestMiddleware:
    def test_valid_token_sets_user(self, send, path, user, tokens):
        response = send(path, tokens["access"])
        assert response.status_code == 200
        assert response.json()["user"] == str(user.pk)

    def test_no_header_stays_anonymous(self, send, path, db):
        response = send(path)
        assert response.status_code == 200
        assert response.json()["authenticated"] is False

    def test_other_scheme_left_alone(self, send, path, db):
        response = send(path, HTTP_AUTHORIZATION="Basic YWxpY2U6cGFzcw==")
        assert response.status_code == 200
        assert response.json()["authenticated"] is False

    @pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
    def test_bad_token_401_invalid_token(self, send, path, tokens, kind):
        response = send(path, BAD_TOKENS[kind](tokens["access"]))
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    def test_logout_then_401(self, send, path, tokens):
        assert send(path, tokens["access"]).status_code == 200
        logout(tokens["access"])
        response = send(path, tokens["access"])
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)

    def test_cache_and_database_down_is_503(self, send, path, tokens, settings):
        settings.CACHES = DEAD_REDIS
        with mock.patch.object(
            sessions.Session.objects, "filter", side_effect=OperationalError("down")
        ):
            response = send(path, tokens["access"])
        assert response.status_code == 503
        assert response.content == UNAVAILABLE_BODY


@pytest.mark.usefixtures("jwt_middleware")
class TestMiddlewareWithOtherAuthentication:
    def test_session_user_kept_without_header(self, user):
        client = Client()
        client.force_login(user)
        response = client.get(OPEN)
        assert response.json()["authenticated"] is True
        assert response.json()["user"] == str(user.pk)

    def test_header_wins_over_session(self, user, other_user):
        client = Client()
        client.force_login(user)
        pair = issue_token_pair(other_user)
        response = client.get(OPEN, **bearer(pair.access))
        assert response.json()["user"] == str(other_user.pk)

    def test_drf_view_still_authenticates(self, user, tokens):
        response = APIClient().get("/whoami/", **bearer(tokens["access"]))
        assert response.status_code == 200
        assert response.json() == {"user": str(user.pk)}

    def test_decorated_view_behind_middleware(self, user, tokens):
        response = sync_get(SYNC_WHOAMI, tokens["access"])
        assert response.status_code == 200

    def test_csrf_still_checked_on_plain_post(self, user, tokens):
        client = Client(enforce_csrf_checks=True)
        response = client.post(OPEN, **bearer(tokens["access"]))
        assert response.status_code == 403

    def test_inactive_user_row_401(self, user, tokens):
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        response = sync_get("/plain/open-profile/", tokens["access"])
        assert_rejected(response, INVALID_CHALLENGE, INVALID_BODY)


class TestMiddlewareModes:
    def test_sync_and_async_capable(self):
        assert JWTAuthenticationMiddleware.sync_capable is True
        assert JWTAuthenticationMiddleware.async_capable is True

    def test_async_get_response_makes_coroutine_function(self):
        async def get_response(request: HttpRequest) -> HttpResponse:
            return HttpResponse()

        middleware = JWTAuthenticationMiddleware(get_response)
        assert iscoroutinefunction(middleware)

    def test_sync_get_response_stays_sync(self):
        middleware = JWTAuthenticationMiddleware(lambda request: HttpResponse())
        assert not iscoroutinefunction(middleware)


# The async path keeps the event loop free while the check waits.


CACHE_DELAY = 0.3


class SlowCache:
    """Delay every ``get_many`` of the default cache and record its thread."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.backend = type(caches["default"])
        self.original = self.backend.get_many

    def __enter__(self) -> SlowCache:
        slow = self

        def get_many(cache: Any, keys: Any, *args: Any, **kwargs: Any) -> Any:
            slow.threads.append(threading.get_ident())
            time.sleep(CACHE_DELAY)
            return slow.original(cache, keys, *args, **kwargs)

        self.patch = mock.patch.object(self.backend, "get_many", get_many)
        self.patch.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.patch.stop()


def run_beside_ticker(path: str, token: str) -> tuple[Any, int, int]:
    """Send one request on a loop while a ticker runs on the same loop.

    Returns the response, the loop's thread and how often the ticker ran.
    """

    async def scenario() -> tuple[Any, int, int]:
        ticks = 0
        finished = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not finished.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        response = await AsyncClient().get(
            path, headers={"Authorization": f"Bearer {token}"}
        )
        finished.set()
        await task
        return response, threading.get_ident(), ticks

    return async_to_sync(scenario)()


@pytest.mark.parametrize(
    ("path", "use_middleware"),
    [
        pytest.param(ASYNC_WHOAMI, False, id="decorator"),
        pytest.param(ASYNC_OPEN, True, id="middleware"),
    ],
)
def test_async_check_leaves_loop_free(path, use_middleware, user, tokens, settings):
    if use_middleware:
        settings.MIDDLEWARE = MIDDLEWARE_WITH_JWT
    with SlowCache() as slow:
        response, loop_thread, ticks = run_beside_ticker(path, tokens["access"])
    assert response.status_code == 200
    assert response.json()["user"] == str(user.pk)
    assert len(slow.threads) == 1
    assert slow.threads[0] != loop_thread
    # A blocked loop would let the ticker run once or twice in 0.3 s.
    assert ticks >= 10
