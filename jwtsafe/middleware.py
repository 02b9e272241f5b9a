"""Middleware for the cookie transport."""

from __future__ import annotations

from collections.abc import Callable

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
