"""The floor of any strict, revocable JWT check: PyJWT and one Redis lookup.

``PyJWTRedisAuthentication`` verifies an HS256 token with a single
``jwt.decode`` call (signature, ``exp``, ``iss``, ``aud``, required claims)
and reads one key from Redis: the state of the token's session, which login
writes and logout deletes. A missing key rejects the token, because a check
that reads a missing key as "not revoked" fails open when Redis loses data.
It loads no user and checks no user-wide version: nothing a real library
could do less of and still be strict and revocable.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request


class TokenUser:
    """A user known only by the token's ``sub``."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, pk: str) -> None:
        self.pk = pk


def session_key(session_id: str) -> str:
    return f"floor:session:{session_id}"


class PyJWTRedisAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(
                token,
                settings.FLOOR_KEY,
                algorithms=["HS256"],
                audience=settings.AUDIENCE,
                issuer=settings.ISSUER,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.PyJWTError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if cache.get(session_key(claims["jti"])) != claims["sub"]:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return TokenUser(claims["sub"]), claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def issue_floor_token(user_id: str, token_id: str, now: int) -> str:
    """Sign a token and store its session, as a login would."""
    cache.set(session_key(token_id), user_id, timeout=3600)
    claims = {
        "iss": settings.ISSUER,
        "aud": settings.AUDIENCE,
        "sub": user_id,
        "iat": now,
        "exp": now + 300,
        "jti": token_id,
    }
    return jwt.encode(claims, settings.FLOOR_KEY, algorithm="HS256")
