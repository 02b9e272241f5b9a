"""Endpoints that the tests call through DRF, and plain Django views."""

from __future__ import annotations

import threading
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers, viewsets
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from jwtsafe.authentication import JWTAuthentication, JWTCookieAuthentication
from jwtsafe.decorators import jwt_required
from jwtsafe.filters import OwnerFilter
from jwtsafe.permissions import HasScope, IsOwner, ObjectPermissions

from .models import Document, Project, Task


class TaskSerializer(serializers.ModelSerializer[Task]):
    class Meta:
        model = Task
        fields = ["id", "project", "title"]
        read_only_fields = ["project"]


class DocumentSerializer(serializers.ModelSerializer[Document]):
    class Meta:
        model = Document
        fields = ["id", "title"]


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


class ProjectTaskViewSet(viewsets.ModelViewSet[Task]):
    """Tasks of one project, under /projects/<project_pk>/tasks/."""

    serializer_class = TaskSerializer
    filter_backends = [OwnerFilter]
    permission_classes = [IsAuthenticated, IsOwner]
    owner_field = "project__owner"
    reader_field = "project__members"

    def get_queryset(self) -> QuerySet[Task]:
        return Task.objects.filter(project_id=self.kwargs["project_pk"])

    def perform_create(self, serializer: BaseSerializer[Task]) -> None:
        # The parent comes from the URL, so it must belong to the caller: a
        # task created under another user's project would become theirs.
        project = get_object_or_404(
            Project, pk=self.kwargs["project_pk"], owner_id=self.request.user.pk
        )
        serializer.save(project=project)


class DocumentViewSet(viewsets.ModelViewSet[Document]):
    """Documents that editors may change, by per-object permission."""

    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    permission_classes = [ObjectPermissions]
    jwtsafe_audit_exempt = "lists are open to every user in these tests"


class MissingOwnerFieldViewSet(viewsets.ReadOnlyModelViewSet[Task]):
    """A view with the ownership classes and no owner_field."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filter_backends = [OwnerFilter]
    permission_classes = [IsAuthenticated, IsOwner]


class ScopedView(APIView):
    """Needs the notes:read scope to read and notes:write to write."""

    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = {"GET": ["notes:read"], "POST": ["notes:write"]}

    def get(self, request: Request) -> Response:
        return Response({"scopes": sorted(request.auth.scopes)})

    def post(self, request: Request) -> Response:
        return Response({"written": True})


class UnprotectedTaskViewSet(viewsets.ModelViewSet[Task]):
    """Serves every task to any authenticated user: the audit must flag it."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer


class ReadersWriteViewSet(viewsets.ModelViewSet[Task]):
    """Shows tasks to project members and lets them change them: flagged."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filter_backends = [OwnerFilter]
    owner_field = "project__owner"
    reader_field = "project__members"


class PlainTaskView(APIView):
    """An APIView names IsOwner, but APIView never checks objects: flagged."""

    permission_classes = [IsAuthenticated, IsOwner]
    owner_field = "project__owner"

    def get(self, request: Request, pk: int) -> Response:
        return Response({"title": get_object_or_404(Task, pk=pk).title})


class TaskDetailView(generics.RetrieveUpdateDestroyAPIView[Task]):
    """One task with IsOwner but no filter: strangers must still get 404."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, IsOwner]
    owner_field = "project__owner"


class CookieWhoAmIView(APIView):
    """Authenticates by cookie or header; POST is an unsafe method for CSRF."""

    authentication_classes = [JWTCookieAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user.pk)})

    def post(self, request: Request) -> Response:
        return Response({"user": str(request.user.pk), "changed": True})


class PublicView(APIView):
    """Open to anyone, with the cookie class installed."""

    authentication_classes = [JWTCookieAuthentication]
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"authenticated": bool(request.user.is_authenticated)})


# Plain Django views, protected by jwtsafe.decorators or by the middleware.


def _user_fields(request: HttpRequest) -> dict[str, Any]:
    return {
        "authenticated": bool(request.user.is_authenticated),
        "user": str(request.user.pk),
        "thread": threading.get_ident(),
    }


@jwt_required
def plain_whoami(request: HttpRequest) -> JsonResponse:
    """Return the token user's primary key; reads nothing else of the user."""
    return JsonResponse(_user_fields(request))


@jwt_required
def plain_profile(request: HttpRequest) -> JsonResponse:
    """Return the username, which loads the user row."""
    return JsonResponse({"username": request.user.get_username()})


@jwt_required
async def async_whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_user_fields(request))


@jwt_required
async def async_profile(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"username": user.get_username()})


@jwt_required(transport="cookie")
def plain_cookie_whoami(request: HttpRequest) -> JsonResponse:
    """Authenticates by cookie or header; POST is an unsafe method for CSRF."""
    return JsonResponse({**_user_fields(request), "method": request.method})


@jwt_required(transport="cookie")
async def async_cookie_whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**_user_fields(request), "method": request.method})


@jwt_required(scopes=["notes:read"])
def plain_scoped(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"scopes": sorted(request.auth.scopes)})


def plain_open(request: HttpRequest) -> JsonResponse:
    """No decorator: shows the user that the middleware stack set."""
    return JsonResponse(_user_fields(request))


def plain_open_profile(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"username": None})
    return JsonResponse({"username": request.user.get_username()})


async def async_open(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse(
        {
            "authenticated": bool(user.is_authenticated),
            "user": str(user.pk),
            "thread": threading.get_ident(),
        }
    )
