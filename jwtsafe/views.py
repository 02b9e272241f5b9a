"""Login, refresh and logout endpoints. Bodies are JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import JWTAuthentication, JWTCookieAuthentication
from .conf import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, jwtsafe_settings
from .cookies import (
    clear_token_cookies,
    enforce_csrf,
    set_token_cookies,
    start_cookie_session,
)
from .exceptions import RevocationServiceUnavailable
from .models import RevokeReason
from .serializers import LoginSerializer
from .sessions import (
    TokenPair,
    issue_token_pair,
    refresh_token_pair,
    revoke_session,
    revoke_user_sessions,
)
from .throttling import LoginIPRateThrottle, LoginUsernameRateThrottle
from .tokens import Claims, TokenError, public_jwks, verify_token

logger = logging.getLogger("jwtsafe")


def _pair_response(pair: TokenPair, request: Request, cookies: bool) -> Response:
    if not cookies:
        return Response(
            {"access": pair.access, "refresh": pair.refresh},
            headers={"Cache-Control": "no-store"},
        )
    # In cookie mode no token reaches JavaScript. The body gives only the
    # expiry of each cookie, so a client can refresh in time.
    response = Response(
        {
            "access_expires_at": pair.access_claims["exp"],
            "refresh_expires_at": pair.refresh_claims["exp"],
        },
        headers={"Cache-Control": "no-store"},
    )
    set_token_cookies(response, request._request, pair)
    return response


class TransportMixin:
    """Choose header or cookie mode: the view's ``transport``, else the setting.

    ``jwtsafe.urls`` follows ``JWTSAFE['TRANSPORT']``; ``jwtsafe.cookie_urls``
    serves cookie mode beside it.

    Also returns 503, not 500, when the database fails, because login,
    refresh and logout read or write sessions there and have no other source.
    """

    transport: str | None = None

    def uses_cookies(self) -> bool:
        return (self.transport or jwtsafe_settings.transport) == "cookie"

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DatabaseError):
            logger.error("Database unavailable: %s", type(exc).__name__)
            exc = RevocationServiceUnavailable()
        return super().handle_exception(exc)  # type: ignore[misc, no-any-return]


class PublicTokenView(TransportMixin, APIView):
    """A view that takes credentials in its body, not an access token.

    A stale or revoked access token in the header must not block login or
    refresh, so these views run no authentication class. They still return
    401 with a Bearer challenge instead of DRF's 403 for views without one.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    invalid_token = False

    def get_authenticate_header(self, request: Request) -> str:
        value = (
            f'{jwtsafe_settings.auth_header_scheme} realm="{jwtsafe_settings.realm}"'
        )
        if self.invalid_token:
            value += ', error="invalid_token"'
        return value


class LoginView(PublicTokenView):
    """Exchange a username and password for an access and a refresh token."""

    throttle_classes = [LoginIPRateThrottle, LoginUsernameRateThrottle]

    def post(self, request: Request) -> Response:
        cookies = self.uses_cookies()
        if cookies:
            # A cross-site form must not log the victim into the attacker's
            # account.
            enforce_csrf(request._request)
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not getattr(user, "is_active", True):
            raise exceptions.AuthenticationFailed(
                _("Invalid username or password."), code="invalid_credentials"
            )
        if cookies:
            # As Django's login() flushes the previous session, a login in
            # this browser ends the session of its current refresh cookie.
            _revoke_cookie_sessions(request, access=False)
        pair = issue_token_pair(user, request=request._request)
        # Django's update_last_login receiver sets last_login here, once per
        # login; authenticated API requests never write it.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        if cookies:
            start_cookie_session(request._request)
        return _pair_response(pair, request, cookies)


