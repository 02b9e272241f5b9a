"""The cookie transport: setting and clearing token cookies, and CSRF checks.

Tokens in cookies are out of reach of JavaScript, but the browser sends them
with every request to the site, so each unsafe request authenticated by a
cookie must pass Django's CSRF check.
"""

from __future__ import annotations

import posixpath
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.response import Response

from .conf import jwtsafe_settings
from .sessions import TokenPair

DEFAULT_NAMESPACE = "jwtsafe"


def enforce_csrf(request: HttpRequest) -> None:
    """Run Django's CSRF check on ``request``; raise 403 when it fails.

    The check compares the ``X-CSRFToken`` header or form field with the
    CSRF cookie, and on HTTPS or when an ``Origin`` header is sent, checks
    the origin against the host and ``CSRF_TRUSTED_ORIGINS``.
    """
    check = CSRFCheck(lambda request: None)  # type: ignore[arg-type]
    # Populates request.META["CSRF_COOKIE"], which process_view reads.
    check.process_request(request)
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason:
        # DRF's SessionAuthentication sends the same English text.
        # Translators: reason is one of Django's CSRF failure reasons, which
        # are English constants, so only this prefix is translated.
        message = _("CSRF Failed: %(reason)s") % {"reason": reason}
        raise exceptions.PermissionDenied(message)


def refresh_cookie_path(request: HttpRequest) -> str:
    """Return the path of the refresh cookie for the URLs serving ``request``.

    ``REFRESH_COOKIE_PATH`` when set. Otherwise the longest path that
    contains both the refresh and the logout URL, such as ``/auth/``,
    because logout reads the refresh cookie to end a session whose access
    token expired.
    """
    configured = jwtsafe_settings.refresh_cookie_path
    if configured is not None:
        return configured
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match and match.namespace else DEFAULT_NAMESPACE
    try:
        paths = [reverse(f"{namespace}:{name}") for name in ("refresh", "logout")]
    except NoReverseMatch:
        return "/"
    return posixpath.commonpath(paths).rstrip("/") + "/"


def _cookie_attributes() -> dict[str, Any]:
    return {
        "domain": jwtsafe_settings.cookie_domain,
        "secure": jwtsafe_settings.cookie_secure,
        "httponly": jwtsafe_settings.cookie_httponly,
        "samesite": jwtsafe_settings.cookie_samesite,
    }


def set_token_cookies(
    response: Response, request: HttpRequest, pair: TokenPair
) -> None:
    """Set the access and refresh cookies, each living as long as its token."""
    access_lifetime = int(pair.access_claims["exp"] - pair.access_claims["iat"])
    refresh_lifetime = int(pair.refresh_claims["exp"] - pair.refresh_claims["iat"])
    response.set_cookie(
        jwtsafe_settings.access_cookie_name,
        pair.access,
        max_age=access_lifetime,
        path=jwtsafe_settings.access_cookie_path,
        **_cookie_attributes(),
    )
    response.set_cookie(
        jwtsafe_settings.refresh_cookie_name,
        pair.refresh,
        max_age=refresh_lifetime,
        path=refresh_cookie_path(request),
        **_cookie_attributes(),
    )


def clear_token_cookies(response: Response, request: HttpRequest) -> None:
    """Expire both cookies with the name, path and domain they were set with."""
    domain = jwtsafe_settings.cookie_domain
    samesite = jwtsafe_settings.cookie_samesite
    response.delete_cookie(
        jwtsafe_settings.access_cookie_name,
        path=jwtsafe_settings.access_cookie_path,
        domain=domain,
        samesite=samesite,
    )
    response.delete_cookie(
        jwtsafe_settings.refresh_cookie_name,
        path=refresh_cookie_path(request),
        domain=domain,
        samesite=samesite,
    )


def start_cookie_session(request: HttpRequest) -> None:
    """Give the browser a new CSRF token at login, as Django's login() does."""
    rotate_token(request)
