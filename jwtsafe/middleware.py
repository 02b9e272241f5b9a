"""Middleware for the cookie transport and for plain Django views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

# Set on the Django request when the access cookie authenticated it.
COOKIE_AUTHENTICATED = "_jwtsafe_cookie_authenticated"


class CookieResponseCacheMiddleware:
    """Mark responses to cookie-authenticated requests as private.

    Shared caches do not store responses to requests with an
    ``Authorization`` header, but they may store those to requests with
    cookies. ``Vary: Cookie`` and ``Cache-Control: private`` keep one user's
    response from being served to another, as Django's session middleware
    does for session cookies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, COOKIE_AUTHENTICATED, False):
            patch_vary_headers(response, ("Cookie",))
            patch_cache_control(response, private=True)
        return response


class JWTAuthenticationMiddleware:
    """Authenticate a Bearer header on every request to a Django view.

    Off by default: add it to ``MIDDLEWARE`` after Django's
    ``AuthenticationMiddleware``, which would otherwise replace the
    ``request.user`` set here. A request without an ``Authorization`` header,
    or with another scheme, passes through with the user that the other
    middleware set. A Bearer header that fails any check gets 401 with
    ``error="invalid_token"``, and 503 when the revocation state cannot be
    read, as in DRF views. A valid one sets ``request.user``,
    ``request.auser`` and ``request.auth`` as ``jwt_required`` does. The
    access cookie is not read here: use ``jwt_required(transport="cookie")``.

    Works under WSGI and ASGI. Under ASGI the check runs in a thread, as
    ``jwtsafe.decorators`` explains. Requests without an ``Authorization``
    header skip the check.

    NOTE: DRF views authenticate again with their own classes, so a Bearer
    request to a DRF view costs two revocation checks.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        # Imported here because jwtsafe.authentication imports this module.
        from .decorators import authenticate_request

        self.get_response = get_response
        self._authenticate = functools.partial(
            authenticate_request, transport="header", required=False
        )
        self._async_mode = iscoroutinefunction(get_response)
        if self._async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async_mode:
            return self.__acall__(request)
        if "HTTP_AUTHORIZATION" in request.META:
            rejection = self._authenticate(request)
            if rejection is not None:
                return rejection
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_AUTHORIZATION" in request.META:
            check = sync_to_async(self._authenticate, thread_sensitive=True)
            rejection = await check(request)
            if rejection is not None:
                return rejection
        response: HttpResponse = await self.get_response(request)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """Return 401 when a view finds the token's user deleted or inactive."""
        from rest_framework.exceptions import AuthenticationFailed

        from .decorators import TOKEN_AUTHENTICATED, invalid_token_response

        if isinstance(exception, AuthenticationFailed) and getattr(
            request, TOKEN_AUTHENTICATED, False
        ):
            return invalid_token_response(request, exception)
        return None
