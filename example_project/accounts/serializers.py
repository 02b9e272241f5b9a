from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .models import User


class MeSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields


class PasswordChangeSerializer(serializers.Serializer[None]):
    """Check the current password and validate the new one for ``context["user"]``."""

    old_password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True
    )
    new_password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True
    )

    def validate_old_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("The current password is incorrect.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Runs AUTH_PASSWORD_VALIDATORS with the user, so that the similarity
        # validator can compare the new password to the username and email.
        try:
            password_validation.validate_password(
                attrs["new_password"], self.context["user"]
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                {"new_password": list(error.messages)}
            ) from error
        return attrs
