"""Request bodies of jwtsafe's views."""

from __future__ import annotations

from rest_framework import serializers


class LoginSerializer(serializers.Serializer[None]):
    username = serializers.CharField(max_length=254, trim_whitespace=False)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True
    )
