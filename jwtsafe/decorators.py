"""jwtsafe access tokens for plain Django views, sync or async.

``jwt_required`` protects one view. ``JWTAuthenticationMiddleware`` in
``jwtsafe.middleware`` authenticates every request that sends a Bearer
header. Both run the DRF authentication classes of
``jwtsafe.authentication`` on the Django request, so the header parsing,
token checks, revocation check, logging and 401 and 503 responses are the
ones that DRF views get.

Async views and the async middleware run that check in a thread with
``asgiref.sync.sync_to_async(thread_sensitive=True)``. Django's async cache
API (``aget_many``) was not used, for two reasons:

- ``check_session`` falls back to the database on a cache miss or failure,
  and the ORM has no async query path that avoids a thread. An async copy of
  the checks would also be a second code path to keep equal to the first.
- ``aget_many`` would not save the thread either. In Django 5.2,
  ``BaseCache.aget_many`` calls ``aget`` once per key, and ``aget`` runs
  ``get`` through ``sync_to_async``. django-redis 7.0 does not override it,
  so the one ``MGET`` of the sync path would become two round trips.

Thread-sensitive mode runs the check in the thread that Django gives the
request's other synchronous work, so a database connection opened by the
fallback is the request's own and is closed when the request finishes.
Django's ASGI handler gives each request its own such thread, so requests do
not wait for each other, and the event loop keeps running while the check
waits on the cache or the database.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypeVar, overload

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from .authentication import (
    FAILED_ATTRIBUTE,
    JWTAuthentication,
    JWTCookieAuthentication,
    TokenUser,
)
from .permissions import HasScope
from .tokens import Claims

Transport = Literal["header", "cookie"]
ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])

AUTHENTICATION_CLASSES: dict[str, type[JWTAuthentication]] = {
    "header": JWTAuthentication,
    "cookie": JWTCookieAuthentication,
}

# Set on the Django request once its credentials are verified, so that a
# failure when the user row is loaded later is still rejected with 401.
TOKEN_AUTHENTICATED = "_jwtsafe_token_authenticated"


def error_response(
    error: exceptions.APIException, challenge: str | None = None
) -> HttpResponse:
    """Build the response that DRF's exception handler gives ``error``.

    The body is ``{"detail": ...}`` rendered by DRF's ``JSONRenderer``, byte
    for byte as a DRF view returns it. ``challenge`` becomes the
    ``WWW-Authenticate`` header of a 401.
    """
    body = JSONRenderer().render({"detail": error.detail})
    response = HttpResponse(
        body, status=error.status_code, content_type="application/json"
    )
    if challenge is not None:
        response["WWW-Authenticate"] = challenge
    return response


def invalid_token_response(
    request: HttpRequest, error: exceptions.AuthenticationFailed
) -> HttpResponse:
    """Return the 401 for a token whose user row proved deleted or inactive."""
    drf_request = Request(request)
    setattr(drf_request, FAILED_ATTRIBUTE, True)
    challenge = JWTAuthentication().authenticate_header(drf_request)
    return error_response(error, challenge)


def set_token_user(request: HttpRequest, user: TokenUser, claims: Claims) -> None:
    """Set ``request.user``, ``request.auser`` and ``request.auth``.

    ``request.auth`` contains the verified ``Claims``, as in DRF views.
    ``await request.auser()`` loads the user row in a thread, so an async
    view can read any field of the user without a query on the event loop.
    """

    async def load_user() -> TokenUser:
        await sync_to_async(_load_user_row, thread_sensitive=True)(user)
        return user

    request.user = user  # type: ignore[assignment]
    request.auser = load_user  # type: ignore[assignment]
    setattr(request, "auth", claims)  # noqa: B010 (HttpRequest declares no auth)
    setattr(request, TOKEN_AUTHENTICATED, True)  # noqa: B010


def _load_user_row(user: TokenUser) -> None:
    # TokenUser loads its row on the first attribute that the token cannot
    # supply. is_active is one, and TokenUser rejects an inactive user.
    getattr(user, "is_active", None)


@sensitive_variables()
def authenticate_request(
    request: HttpRequest, transport: Transport = "header", *, required: bool = True
) -> HttpResponse | None:
    """Authenticate ``request`` with the DRF class of ``transport``.

    Sets the token user on ``request`` and returns None when the credentials
    are valid. Otherwise returns the response that a DRF view with
    ``IsAuthenticated`` sends: 401 for missing or rejected credentials, 403
    for a cookie request that fails Django's CSRF check, and 503 when the
    revocation state cannot be read. With ``required=False``, a request
    without credentials of this transport gets None and keeps its
    ``request.user``. Makes blocking cache and database calls, so async code
    calls it through ``sync_to_async``.
    """
    authentication = AUTHENTICATION_CLASSES[transport]()
    drf_request = Request(request)
    try:
        result = authentication.authenticate(drf_request)
    except exceptions.AuthenticationFailed as error:
        return error_response(error, authentication.authenticate_header(drf_request))
    except exceptions.APIException as error:
        return error_response(error)
    if result is None:
        if not required:
            return None
        # The cookie class marks a rejected cookie on drf_request, so the
        # challenge then carries error="invalid_token".
        return error_response(
            exceptions.NotAuthenticated(),
            authentication.authenticate_header(drf_request),
        )
    user, claims = result
    set_token_user(request, user, claims)
    return None


def _scope_response(
    request: HttpRequest, scopes: frozenset[str]
) -> HttpResponse | None:
    claims = getattr(request, "auth", None)
    if isinstance(claims, Claims) and scopes <= claims.scopes:
        return None
    return error_response(exceptions.PermissionDenied(HasScope.message))


def _checked_scopes(scopes: Iterable[str]) -> frozenset[str]:
    if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
        raise TypeError(
            f"jwt_required(scopes=...) takes a list of scope names, not {scopes!r}"
        )
    return frozenset(scopes)


@overload
def jwt_required(view: ViewFunction, /) -> ViewFunction: ...


@overload
def jwt_required(
    *, transport: Transport = "header", scopes: Iterable[str] = ()
) -> Callable[[ViewFunction], ViewFunction]: ...


def jwt_required(
    view: Any = None,
    /,
    *,
    transport: Transport = "header",
    scopes: Iterable[str] = (),
) -> Any:
    """Require a valid jwtsafe access token for a Django view, sync or async.

    ``transport="header"`` (the default) reads ``Authorization: Bearer``, as
    ``JWTAuthentication`` does. ``transport="cookie"`` reads the access
    cookie or the header, as ``JWTCookieAuthentication`` does, and runs
    Django's CSRF check on unsafe methods of cookie-authenticated requests.
    ``scopes`` lists scope names that the token must all carry, or the view
    returns 403. The view gets ``request.user``, ``request.auser`` and
    ``request.auth`` (the ``Claims``), and returns 401 if the user row turns
    out deleted or inactive when the view first reads it.

    The view is marked ``csrf_exempt``, as DRF marks its views: a Bearer
    header is never sent by a browser on its own, and cookie requests get
    the CSRF check here.
    """
    if transport not in AUTHENTICATION_CLASSES:
        raise ValueError(
            f'jwt_required(transport={transport!r}): use "header" or "cookie"'
        )
    required_scopes = _checked_scopes(scopes)

    def decorate(view: ViewFunction) -> ViewFunction:
        if iscoroutinefunction(view):
            return _wrap_async(view, transport, required_scopes)  # type: ignore[return-value]
        return _wrap_sync(view, transport, required_scopes)  # type: ignore[return-value]

    if view is not None:
        return decorate(view)
    return decorate


def _wrap_sync(
    view: Callable[..., HttpResponse], transport: Transport, scopes: frozenset[str]
) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rejection = authenticate_request(request, transport)
        if rejection is None and scopes:
            rejection = _scope_response(request, scopes)
        if rejection is not None:
            return rejection
        try:
            return view(request, *args, **kwargs)
        except exceptions.AuthenticationFailed as error:
            # TokenUser raises this when the row it loads is gone or inactive.
            return invalid_token_response(request, error)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_async(
    view: Callable[..., Awaitable[HttpResponse]],
    transport: Transport,
    scopes: frozenset[str],
) -> Callable[..., Awaitable[HttpResponse]]:
    check = sync_to_async(authenticate_request, thread_sensitive=True)

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rejection = await check(request, transport)
        if rejection is None and scopes:
            rejection = _scope_response(request, scopes)
        if rejection is not None:
            return rejection
        try:
            return await view(request, *args, **kwargs)
        except exceptions.AuthenticationFailed as error:
            return invalid_token_response(request, error)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper
