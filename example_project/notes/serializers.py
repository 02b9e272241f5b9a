from __future__ import annotations

from rest_framework import serializers

from .models import Note


class NoteSerializer(serializers.ModelSerializer[Note]):
    # The owner is not a field here. The view sets it from the token's user,
    # so no request body can create or move a note into another account.
    class Meta:
        model = Note
        fields = ["id", "title", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
