"""Endpoints that the tests call through DRF."""

from __future__ import annotations

from rest_framework.authentication import BasicAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwtsafe.authentication import JWTAuthentication


class WhoAmIView(APIView):
    """Return the authenticated user's primary key; reads nothing else."""

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user.pk)})


class ProfileView(APIView):
    """Return fields that need the user row."""

    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"user": str(user.pk), "username": user.get_username()})


class PasswordChangeView(APIView):
    def post(self, request: Request) -> Response:
        user = request.user
        user.set_password(request.data["new_password"])
        user.save()
        return Response(status=204)


class BasicOrTokenView(APIView):
    """Accept a jwtsafe access token or HTTP Basic credentials."""

    authentication_classes = [JWTAuthentication, BasicAuthentication]

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user.pk)})


class PrivilegesView(APIView):
    """Return the user's privilege flags, which come from the user row."""

    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "user": str(user.pk),
                "is_superuser": user.is_superuser,
                "is_staff": user.is_staff,
            }
        )
