from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from .models import Note
from .serializers import NoteSerializer


class NoteViewSet(viewsets.ModelViewSet[Note]):
    """List, create, read, update and delete the authenticated user's notes.

    A valid token proves who the caller is, not what they may touch. The
    queryset contains only the caller's notes, so another user's note id gets
    404 on every method, and the response does not reveal that it exists.
    """

    serializer_class = NoteSerializer

    def get_queryset(self) -> QuerySet[Note]:
        # request.user.pk comes from the verified token, so this filter
        # needs no query for the user row.
        return Note.objects.filter(owner_id=self.request.user.pk)

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        serializer.save(owner_id=self.request.user.pk)
