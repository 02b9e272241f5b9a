"""The cookie transport: cookie attributes, CSRF, and header precedence.

Every client here enforces CSRF checks, as a browser's requests meet them.
The cookie-mode endpoints are ``jwtsafe.cookie_urls`` under ``/web/auth/``.
"""

from __future__ import annotations

import secrets
import string
from http.cookies import Morsel
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from jwtsafe.sessions import issue_token_pair
from tests.conftest import PASSWORD, bearer, login, mint, split_token
from tests.test_attacks import (
    ALGORITHM_CASES,
    JSON_CASES,
    SIGNATURE_CASES,
    STRUCTURE_CASES,
    attacker,  # noqa: F401 (a fixture that genuine uses)
    genuine,  # noqa: F401 (a fixture)
)

ACCESS_COOKIE = "jwtsafe_access"
REFRESH_COOKIE = "jwtsafe_refresh"
REFRESH_COOKIE_PATH = "/web/auth/"
PROTECTED = "/cookie-whoami/"


def csrf_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


class Browser:
    """An API client that keeps cookies and sends a CSRF token when asked."""

    def __init__(self) -> None:
        self.client = APIClient(enforce_csrf_checks=True)
        self.csrf = csrf_secret()
        self.client.cookies["csrftoken"] = self.csrf

    def post(self, path: str, body: Any = None, csrf: bool = True, **extra: Any) -> Any:
        if csrf:
            extra["HTTP_X_CSRFTOKEN"] = self.client.cookies["csrftoken"].value
        return self.client.post(path, body or {}, format="json", **extra)

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, **extra)

    def log_in(self, user: Any) -> Any:
        response = self.post(
            "/web/auth/login/", {"username": user.get_username(), "password": PASSWORD}
        )
        assert response.status_code == 200, response.content
        return response

    def cookie(self, name: str) -> str:
        return self.client.cookies[name].value


@pytest.fixture
def browser() -> Browser:
    return Browser()


def set_cookie(response: Any, name: str) -> Morsel[str]:
    morsel: Morsel[str] = response.cookies[name]
    return morsel


def assert_no_token_in_body(response: Any) -> None:
    body = response.content.decode()
    assert "access" not in response.json()
    assert "refresh" not in response.json()
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        assert set_cookie(response, name).value not in body


# Login


def test_login_sets_cookies_not_body(browser, user):
    response = browser.log_in(user)
    assert_no_token_in_body(response)
    assert set(response.json()) == {"access_expires_at", "refresh_expires_at"}
    assert split_token(browser.cookie(ACCESS_COOKIE))[1]["sub"] == str(user.pk)


def test_access_cookie_attributes(browser, user):
    access = set_cookie(browser.log_in(user), ACCESS_COOKIE)
    assert access["httponly"] is True
    assert access["secure"] is True
    assert access["samesite"] == "Lax"
    assert access["path"] == "/"
    assert access["max-age"] == 300
    assert access["domain"] == ""


def test_refresh_cookie_attributes(browser, user):
    refresh = set_cookie(browser.log_in(user), REFRESH_COOKIE)
    assert refresh["httponly"] is True
    assert refresh["secure"] is True
    assert refresh["samesite"] == "Lax"
    assert refresh["path"] == REFRESH_COOKIE_PATH
    # The refresh token never outlives its session, which started a moment
    # before the token was signed.
    assert 86390 <= refresh["max-age"] <= 86400


def test_secure_follows_debug(browser, user):
    with override_settings(DEBUG=True):
        response = browser.log_in(user)
    assert set_cookie(response, ACCESS_COOKIE)["secure"] == ""


def test_cookie_settings_apply(browser, user):
    changed = dict(
        settings.JWTSAFE,
        ACCESS_COOKIE_NAME="at",
        COOKIE_SAMESITE="Strict",
        COOKIE_DOMAIN="api.jwtsafe.test",
        REFRESH_COOKIE_PATH="/web/auth/refresh/",
    )
    with override_settings(JWTSAFE=changed):
        response = browser.log_in(user)
    assert set_cookie(response, "at")["samesite"] == "Strict"
    assert set_cookie(response, "at")["domain"] == "api.jwtsafe.test"
    assert set_cookie(response, REFRESH_COOKIE)["path"] == "/web/auth/refresh/"