class RefreshView(PublicTokenView):
    """Exchange a refresh token for a new pair; the old refresh token dies."""

    def post(self, request: Request) -> Response:
        cookies = self.uses_cookies()
        if cookies:
            enforce_csrf(request._request)
            token: Any = request.COOKIES.get(jwtsafe_settings.refresh_cookie_name)
            if not token:
                self.invalid_token = True
                raise exceptions.NotAuthenticated(_("No refresh cookie."))
        else:
            # A missing field is a bad request. Any value that is present is
            # a credential, so a wrong type or size gets 401 like a bad token.
            data = request.data
            if not hasattr(data, "get") or "refresh" not in data:
                raise exceptions.ValidationError(
                    {"refresh": [_("This field is required.")]}
                )
            token = data.get("refresh")
        try:
            if not isinstance(token, str):
                raise TokenError("malformed")
            pair = refresh_token_pair(token, request=request._request)
        except TokenError as error:
            claims = error.claims or {}
            logger.warning(
                "Rejected refresh token: reason=%s jti=%s user=%s",
                error.reason,
                claims.get("jti", "-"),
                claims.get("sub", "-"),
            )
            self.invalid_token = True
            raise exceptions.AuthenticationFailed(
                _("Invalid or expired token."), code="invalid_token"
            ) from error
        return _pair_response(pair, request, cookies)


def _revoke_cookie_sessions(request: Request, *, access: bool = True) -> None:
    """End the session of the refresh cookie, and of the access cookie too.

    Each cookie counts only when its token verifies.
    """
    cookies = [(jwtsafe_settings.refresh_cookie_name, REFRESH_TOKEN_TYPE)]
    if access:
        cookies.append((jwtsafe_settings.access_cookie_name, ACCESS_TOKEN_TYPE))
    for name, token_type in cookies:
        token = request.COOKIES.get(name)
        if not token:
            continue
        try:
            claims = verify_token(token, token_type)
        except TokenError:
            continue
        revoke_session(claims.session_id, RevokeReason.LOGOUT)


class LogoutView(TransportMixin, APIView):
    """End the session of this request's tokens.

    In header mode, this ends the session of the access token in the header.
    In cookie mode, it checks CSRF, ends the sessions of the refresh and
    access cookies, which JavaScript cannot read, and expires both cookies,
    even when both tokens had already expired.
    """

    def get_authenticators(self) -> list[Any]:
        return [] if self.uses_cookies() else [JWTAuthentication()]

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.uses_cookies() else [IsAuthenticated()]

    def post(self, request: Request) -> Response:
        if self.uses_cookies():
            enforce_csrf(request._request)
            _revoke_cookie_sessions(request)
            response = Response(status=status.HTTP_204_NO_CONTENT)
            clear_token_cookies(response, request._request)
            return response

        claims = request.auth
        if not isinstance(claims, Claims):
            raise exceptions.NotAuthenticated()
        revoke_session(claims.session_id, RevokeReason.LOGOUT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(TransportMixin, APIView):
    """End every session of the user, on every device."""

    permission_classes = [IsAuthenticated]

    def get_authenticators(self) -> list[Any]:
        if self.uses_cookies():
            return [JWTCookieAuthentication()]
        return [JWTAuthentication()]

    def post(self, request: Request) -> Response:
        user: Any = request.user
        revoke_user_sessions(user, RevokeReason.LOGOUT_ALL)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if self.uses_cookies():
            clear_token_cookies(response, request._request)
        return response


@require_safe
def jwks_view(request: HttpRequest) -> JsonResponse:
    """Publish the public keys that verify jwtsafe's tokens, as a JWK Set.

    Other services verify tokens with these keys without holding a secret.
    HMAC secrets and retired keys are never published, so an HMAC-only
    configuration publishes an empty set. Shared caches may keep the
    response for ``JWKS_MAX_AGE``: a new key must be published for that
    long before it signs.
    """
    response = JsonResponse(public_jwks())
    max_age = int(jwtsafe_settings.jwks_max_age.total_seconds())
    patch_cache_control(response, public=True, max_age=max_age)
    return response
