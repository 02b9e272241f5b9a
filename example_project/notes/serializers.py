from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Note


class NoteSerializer(serializers.ModelSerializer[Note]):
    # The owner is read-only. The view sets it from the token's user, so no
    # request body can create or move a note into another account.
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # Usernames of the users who may read the note. Only the owner can
    # change the list, because IsOwner lets readers use safe methods only.
    shared_with = serializers.SlugRelatedField(
        slug_field="username",
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
    )

    class Meta:
        model = Note
        fields = [
            "id",
            "owner",
            "title",
            "body",
            "shared_with",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]