def test_login_without_csrf_rejected(browser, user):
    response = browser.post(
        "/web/auth/login/",
        {"username": user.get_username(), "password": PASSWORD},
        csrf=False,
    )
    assert response.status_code == 403
    assert ACCESS_COOKIE not in response.cookies


def test_login_from_other_origin_rejected(browser, user):
    response = browser.post(
        "/web/auth/login/",
        {"username": user.get_username(), "password": PASSWORD},
        HTTP_ORIGIN="http://attacker.example",
    )
    assert response.status_code == 403
    assert ACCESS_COOKIE not in response.cookies


def test_header_mode_login_needs_no_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    assert "access" in login(client, user)


# Requests authenticated by the cookie


def test_cookie_authenticates_safe_method(browser, user):
    browser.log_in(user)
    response = browser.get(PROTECTED)
    assert response.status_code == 200
    assert response.json() == {"user": str(user.pk)}


def test_cookie_unsafe_method_needs_csrf(browser, user):
    browser.log_in(user)
    assert browser.post(PROTECTED, csrf=False).status_code == 403
    assert browser.post(PROTECTED).status_code == 200


def test_header_unsafe_method_needs_no_csrf(user):
    pair = issue_token_pair(user)
    client = APIClient(enforce_csrf_checks=True)
    assert client.post(PROTECTED, **bearer(pair.access)).status_code == 200


def test_quoted_cookie_value_accepted(user):
    # Django's cookie parser removes the quotes around a value.
    cookie = f'{ACCESS_COOKIE}="{issue_token_pair(user).access}"'
    assert APIClient().get(PROTECTED, HTTP_COOKIE=cookie).status_code == 200


def test_cookie_name_is_case_sensitive(user):
    client = APIClient()
    client.cookies[ACCESS_COOKIE.upper()] = issue_token_pair(user).access
    response = client.get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_no_cookie_gets_challenge(db):
    response = APIClient().get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# Header and cookie together


def test_header_and_cookie_of_two_users_rejected(user, other_user):
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = issue_token_pair(other_user).access
    response = client.get(PROTECTED, **bearer(issue_token_pair(user).access))
    assert response.status_code == 401
    assert "invalid_token" in response["WWW-Authenticate"]


def test_forged_header_beside_valid_cookie_rejected(user):
    access = issue_token_pair(user).access
    header, claims = split_token(access)
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = access
    forged = mint(header, claims, key="not-the-server-key-" + "x" * 20)
    assert client.get(PROTECTED, **bearer(forged)).status_code == 401


def test_header_wins_over_stale_cookie(user):
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = "expired.or.garbage"
    response = client.get(PROTECTED, **bearer(issue_token_pair(user).access))
    assert response.status_code == 200


def test_header_and_cookie_of_one_user_accepted(user):
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = issue_token_pair(user).access
    response = client.get(PROTECTED, **bearer(issue_token_pair(user).access))
    assert response.status_code == 200


# Every invalid token through the cookie gets the header's 401


INVALID_CASES = [
    case
    for table in (ALGORITHM_CASES, SIGNATURE_CASES, STRUCTURE_CASES, JSON_CASES)
    for case in table
]


@pytest.mark.parametrize("build", INVALID_CASES)
def test_invalid_cookie_token_rejected(genuine, build):  # noqa: F811
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = build(genuine)
    response = client.get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


# Stale cookies never block public endpoints


def stale_cookie_client(user: Any) -> APIClient:
    pair = issue_token_pair(user)
    client = APIClient()
    client.post("/auth/logout/", **bearer(pair.access))
    client.cookies[ACCESS_COOKIE] = pair.access
    return client


