from __future__ import annotations

from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import BaseSerializer

from jwtsafe.filters import OwnerFilter
from jwtsafe.permissions import IsOwner

from .models import Note
from .serializers import NoteSerializer


class NoteViewSet(viewsets.ModelViewSet[Note]):
    """List, create, read, update and delete notes, and read shared ones.

    A valid token proves who the caller is, not what they may touch.
    ``OwnerFilter`` limits every queryset, lists and single notes alike, to
    the caller's own notes and those shared with them, so any other note id
    gets 404 on every method, as if it did not exist. ``IsOwner`` then lets
    the owner change a note and its readers only read it: a reader who
    tries to change a shared note gets 403.
    """

    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    filter_backends = [OwnerFilter]
    permission_classes = [IsAuthenticated, IsOwner]
    owner_field = "owner"
    reader_field = "shared_with"

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        # request.user.pk comes from the verified token, with no query.
        serializer.save(owner_id=self.request.user.pk)
