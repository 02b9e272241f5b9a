"""drf-spectacular extensions that describe jwtsafe in a project's OpenAPI schema.

``JWTSafeConfig.ready()`` imports this module when drf-spectacular is
installed, and importing it registers the extensions, so a project needs no
code of its own. The authentication extensions give ``JWTAuthentication`` an
HTTP bearer scheme and ``JWTCookieAuthentication`` the bearer scheme or an
access cookie. The view extensions give the login, refresh, logout and
logout-all views their request and response schemas, in header or cookie
mode as each URL serves them.

``jwks_view`` is a plain Django view, which drf-spectacular does not list,
so the JWKS URL is not in the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiViewExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.settings import api_settings

from .authentication import JWTAuthentication
from .conf import jwtsafe_settings
from .serializers import LoginSerializer

# Names of the security schemes under components.securitySchemes. They carry
# the package name so that they cannot clash with a project's own schemes.
BEARER_SCHEME = "jwtsafeBearer"
COOKIE_SCHEME = "jwtsafeCookie"


# Schema components. These serializers describe bodies and validate nothing:
# the views build their responses by hand.


@extend_schema_serializer(component_name="JWTSafeLogin")
class LoginRequestSerializer(LoginSerializer):
    """The credentials of a login request."""


@extend_schema_serializer(component_name="JWTSafeRefresh")
class RefreshRequestSerializer(serializers.Serializer[None]):
    """A refresh token to exchange for a new pair."""

    refresh = serializers.CharField(
        help_text="The refresh token from the last login or refresh."
    )


@extend_schema_serializer(component_name="JWTSafeTokenPair")
class TokenPairSerializer(serializers.Serializer[None]):
    """An access token and a refresh token."""

    access = serializers.CharField(
        help_text="The access token, a JWT, for the Authorization header."
    )
    refresh = serializers.CharField(
        help_text="The refresh token, a JWT, for the refresh and nothing else."
    )


@extend_schema_serializer(component_name="JWTSafeCookieExpiry")
class CookieExpirySerializer(serializers.Serializer[None]):
    """The expiry of each token cookie, in place of the tokens themselves."""

    access_expires_at = serializers.IntegerField(
        help_text="Expiry of the access cookie's token, in seconds since the "
        "Unix epoch."
    )
    refresh_expires_at = serializers.IntegerField(
        help_text="Expiry of the refresh cookie's token, in seconds since the "
        "Unix epoch."
    )


@extend_schema_serializer(component_name="JWTSafeError")
class ErrorSerializer(serializers.Serializer[None]):
    """The body of DRF's default exception handler for 401, 403, 429 and 503."""

    detail = serializers.CharField()


# A 400 from a serializer maps each field name to its messages. A body that
# is not valid JSON gets {"detail": "..."} instead.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "string"},
        ]
    },
}


# Responses and parameters shared by several operations.


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


BAD_REQUEST = OpenApiResponse(
    response=VALIDATION_ERROR_SCHEMA,
    description="A field is missing or invalid, or the body is not valid JSON.",
)
CSRF_FAILED = _error(
    "The request failed Django's CSRF check: no CSRF cookie, or no matching "
    "CSRF token in the header."
)
UNAVAILABLE = _error(
    "Neither the revocation cache nor the database could be read, so the "
    "request was rejected rather than let an unchecked token through."
)


def _unauthorized(description: str) -> OpenApiResponse:
    return _error(
        description + " The body is the same whatever check failed, and the "
        "jwtsafe logger records the reason."
    )


def _csrf_parameters() -> list[OpenApiParameter]:
    """Return the CSRF cookie and header that Django's CSRF check compares."""
    header = settings.CSRF_HEADER_NAME
    if header == "HTTP_X_CSRFTOKEN":
        header_name = "X-CSRFToken"
    else:
        header_name = header.removeprefix("HTTP_").replace("_", "-")
    return [
        OpenApiParameter(
            header_name,
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="The CSRF token, which Django's CSRF check compares "
            "with the CSRF cookie. A form body may carry it as "
            "csrfmiddlewaretoken instead.",
        ),
        OpenApiParameter(
            settings.CSRF_COOKIE_NAME,
            OpenApiTypes.STR,
            OpenApiParameter.COOKIE,
            description="Django's CSRF cookie, for the CSRF check.",
        ),
    ]


def _cookie_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.COOKIE, description=description
    )


def _challenge_header() -> OpenApiParameter:
    return OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[401],
        description=(
            f"The challenge, such as {jwtsafe_settings.auth_header_scheme} "
            f'realm="{jwtsafe_settings.realm}", error="invalid_token".'
        ),
    )


def _set_cookie_header(status_code: int, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Set-Cookie",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[status_code],
        description=description,
    )


RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the throttle admits another login attempt.",
)


@dataclass(frozen=True)
class OperationDoc:
    """The documentation of one view in one transport."""

    description: str
    request: Any
    responses: dict[int, Any]
    parameters: list[OpenApiParameter] = field(default_factory=list)