def test_revoked_cookie_on_protected_view(user):
    response = stale_cookie_client(user).get(PROTECTED)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_revoked_cookie_on_public_view(user):
    response = stale_cookie_client(user).get("/public/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}


def test_revoked_cookie_does_not_block_login(user):
    client = stale_cookie_client(user)
    assert "access" in login(client, user)


# Refresh


def test_refresh_rotates_both_cookies(browser, user):
    browser.log_in(user)
    old_refresh = browser.cookie(REFRESH_COOKIE)
    response = browser.post("/web/auth/refresh/")
    assert response.status_code == 200
    assert_no_token_in_body(response)
    assert browser.cookie(REFRESH_COOKIE) != old_refresh
    assert set_cookie(response, REFRESH_COOKIE)["path"] == REFRESH_COOKIE_PATH
    assert set_cookie(response, ACCESS_COOKIE)["httponly"] is True
    assert browser.get(PROTECTED).status_code == 200


def test_refresh_without_csrf_rejected(browser, user):
    browser.log_in(user)
    response = browser.post("/web/auth/refresh/", csrf=False)
    assert response.status_code == 403
    assert REFRESH_COOKIE not in response.cookies


def test_refresh_without_cookie_rejected(browser, db):
    response = browser.post("/web/auth/refresh/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_reused_refresh_cookie_rejected(browser, user):
    browser.log_in(user)
    old_refresh = browser.cookie(REFRESH_COOKIE)
    assert browser.post("/web/auth/refresh/").status_code == 200
    browser.client.cookies[REFRESH_COOKIE] = old_refresh
    assert browser.post("/web/auth/refresh/").status_code == 401


def test_refresh_ignores_body_token(browser, user):
    pair = issue_token_pair(user)
    response = browser.post("/web/auth/refresh/", {"refresh": pair.refresh})
    assert response.status_code == 401


# Logout


def assert_cookies_expired(response: Any) -> None:
    for name, path in ((ACCESS_COOKIE, "/"), (REFRESH_COOKIE, REFRESH_COOKIE_PATH)):
        morsel = set_cookie(response, name)
        assert morsel.value == ""
        assert morsel["max-age"] == 0
        assert morsel["path"] == path


def test_logout_revokes_and_expires_cookies(browser, user):
    browser.log_in(user)
    access = browser.cookie(ACCESS_COOKIE)
    response = browser.post("/web/auth/logout/")
    assert response.status_code == 204
    assert_cookies_expired(response)
    assert APIClient().get(PROTECTED, **bearer(access)).status_code == 401


def test_logout_with_only_refresh_cookie(browser, user):
    browser.log_in(user)
    access = browser.cookie(ACCESS_COOKIE)
    del browser.client.cookies[ACCESS_COOKIE]
    assert browser.post("/web/auth/logout/").status_code == 204
    assert APIClient().get(PROTECTED, **bearer(access)).status_code == 401


def test_logout_without_csrf_changes_nothing(browser, user):
    browser.log_in(user)
    response = browser.post("/web/auth/logout/", csrf=False)
    assert response.status_code == 403
    assert browser.get(PROTECTED).status_code == 200


def test_logout_all_needs_csrf_and_ends_every_session(browser, user):
    other_session = issue_token_pair(user).access
    browser.log_in(user)
    assert browser.post("/web/auth/logout-all/", csrf=False).status_code == 403
    response = browser.post("/web/auth/logout-all/")
    assert response.status_code == 204
    assert_cookies_expired(response)
    assert APIClient().get(PROTECTED, **bearer(other_session)).status_code == 401


# Browsers with several tabs, and other people's caches


def test_two_tabs_refreshing_keep_the_session(browser, user):
    browser.log_in(user)
    old_refresh = browser.cookie(REFRESH_COOKIE)
    assert browser.post("/web/auth/refresh/").status_code == 200
    new_refresh = browser.cookie(REFRESH_COOKIE)

    # The second tab sent the same cookie a moment later.
    browser.client.cookies[REFRESH_COOKIE] = old_refresh
    assert browser.post("/web/auth/refresh/").status_code == 401

    browser.client.cookies[REFRESH_COOKIE] = new_refresh
    assert browser.post("/web/auth/refresh/").status_code == 200
    assert browser.get(PROTECTED).status_code == 200


def test_cookie_response_is_private(browser, user):
    browser.log_in(user)
    response = browser.get(PROTECTED)
    assert "Cookie" in response["Vary"]
    assert "private" in response["Cache-Control"]


def test_header_response_not_marked(user):
    response = APIClient().get(PROTECTED, **bearer(issue_token_pair(user).access))
    assert "private" not in response.get("Cache-Control", "")


def test_second_login_ends_first_session(browser, user, other_user):
    browser.log_in(user)
    first_access = browser.cookie(ACCESS_COOKIE)
    browser.log_in(other_user)
    assert APIClient().get(PROTECTED, **bearer(first_access)).status_code == 401
    assert browser.get(PROTECTED).json() == {"user": str(other_user.pk)}
