"""The custom user's admin, with jwtsafe's sessions inline and revoke action."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from jwtsafe.admin import UserSessionsAdminMixin

from .models import User


@admin.register(User)
class UserAdmin(UserSessionsAdminMixin, BaseUserAdmin):  # type: ignore[type-arg]
    pass