def describe_login(cookies: bool) -> OperationDoc:
    responses: dict[int, Any] = {
        400: BAD_REQUEST,
        401: _unauthorized(
            "The username or password is wrong, or the user is inactive."
        ),
        429: _error("Too many login attempts from this address or for this username."),
        503: _error(
            "The database, or the cache that counts login attempts, could not be read."
        ),
    }
    parameters = [_challenge_header(), RETRY_AFTER]
    if not cookies:
        responses[200] = OpenApiResponse(
            TokenPairSerializer, description="A new session and its tokens."
        )
        return OperationDoc(
            description=(
                "Exchange a username and password for an access and a refresh "
                "token. Logins are throttled per client address and per "
                "username."
            ),
            request=LoginRequestSerializer,
            responses=responses,
            parameters=parameters,
        )
    responses[200] = OpenApiResponse(
        CookieExpirySerializer,
        description="A new session. The tokens are in HttpOnly cookies, and "
        "Django's CSRF cookie is rotated.",
    )
    responses[403] = CSRF_FAILED
    return OperationDoc(
        description=(
            "Exchange a username and password for the access and refresh "
            "cookies, after Django's CSRF check. The body gives each cookie's "
            "expiry, never a token. Ends the session of the refresh cookie "
            "this browser already held. Logins are throttled per client "
            "address and per username."
        ),
        request=LoginRequestSerializer,
        responses=responses,
        parameters=[
            *parameters,
            *_csrf_parameters(),
            _set_cookie_header(200, _token_cookies_description("Sets")),
        ],
    )


def describe_refresh(cookies: bool) -> OperationDoc:
    responses: dict[int, Any] = {503: UNAVAILABLE}
    parameters = [_challenge_header()]
    if not cookies:
        responses[200] = OpenApiResponse(
            TokenPairSerializer, description="A new pair for the same session."
        )
        responses[400] = BAD_REQUEST
        responses[401] = _unauthorized(
            "The refresh token is invalid, expired, revoked or already used."
        )
        return OperationDoc(
            description=(
                "Exchange a refresh token for a new access and refresh token. "
                "The old refresh token stops working. Presenting it again "
                "after REFRESH_GRACE_PERIOD ends the session as token reuse."
            ),
            request=RefreshRequestSerializer,
            responses=responses,
            parameters=parameters,
        )
    responses[200] = OpenApiResponse(
        CookieExpirySerializer, description="New cookies for the same session."
    )
    responses[401] = _unauthorized(
        "No refresh cookie, or its token is invalid, expired, revoked or already used."
    )
    responses[403] = CSRF_FAILED
    return OperationDoc(
        description=(
            "Exchange the refresh cookie for new access and refresh cookies, "
            "after Django's CSRF check. The body is ignored, and the old "
            "refresh token stops working."
        ),
        request=None,
        responses=responses,
        parameters=[
            *parameters,
            *_csrf_parameters(),
            _cookie_parameter(
                jwtsafe_settings.refresh_cookie_name, "The refresh token."
            ),
            _set_cookie_header(200, _token_cookies_description("Sets")),
        ],
    )


def describe_logout(cookies: bool) -> OperationDoc:
    if not cookies:
        return OperationDoc(
            description="End the session of the access token in the "
            "Authorization header.",
            request=None,
            responses={
                204: OpenApiResponse(description="The session has ended."),
                401: _unauthorized(
                    "No access token, or one that is invalid, expired or revoked."
                ),
                503: UNAVAILABLE,
            },
            parameters=[_challenge_header()],
        )
    return OperationDoc(
        description=(
            "End the sessions of the refresh and access cookies and expire "
            "both cookies, after Django's CSRF check. Each cookie counts only "
            "when its token verifies, so the response is 204 even when both "
            "tokens had expired."
        ),
        request=None,
        responses={
            204: OpenApiResponse(description="The sessions have ended."),
            403: CSRF_FAILED,
            503: UNAVAILABLE,
        },
        parameters=[
            *_csrf_parameters(),
            _cookie_parameter(
                jwtsafe_settings.refresh_cookie_name, "The refresh token."
            ),
            _cookie_parameter(jwtsafe_settings.access_cookie_name, "The access token."),
            _set_cookie_header(204, _token_cookies_description("Expires")),
        ],
    )


def describe_logout_all(cookies: bool) -> OperationDoc:
    responses: dict[int, Any] = {
        204: OpenApiResponse(description="Every session of the user has ended."),
        401: _unauthorized(
            "No access token, or one that is invalid, expired or revoked."
        ),
        503: UNAVAILABLE,
    }
    parameters = [_challenge_header()]
    if not cookies:
        return OperationDoc(
            description="End every session of the authenticated user, on every device.",
            request=None,
            responses=responses,
            parameters=parameters,
        )
    responses[403] = CSRF_FAILED
    return OperationDoc(
        description=(
            "End every session of the authenticated user, on every device, and "
            "expire both cookies. A request authenticated by the access cookie "
            "must pass Django's CSRF check; one with an Authorization header "
            "need not."
        ),
        request=None,
        responses=responses,
        parameters=[
            *parameters,
            *_csrf_parameters(),
            _set_cookie_header(204, _token_cookies_description("Expires")),
        ],
    )


