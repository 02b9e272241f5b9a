from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from jwtsafe.admin import UserSessionsAdminMixin

from .models import User


@admin.register(User)
class ExampleUserAdmin(UserSessionsAdminMixin, UserAdmin):  # type: ignore[type-arg]
    """Django's user admin with the user's active sessions and a revoke action."""

    # session_version is not editable: jwtsafe raises it on every revocation.
    readonly_fields = ("session_version",)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("JWT sessions", {"fields": ("session_version",)}),
    )
