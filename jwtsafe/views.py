"""Login, refresh and logout endpoints. Bodies are JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import JWTAuthentication
from .conf import jwtsafe_settings
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
from .tokens import Claims, TokenError

logger = logging.getLogger("jwtsafe")


def _pair_response(pair: TokenPair) -> Response:
    return Response(
        {"access": pair.access, "refresh": pair.refresh},
        headers={"Cache-Control": "no-store"},
    )


class PublicTokenView(APIView):
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
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not getattr(user, "is_active", True):
            raise exceptions.AuthenticationFailed(
                "Invalid username or password.", code="invalid_credentials"
            )
        pair = issue_token_pair(user, request=request._request)
        # Django's update_last_login receiver sets last_login here, once per
        # login; authenticated API requests never write it.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return _pair_response(pair)


class RefreshView(PublicTokenView):
    """Exchange a refresh token for a new pair; the old refresh token dies."""

    def post(self, request: Request) -> Response:
        # A missing field is a bad request; any value that is present is a
        # credential, so a wrong type or size gets 401 like a bad token.
        data = request.data
        if not hasattr(data, "get") or "refresh" not in data:
            raise exceptions.ValidationError({"refresh": ["This field is required."]})
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
                "Invalid or expired token.", code="invalid_token"
            ) from error
        return _pair_response(pair)


class LogoutView(APIView):
    """End the session of the access token used for this request."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        claims = request.auth
        if not isinstance(claims, Claims):
            raise exceptions.NotAuthenticated()
        revoke_session(claims.session_id, RevokeReason.LOGOUT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """End every session of the user, on every device."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        user: Any = request.user
        revoke_user_sessions(user, RevokeReason.LOGOUT_ALL)
        return Response(status=status.HTTP_204_NO_CONTENT)