def _token_cookies_description(verb: str) -> str:
    return (
        f"{verb} the {jwtsafe_settings.access_cookie_name} and "
        f"{jwtsafe_settings.refresh_cookie_name} cookies."
    )


class TransportDocsSchema(AutoSchema):
    """Take an operation's documentation from its view's ``describe`` function.

    ``describe`` is called with the view's transport, so that one view class
    gets header-mode documentation under ``jwtsafe.urls`` and cookie-mode
    documentation under ``jwtsafe.cookie_urls``.
    """

    describe: Callable[[bool], OperationDoc]

    def _operation_doc(self) -> OperationDoc:
        view: Any = self.view  # a jwtsafe view, with TransportMixin
        return type(self).describe(view.uses_cookies())

    # drf-spectacular's AutoSchema drops the arguments of DRF's method.
    def get_description(self) -> str:  # type: ignore[override]
        return self._operation_doc().description

    def get_request_serializer(self) -> Any:
        return self._operation_doc().request

    def get_response_serializers(self) -> Any:
        return dict(sorted(self._operation_doc().responses.items()))

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), *self._operation_doc().parameters]


def documented_view(
    view_class: type[Any], describe: Callable[[bool], OperationDoc]
) -> type[Any]:
    """Return a subclass of ``view_class`` whose schema comes from ``describe``.

    The schema class also derives from the project's ``DEFAULT_SCHEMA_CLASS``
    when that is an ``AutoSchema``, so a project's customizations still
    apply to the parts that ``describe`` leaves alone, such as tags.
    """
    base = api_settings.DEFAULT_SCHEMA_CLASS
    bases: tuple[type[Any], ...] = (TransportDocsSchema,)
    if isinstance(base, type) and issubclass(base, AutoSchema):
        bases = (TransportDocsSchema, base)
    schema_class = type(
        f"{view_class.__name__}Schema",
        bases,
        {"describe": staticmethod(describe)},
    )
    return type(
        view_class.__name__,
        (view_class,),
        {
            "schema": schema_class(),
            "__module__": view_class.__module__,
            "__doc__": view_class.__doc__,
        },
    )


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """An HTTP bearer scheme for ``Authorization: Bearer <access token>``."""

    target_class = "jwtsafe.authentication.JWTAuthentication"
    name = BEARER_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return bearer_scheme()


class JWTCookieAuthenticationScheme(OpenApiAuthenticationExtension):
    """The access cookie, or the bearer scheme, which the class also accepts."""

    target_class = "jwtsafe.authentication.JWTCookieAuthentication"
    name = COOKIE_SCHEME

    def get_security_requirement(
        self, auto_schema: AutoSchema
    ) -> list[dict[str, list[Any]]]:
        # drf-spectacular registers only the schemes named in ``name``, under
        # this class. The bearer scheme is registered here under
        # JWTAuthentication, as that class's extension registers it, so a
        # project that uses both classes gets one scheme and no name clash.
        auto_schema.registry.register_on_missing(
            ResolvedComponent(
                name=BEARER_SCHEME,
                type=ResolvedComponent.SECURITY_SCHEMA,
                object=JWTAuthentication,
                schema=bearer_scheme(),
            )
        )
        # Either scheme alone authenticates a request.
        return [{BEARER_SCHEME: []}, {COOKIE_SCHEME: []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": jwtsafe_settings.access_cookie_name,
            "description": (
                "The access token in an HttpOnly cookie set by the cookie-mode "
                "login. Unsafe methods must also pass Django's CSRF check."
            ),
        }


def bearer_scheme() -> dict[str, Any]:
    """Return the security scheme of the ``Authorization`` header.

    OpenAPI's ``http`` type names the scheme ``bearer``. Any other
    ``AUTH_HEADER_SCHEME`` is described as an API key in the header.
    """
    prefix = jwtsafe_settings.auth_header_scheme
    if prefix.lower() == "bearer":
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    return {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": f"An access token, a JWT, after the prefix {prefix!r}.",
    }


class LoginViewSchema(OpenApiViewExtension):
    target_class = "jwtsafe.views.LoginView"

    def view_replacement(self) -> type[Any]:
        return documented_view(self.target, describe_login)


class RefreshViewSchema(OpenApiViewExtension):
    target_class = "jwtsafe.views.RefreshView"

    def view_replacement(self) -> type[Any]:
        return documented_view(self.target, describe_refresh)


class LogoutViewSchema(OpenApiViewExtension):
    target_class = "jwtsafe.views.LogoutView"

    def view_replacement(self) -> type[Any]:
        return documented_view(self.target, describe_logout)


class LogoutAllViewSchema(OpenApiViewExtension):
    target_class = "jwtsafe.views.LogoutAllView"

    def view_replacement(self) -> type[Any]:
        return documented_view(self.target, describe_logout_all)
