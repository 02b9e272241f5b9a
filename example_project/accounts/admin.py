from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class ExampleUserAdmin(UserAdmin):
    # session_version is not editable: jwtsafe raises it on every revocation.
    readonly_fields = ("session_version",)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("JWT sessions", {"fields": ("session_version",)}),
    )
