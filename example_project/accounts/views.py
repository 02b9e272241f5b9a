from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import User
from .serializers import MeSerializer, PasswordChangeSerializer


def current_user(request: Request) -> User:
    """Return ``request.user`` typed as the project's user model.

    ``request.user`` is jwtsafe's lazy ``TokenUser``. Its ``pk`` comes from
    the token with no query. The first read of any other attribute loads the
    row and rejects the request with 401 if the user was deleted or
    deactivated since the token was issued.
    """
    return cast(User, request.user)


class MeView(APIView):
    """Return the id, username and email of the authenticated user."""

    # Names the response body for the OpenAPI schema.
    serializer_class = MeSerializer

    def get(self, request: Request) -> Response:
        return Response(MeSerializer(current_user(request)).data)


class PasswordChangeView(APIView):
    """Change the password of the authenticated user and end all their sessions.

    ``save()`` sends the signal on which jwtsafe revokes every session of the
    user, this one included, so the client logs in again with the new
    password. Returns 204 on success and 400 when a password is rejected.
    """

    # Limits how fast a client with a valid token can guess the current password.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password"

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Changed; every session has ended."),
            400: OpenApiResponse(description="A password was rejected."),
        },
    )
    def post(self, request: Request) -> Response:
        user = current_user(request)
        serializer = PasswordChangeSerializer(data=request.data, context={"user": user})
        serializer.is_valid(raise_exception=True)
        user.set_password(serializer.validated_data["new_password"])
        user.save()
        return Response(status=status.HTTP_204_NO_CONTENT)
