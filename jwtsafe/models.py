"""Session rows and session versions: the source of truth for revocation."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SessionVersionMixin(models.Model):
    """Add a session version to a custom user model.

    Every token carries the version it was issued under. Raising the version
    ends every session of the user at once.
    """

    session_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # jwtsafe raises the version with an UPDATE of that column alone. A
        # full save() of an instance loaded before then would write the old
        # version back and revive revoked tokens, so it leaves the column out.
        if (
            not self._state.adding
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "session_version"
            ]
        super().save(*args, **kwargs)


class UserSessionVersion(models.Model):
    """The session version of a user whose model has no ``SessionVersionMixin``.

    A user without a row has version 0. The row goes with its user, and so do
    the user's sessions, so a new account that reuses a deleted user's primary
    key cannot revive the old account's tokens.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="jwtsafe_session_version",
        verbose_name=_("user"),
    )
    version = models.PositiveIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("user session version")
        verbose_name_plural = _("user session versions")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.version}"


class RevokeReason(models.TextChoices):
    LOGOUT = "logout", _("Logged out")
    LOGOUT_ALL = "logout_all", _("Logged out everywhere")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    DEACTIVATED = "deactivated", _("User deactivated")
    REUSE_DETECTED = "reuse_detected", _("Refresh token reuse detected")
    REVOKED = "revoked", _("Revoked")
    ADMIN = "admin", _("Revoked by an administrator")
    COMMAND = "command", _("Revoked from the command line")


class SessionState(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    REUSE_DETECTED = "reuse_detected", _("Reuse detected")


class SessionQuerySet(models.QuerySet["Session"]):
    def active(self) -> SessionQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def in_state(self, state: str) -> SessionQuerySet:
        """Return the sessions in one of ``SessionState``."""
        now = timezone.now()
        if state == SessionState.ACTIVE:
            return self.active()
        if state == SessionState.EXPIRED:
            return self.filter(revoked_at__isnull=True, expires_at__lte=now)
        if state == SessionState.REUSE_DETECTED:
            return self.filter(revoke_reason=RevokeReason.REUSE_DETECTED)
        if state == SessionState.REVOKED:
            return self.filter(revoked_at__isnull=False).exclude(
                revoke_reason=RevokeReason.REUSE_DETECTED
            )
        return self.none()


class Session(models.Model):
    """One login: the device-level unit that logout and reuse detection end.

    ``refresh_token_id`` is the ``jti`` of the only refresh token that may
    still be exchanged. Rotation replaces it with a conditional update, so of
    two concurrent refreshes with one token exactly one matches.
    """

    # Explicit verbose names, in the same English that Django derives from
    # the field names, so that the admin can translate them.
    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="jwtsafe_sessions",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_refreshed_at = models.DateTimeField(
        _("last refreshed at"), null=True, blank=True
    )
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(_("ip address"), null=True, blank=True)
    refresh_token_id = models.CharField(_("refresh token id"), max_length=32)
    # The refresh token exchanged last. Presented again within
    # REFRESH_GRACE_PERIOD of that exchange, as two browser tabs refreshing
    # at once do, it is rejected without ending the session.
    previous_refresh_token_id = models.CharField(
        _("previous refresh token id"), max_length=32, blank=True
    )
    # Django's session auth hash of the user at login: an HMAC of the password
    # hash, so a password changed without save() is caught at refresh.
    auth_hash = models.CharField(_("auth hash"), max_length=128, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reason = models.CharField(
        _("revoke reason"), max_length=32, choices=RevokeReason.choices, blank=True
    )
    # Who revoked the session from the admin or a command, and the reason
    # they gave. Empty for revocations by the user or by jwtsafe itself.
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_comment = models.TextField(_("revoke comment"), blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["user", "revoked_at"])]
        # Django stores permission names in the database and shows them
        # untranslated, so this one stays English like Django's own.
        permissions = [("revoke_session", "Can revoke sessions")]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        """One of ``SessionState``: active, expired, revoked or reuse detected."""
        if self.revoke_reason == RevokeReason.REUSE_DETECTED:
            return SessionState.REUSE_DETECTED
        if self.revoked_at is not None:
            return SessionState.REVOKED
        if self.expires_at <= timezone.now():
            return SessionState.EXPIRED
        return SessionState.ACTIVE
