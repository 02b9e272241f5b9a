"""One view that returns ``request.user.pk``, mounted once per setup."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import (
    JWTAuthentication as SimpleJWTAuthentication,
)
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from benchmarks.floor import PyJWTRedisAuthentication
from jwtsafe.authentication import JWTAuthentication


class WhoAmIView(APIView):
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"user": None if user is None else str(user.pk)})


def view_with(*classes: type, public: bool = False) -> Any:
    return WhoAmIView.as_view(
        authentication_classes=list(classes),
        permission_classes=[AllowAny] if public else [IsAuthenticated],
    )


# Path segment for each setup, in the order the report lists them.
SETUP_VIEWS = {
    "none": view_with(public=True),
    "floor": view_with(PyJWTRedisAuthentication),
    "jwtsafe": view_with(JWTAuthentication),
    "simplejwt": view_with(SimpleJWTAuthentication),
    "simplejwt-stateless": view_with(JWTStatelessUserAuthentication),
    "knox": view_with(KnoxTokenAuthentication),
    "drf-token": view_with(TokenAuthentication),
}

urlpatterns = [path(f"{name}/", view) for name, view in SETUP_VIEWS.items()]
urlpatterns.append(path("auth/", include("jwtsafe.urls")))
