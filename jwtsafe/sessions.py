"""Issuing, refreshing and revoking sessions.

The public functions here are the Python API for custom login flows, tests
and operators: ``issue_token_pair``, ``refresh_token_pair``,
``revoke_session`` and ``revoke_user_sessions``.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from .conf import (
    ACCESS_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
    SCOPE_NAME,
    jwtsafe_settings,
)
from .models import RevokeReason, Session, SessionVersionMixin, UserSessionVersion
from .revocation import CacheUnavailable, revocation_store
from .tokens import (
    SCOPE_CLAIM,
    Claims,
    TokenError,
    encode_token,
    require_signing_key,
    verify_token,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("jwtsafe")


class RevocationUnavailable(Exception):
    """Raised when neither the cache nor the database can be read."""


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token of the same session."""

    access: str
    refresh: str
    session_id: str
    access_claims: dict[str, Any]
    refresh_claims: dict[str, Any]


# Users


def _uses_mixin() -> bool:
    return issubclass(get_user_model(), SessionVersionMixin)


def _user_id_field() -> models.Field[Any, Any]:
    model = get_user_model()
    name = jwtsafe_settings.user_id_field
    if name == "pk":
        return model._meta.pk
    return model._meta.get_field(name)  # type: ignore[return-value]


def user_subject(user: AbstractBaseUser) -> str:
    """Return the ``sub`` claim for ``user``: its id field as a string."""
    field = _user_id_field()
    return str(getattr(user, field.attname))


def parse_subject(subject: str) -> Any:
    """Return the id field value that ``subject`` names.

    Only the canonical spelling is accepted: ``"7"`` but not ``"07"``,
    ``" 7"``, ``"+7"`` or ``"\\u0667"``, and a UUID in its lower-case
    hyphenated form. Integers outside the column's range are rejected too, so
    no lookup can fail in the database.
    """
    field, low, high = _subject_field(jwtsafe_settings.user_id_field, connection.vendor)
    try:
        value = field.to_python(subject)
    except (ValidationError, ValueError, TypeError, OverflowError) as error:
        raise TokenError("invalid_subject") from error
    if value is None or str(value) != subject:
        raise TokenError("invalid_subject")
    if isinstance(value, int):
        if (low is not None and value < low) or (high is not None and value > high):
            raise TokenError("invalid_subject")
    return value


@functools.lru_cache(maxsize=16)
def _subject_field(
    name: str, vendor: str
) -> tuple[models.Field[Any, Any], int | None, int | None]:
    """Return the user id field and its integer range on this database.

    Kept per setting and database, because ``parse_subject`` runs on every
    request, and forgotten when a setting changes, ``AUTH_USER_MODEL``
    among them.
    """
    model = get_user_model()
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    assert isinstance(field, models.Field)
    low: int | None
    high: int | None
    try:
        low, high = connection.ops.integer_field_range(field.get_internal_type())
    except KeyError:
        # Not an integer field, such as a UUID primary key: no range.
        low = high = None
    return field, low, high


def _forget_subject_field(**kwargs: Any) -> None:
    _subject_field.cache_clear()


setting_changed.connect(_forget_subject_field)


def _has_active_field() -> bool:
    return any(
        field.name == "is_active" for field in get_user_model()._meta.concrete_fields
    )


def _user_lookup() -> str:
    field = _user_id_field()
    return "user__pk" if field.primary_key else f"user__{field.name}"


def get_session_version(user: AbstractBaseUser) -> int:
    """Return the user's current session version from the database."""
    if _uses_mixin():
        model: type[models.Model] = get_user_model()
        value = model._default_manager.filter(pk=user.pk).values_list(
            "session_version", flat=True
        )
        return int(value.first() or 0)
    row = UserSessionVersion.objects.filter(user_id=user.pk).values_list(
        "version", flat=True
    )
    return int(row.first() or 0)


def _bump_session_version(user: AbstractBaseUser) -> int:
    if _uses_mixin():
        model: type[models.Model] = get_user_model()
        model._default_manager.filter(pk=user.pk).update(
            session_version=F("session_version") + 1
        )
        version = get_session_version(user)
        # Keep an instance in memory from saving the old version back.
        user.session_version = version  # type: ignore[attr-defined]
        return version
    UserSessionVersion.objects.get_or_create(user_id=user.pk)
    UserSessionVersion.objects.filter(user_id=user.pk).update(version=F("version") + 1)
    return get_session_version(user)


# Issuing


def _auth_hash(user: AbstractBaseUser) -> str:
    get_hash = getattr(user, "get_session_auth_hash", None)
    return str(get_hash()) if callable(get_hash) else ""


