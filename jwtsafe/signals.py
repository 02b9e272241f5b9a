"""Revoke sessions when a user's password or active flag changes, or the user goes.

Only changes made through ``save()`` and ``delete()`` send these signals.
Changes that bypass them (``QuerySet.update()``, raw SQL) are caught when the
next refresh reads the user from the database.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_init, post_save

from .models import RevokeReason, Session
from .revocation import revocation_store
from .sessions import revoke_user_sessions, user_subject

ORIGINAL_STATE = "_jwtsafe_original_state"


def _remember_state(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Read from __dict__ so a deferred field never costs a query here.
    state = (instance.__dict__.get("password"), instance.__dict__.get("is_active"))
    instance.__dict__[ORIGINAL_STATE] = state


def _revoke_on_credential_change(
    sender: Any, instance: Any, created: bool, **kwargs: Any
) -> None:
    old_password, old_active = instance.__dict__.get(ORIGINAL_STATE, (None, None))
    new_password = instance.__dict__.get("password")
    new_active = instance.__dict__.get("is_active")
    _remember_state(sender, instance)
    if created:
        return

    # NOTE: a password rehash on login (a hasher upgrade) also changes the
    # stored hash and so ends the user's other sessions. Telling the two
    # apart is not possible from the saved row, and revoking fails closed.
    if old_password is not None and new_password != old_password:
        revoke_user_sessions(instance, RevokeReason.PASSWORD_CHANGED)
    elif old_active and new_active is False:
        revoke_user_sessions(instance, RevokeReason.DEACTIVATED)


def _forget_deleted_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    revocation_store.forget_user(user_subject(instance))


def _mark_deleted_session_revoked(
    sender: Any, instance: Session, **kwargs: Any
) -> None:
    revocation_store.mark_sessions_revoked([instance.id.hex])


def connect_user_signals() -> None:
    user_model = get_user_model()
    post_init.connect(_remember_state, sender=user_model, dispatch_uid="jwtsafe_init")
    post_save.connect(
        _revoke_on_credential_change, sender=user_model, dispatch_uid="jwtsafe_save"
    )
    post_delete.connect(
        _forget_deleted_user, sender=user_model, dispatch_uid="jwtsafe_user_delete"
    )
    post_delete.connect(
        _mark_deleted_session_revoked,
        sender=Session,
        dispatch_uid="jwtsafe_session_delete",
    )
