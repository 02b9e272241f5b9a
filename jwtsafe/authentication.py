"""DRF authentication with jwtsafe access tokens in the ``Authorization`` header."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .conf import ACCESS_TOKEN_TYPE, jwtsafe_settings
from .cookies import enforce_csrf
from .exceptions import RevocationServiceUnavailable
from .middleware import COOKIE_AUTHENTICATED
from .sessions import RevocationUnavailable, check_session, parse_subject
from .tokens import Claims, TokenError, verify_token

# Log messages stay in English for operators. Only the texts of responses
# go through gettext.
logger = logging.getLogger("jwtsafe")

# An HTTP auth-scheme is a token (RFC 9110 section 11.1).
AUTH_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# "Bearer" 1*SP b64token (RFC 6750 section 2.1). A tab, a comma-joined
# second credential or a quoted token does not match.
BEARER_CREDENTIALS = re.compile(r" +([A-Za-z0-9._~+/-]+=*)")

FAILED_ATTRIBUTE = "_jwtsafe_authentication_failed"


class TokenUser(SimpleLazyObject):  # type: ignore[type-arg]
    """The user of a verified access token, loaded only when needed.

    ``pk``, ``is_authenticated`` and truth tests come from the token, so a
    view that needs only those runs no query. Any other attribute loads the
    current user from the database and rejects a user who has been deleted
    or deactivated since the token was issued.
    """

    def __init__(self, claims: Claims, user_id: Any) -> None:
        attributes = self.__dict__
        attributes["_jwtsafe_user_id"] = user_id
        attributes["_jwtsafe_claims"] = claims
        attributes["_jwtsafe_pk_attname"] = _primary_key_attname()
        super().__init__(self._load_user)

    def _load_user(self) -> Any:
        model = get_user_model()
        field_name = jwtsafe_settings.user_id_field
        user_id = self.__dict__["_jwtsafe_user_id"]
        user = model._default_manager.filter(**{field_name: user_id}).first()
        if user is None or not getattr(user, "is_active", True):
            claims: Claims = self.__dict__["_jwtsafe_claims"]
            reason = "user_not_found" if user is None else "user_inactive"
            _log_rejection(reason, claims.payload)
            raise exceptions.AuthenticationFailed(
                _("Invalid or expired token."), code="invalid_token"
            )
        return user

    @property
    def pk(self) -> Any:
        if self.__dict__["_jwtsafe_pk_attname"] is not None:
            return self.__dict__["_jwtsafe_user_id"]
        return self.__getattr__("pk")

    def __getattr__(self, name: str) -> Any:
        if name == self.__dict__["_jwtsafe_pk_attname"]:
            return self.__dict__["_jwtsafe_user_id"]
        if self._wrapped is empty:
            self._setup()
        return getattr(self._wrapped, name)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def __bool__(self) -> bool:
        return True


@functools.cache
def _primary_key_attname() -> str | None:
    """Return the user model's primary key attribute when tokens name users by it.

    The token's ``sub`` is then the primary key, so ``pk`` needs no query.
    Kept until a setting changes, ``AUTH_USER_MODEL`` among them.
    """
    primary_key = get_user_model()._meta.pk
    if jwtsafe_settings.user_id_field in ("pk", primary_key.name):
        return str(primary_key.attname)
    return None


def _forget_primary_key(**kwargs: Any) -> None:
    _primary_key_attname.cache_clear()


setting_changed.connect(_forget_primary_key)


def _log_rejection(reason: str, claims: Any = None) -> None:
    # Only verified claims reach the log; a token itself never does.
    token_id = claims.get("jti", "-") if claims else "-"
    user_id = claims.get("sub", "-") if claims else "-"
    logger.warning(
        "Rejected token: reason=%s jti=%s user=%s", reason, token_id, user_id
    )


@sensitive_variables("raw_token")
def verify_access_token(raw_token: str) -> Claims:
    """Verify an access token and its session, raising ``TokenError`` on failure.

    Raises ``RevocationServiceUnavailable`` (503) when neither the cache nor
    the database can say whether the session is revoked, so an outage never
    lets a revoked token through.
    """
    try:
        claims = verify_token(raw_token, ACCESS_TOKEN_TYPE)
        parse_subject(claims.subject)
        check_session(claims)
    except RevocationUnavailable as error:
        logger.error("Revocation state unavailable in cache and database")
        raise RevocationServiceUnavailable() from error
    return claims


class JWTAuthentication(BaseAuthentication):
    """Authenticate a request with ``Authorization: Bearer <access token>``.

    A request without Bearer credentials is left to the next authentication
    class. Bearer credentials that fail any check are rejected with 401 and
    ``WWW-Authenticate: Bearer ... error="invalid_token"``.
    """

    @sensitive_variables("header", "raw_token")
    def authenticate(self, request: Request) -> tuple[Any, Claims] | None:
        header = self.get_header(request)
        if header is None:
            return None

        raw_token = self.get_raw_token(request, header)
        if raw_token is None:
            return None

        claims = self.get_verified_claims(request, raw_token)
        user = self.get_user(request, claims)
        return (user, claims)

    def get_header(self, request: Request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        return str(header)

    @sensitive_variables("header")
    def get_raw_token(self, request: Request, header: str) -> str | None:
        """Return the token of Bearer credentials, or None for other schemes."""
        scheme = AUTH_SCHEME.match(header)
        if scheme is None or scheme.group().lower() != (
            jwtsafe_settings.auth_header_scheme.lower()
        ):
            return None
        # Headers far over the token size limit are rejected before any
        # pattern matching.
        if len(header) > jwtsafe_settings.max_token_bytes + 64:
            self.fail(request, "too_large")
        credentials = BEARER_CREDENTIALS.fullmatch(header, scheme.end())
        if credentials is None:
            self.fail(request, "malformed_header")
        return credentials.group(1)

    @sensitive_variables("raw_token")
    def get_verified_claims(self, request: Request, raw_token: str) -> Claims:
        try:
            return verify_access_token(raw_token)
        except TokenError as error:
            self.fail(request, error.reason, error.claims)

    def get_user(self, request: Request, claims: Claims) -> Any:
        return TokenUser(claims, parse_subject(claims.subject))

    def fail(self, request: Request, reason: str, claims: Any = None) -> NoReturn:
        _log_rejection(reason, claims)
        setattr(request, FAILED_ATTRIBUTE, True)
        raise exceptions.AuthenticationFailed(
            _("Invalid or expired token."), code="invalid_token"
        )

    def authenticate_header(self, request: Request) -> str:
        value = (
            f'{jwtsafe_settings.auth_header_scheme} realm="{jwtsafe_settings.realm}"'
        )
        if getattr(request, FAILED_ATTRIBUTE, False):
            value += ', error="invalid_token"'
        return value


class JWTCookieAuthentication(JWTAuthentication):
    """Authenticate with the access cookie, or with the header when one is sent.

    A Bearer header takes precedence and needs no CSRF token. A request
    authenticated by the cookie must pass Django's CSRF check on unsafe
    methods, or gets 403. A request whose header and cookie name different
    users gets 401. A cookie that fails verification makes the request
    anonymous, so that an expired cookie never blocks a public view. Views
    that need a user then return 401 with ``error="invalid_token"``.
    """

    @sensitive_variables("cookie")
    def authenticate(self, request: Request) -> tuple[Any, Claims] | None:
        from_header = super().authenticate(request)
        cookie = request.COOKIES.get(jwtsafe_settings.access_cookie_name)
        if from_header is not None:
            if cookie:
                self._check_same_user(request, from_header[1], cookie)
            return from_header
        if not cookie:
            return None
        try:
            claims = verify_access_token(cookie)
        except TokenError as error:
            _log_rejection(error.reason, error.claims)
            setattr(request, FAILED_ATTRIBUTE, True)
            return None
        enforce_csrf(request._request)
        setattr(request._request, COOKIE_AUTHENTICATED, True)
        return (self.get_user(request, claims), claims)

    @sensitive_variables("cookie")
    def _check_same_user(self, request: Request, header: Claims, cookie: str) -> None:
        """Reject a request whose cookie verifies as another user's token."""
        try:
            from_cookie = verify_token(cookie, ACCESS_TOKEN_TYPE)
        except TokenError:
            return  # A stale cookie beside a valid header is ignored.
        if from_cookie.subject != header.subject:
            self.fail(request, "conflicting_credentials", header.payload)