def _client_details(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {"user_agent": "", "ip_address": None}
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    ip_address = request.META.get("REMOTE_ADDR") or None
    return {"user_agent": user_agent, "ip_address": ip_address}


def _lifetime_seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _encode_pair(
    user: AbstractBaseUser,
    session: Session,
    version: int,
    refresh_token_id: str,
    scopes: frozenset[str],
) -> TokenPair:
    subject = user_subject(user)
    session_id = session.id.hex
    extra_claims = {SCOPE_CLAIM: " ".join(sorted(scopes))} if scopes else None
    access, access_claims = encode_token(
        token_type=ACCESS_TOKEN_TYPE,
        subject=subject,
        session_id=session_id,
        session_version=version,
        lifetime_seconds=_lifetime_seconds(jwtsafe_settings.access_token_lifetime),
        extra_claims=extra_claims,
    )
    # A refresh token never outlives its session.
    remaining = (session.expires_at - timezone.now()).total_seconds()
    refresh_lifetime = max(
        1,
        min(
            _lifetime_seconds(jwtsafe_settings.refresh_token_lifetime),
            int(remaining),
        ),
    )
    refresh, refresh_claims = encode_token(
        token_type=REFRESH_TOKEN_TYPE,
        subject=subject,
        session_id=session_id,
        session_version=version,
        lifetime_seconds=refresh_lifetime,
        token_id=refresh_token_id,
        extra_claims=extra_claims,
    )
    return TokenPair(access, refresh, session_id, access_claims, refresh_claims)


def issue_token_pair(
    user: AbstractBaseUser,
    *,
    request: HttpRequest | None = None,
    scopes: Iterable[str] | None = None,
) -> TokenPair:
    """Start a session for ``user`` and return its first access and refresh tokens.

    The caller has already authenticated the user. ``request`` supplies the
    user agent and IP address recorded on the session row. ``scopes`` go
    into the ``scope`` claim of both tokens and of every refreshed pair;
    ``JWTSAFE['DEFAULT_SCOPES']`` when None.
    """
    if not getattr(user, "is_active", True):
        raise ValueError("Cannot issue tokens for an inactive user.")
    granted = jwtsafe_settings.default_scopes if scopes is None else frozenset(scopes)
    for scope in granted:
        if not isinstance(scope, str) or not SCOPE_NAME.fullmatch(scope):
            raise ValueError(
                "Scopes must be printable ASCII names without spaces, quotes "
                "or backslashes."
            )
    require_signing_key()
    refresh_token_id = uuid.uuid4().hex
    session = Session.objects.create(
        user_id=user.pk,
        expires_at=timezone.now() + jwtsafe_settings.refresh_token_lifetime,
        refresh_token_id=refresh_token_id,
        auth_hash=_auth_hash(user),
        **_client_details(request),
    )
    version = get_session_version(user)
    pair = _encode_pair(user, session, version, refresh_token_id, granted)
    _warm_cache(user, session, version)
    return pair


def _warm_cache(user: AbstractBaseUser, session: Session, version: int) -> None:
    # The first request with the new access token then needs no query.
    revocation_store.fill(
        user_subject(user),
        session.id.hex,
        user_version=version,
        session_timeout=(session.expires_at - timezone.now()).total_seconds(),
    )


# Refreshing


def refresh_token_pair(token: str, *, request: HttpRequest | None = None) -> TokenPair:
    """Exchange a refresh token for a new pair, rotating the refresh token.

    Reads the user and the session from the database. A refresh token that
    was already exchanged revokes its whole session. Raises ``TokenError``
    on every rejection.
    """
    require_signing_key()
    claims = verify_token(token, REFRESH_TOKEN_TYPE)
    user_id = parse_subject(claims.subject)
    session = (
        Session.objects.select_related("user")
        .filter(pk=claims.session_id, **{_user_lookup(): user_id})
        .first()
    )
    if session is None:
        raise TokenError("session_not_found", claims.payload)
    user = session.user
    if not user.is_active:
        raise TokenError("user_inactive", claims.payload)
    if not session.is_active:
        raise TokenError("session_revoked", claims.payload)
    if get_session_version(user) != claims.session_version:
        raise TokenError("revoked", claims.payload)
    if not constant_time_compare(session.auth_hash, _auth_hash(user)):
        # The password changed without save(), so no signal revoked this.
        revoke_session(session.id, RevokeReason.PASSWORD_CHANGED)
        raise TokenError("password_changed", claims.payload)

    new_refresh_token_id = uuid.uuid4().hex
    rotated = Session.objects.filter(
        pk=session.pk,
        refresh_token_id=claims.token_id,
        revoked_at__isnull=True,
    ).update(
        refresh_token_id=new_refresh_token_id,
        previous_refresh_token_id=claims.token_id,
        last_refreshed_at=timezone.now(),
    )
    if rotated != 1:
        if _superseded_within_grace(session.pk, claims.token_id):
            # Another request exchanged this token a moment ago, such as a
            # second browser tab. The session stays; this request loses.
            raise TokenError("refresh_superseded", claims.payload)
        # The token was already exchanged, so the client sending it now may
        # be an attacker with a stolen copy, and the whole session ends.
        revoke_session(session.id, RevokeReason.REUSE_DETECTED)
        raise TokenError("refresh_reused", claims.payload)

    pair = _encode_pair(
        user, session, claims.session_version, new_refresh_token_id, claims.scopes
    )
    _warm_cache(user, session, claims.session_version)
    return pair


def _superseded_within_grace(session_id: uuid.UUID, token_id: str) -> bool:
    """Return whether ``token_id`` was exchanged within the grace period."""
    grace = jwtsafe_settings.refresh_grace_period
    if not grace:
        return False
    return Session.objects.filter(
        pk=session_id,
        previous_refresh_token_id=token_id,
        revoked_at__isnull=True,
        last_refreshed_at__gte=timezone.now() - grace,
    ).exists()


# Revoking


def revoke_session(
    session_id: uuid.UUID | str,
    reason: str = RevokeReason.LOGOUT,
    *,
    revoked_by: AbstractBaseUser | None = None,
    comment: str = "",
) -> bool:
    """End one session. Returns whether it was active until now.

    ``revoked_by`` and ``comment`` record who ended it and why, for
    revocations from the admin or a command.
    """
    session_uuid = (
        session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(session_id)
    )
    revoked = Session.objects.filter(pk=session_uuid, revoked_at__isnull=True).update(
        revoked_at=timezone.now(),
        revoke_reason=reason,
        revoked_by=revoked_by,
        revoke_comment=comment,
    )
    revocation_store.mark_sessions_revoked([session_uuid.hex])
    return revoked == 1


def revoke_user_sessions(
    user: AbstractBaseUser,
    reason: str = RevokeReason.LOGOUT_ALL,
    *,
    revoked_by: AbstractBaseUser | None = None,
    comment: str = "",
) -> int:
    """End every session of ``user`` at once. Returns how many were active.

    Raises the user's session version, so every access and refresh token
    issued before this call is rejected on its next use, and marks the
    session rows revoked for the admin, with ``revoked_by`` and ``comment``.
    """
    with transaction.atomic():
        version = _bump_session_version(user)
        active = Session.objects.filter(user_id=user.pk, revoked_at__isnull=True)
        session_ids = [
            session_id.hex for session_id in active.values_list("pk", flat=True)
        ]
        count = active.update(
            revoked_at=timezone.now(),
            revoke_reason=reason,
            revoked_by=revoked_by,
            revoke_comment=comment,
        )
    revocation_store.set_user_version(user_subject(user), version)
    revocation_store.mark_sessions_revoked(session_ids)
    return count


# Checking an access token


def check_session(claims: Claims) -> None:
    """Raise ``TokenError`` unless the token's session and version are current.

    One cache round trip when the cache contains both entries. On a miss, or
    when the cached version differs from the token's, the database decides.
    Raises ``RevocationUnavailable`` when neither can be read.
    """
    try:
        state = revocation_store.read(claims.subject, claims.session_id)
    except CacheUnavailable as error:
        logger.warning("Revocation cache read failed, reading the database: %s", error)
        state = None

    if state is not None:
        if state.session_revoked:
            raise TokenError("session_revoked", claims.payload)
        if (
            state.session_subject is not None
            and state.session_subject != claims.subject
        ):
            raise TokenError("session_revoked", claims.payload)
        if (
            state.session_subject is not None
            and state.user_version == claims.session_version
        ):
            return

    _check_session_in_database(claims)


def _check_session_in_database(claims: Claims) -> None:
    user_id = parse_subject(claims.subject)
    version_field = (
        "user__session_version"
        if _uses_mixin()
        else "user__jwtsafe_session_version__version"
    )
    fields = ["revoked_at", "expires_at", version_field]
    if _has_active_field():
        fields.append("user__is_active")
    try:
        row = (
            Session.objects.filter(pk=claims.session_id, **{_user_lookup(): user_id})
            .values(*fields)
            .first()
        )
    except DatabaseError as error:
        raise RevocationUnavailable() from error

    if row is None:
        raise TokenError("session_not_found", claims.payload)
    if not row.get("user__is_active", True):
        raise TokenError("user_inactive", claims.payload)
    expires_at: datetime = row["expires_at"]
    if row["revoked_at"] is not None or expires_at <= timezone.now():
        raise TokenError("session_revoked", claims.payload)
    version = int(row[version_field] or 0)
    if version != claims.session_version:
        raise TokenError("revoked", claims.payload)

    revocation_store.fill(
        claims.subject,
        claims.session_id,
        user_version=version,
        session_timeout=(expires_at - timezone.now()).total_seconds(),
    )
