"""The revocation store: the shared cache in front of the session tables.

This is the only module that talks to the cache. It keeps two entries:

- ``user:<id>``: the user's current session version.
- ``session:<id>``: the subject of an active session, or ``REVOKED``.

The request path reads both in one ``get_many`` call, which django-redis
sends as a single ``MGET``. A missing entry is a miss, never "not revoked":
the caller then reads the database.

A revocation is written to the database first, then here. When that cache
write fails, the entries it should have changed may still say "active":

- this process remembers their keys, and deletes them before its next read,
  so it reads the database for them instead;
- every entry that lets a token in (a user's version, an active session)
  expires after ``ACCESS_TOKEN_LIFETIME``, so another process trusts a stale
  one for at most that long, as it would trust an unexpired access token.

Entries that reject (``REVOKED``) live as long as a refresh token.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.core.cache import BaseCache, caches

from .conf import jwtsafe_settings

logger = logging.getLogger("jwtsafe")

KEY_PREFIX = "jwtsafe:v1"
REVOKED = "-"


class CacheUnavailable(Exception):
    """Raised when the revocation cache cannot be read."""


@dataclass(frozen=True)
class CachedState:
    """The cached state of one user and one session. ``None`` marks a miss."""

    user_version: int | None
    session_subject: str | None

    @property
    def session_revoked(self) -> bool:
        return self.session_subject == REVOKED


def user_key(subject: str) -> str:
    return f"{KEY_PREFIX}:user:{subject}"


def session_key(session_id: str) -> str:
    return f"{KEY_PREFIX}:session:{session_id}"


class RevocationStore:
    """Reads and writes revocation state in the ``CACHE_ALIAS`` cache."""

    def __init__(self, alias: str | None = None) -> None:
        self._alias = alias
        # Keys whose revocation write failed; deleted before the next read.
        self._stale: set[str] = set()
        self._stale_lock = threading.Lock()

    @property
    def cache(self) -> BaseCache:
        return caches[self._alias or jwtsafe_settings.cache_alias]

    def read(self, subject: str, session_id: str) -> CachedState:
        """Read the user's version and the session's state in one round trip.

        Raises ``CacheUnavailable`` when the cache fails, so the caller can
        fall back to the database.
        """
        keys = [user_key(subject), session_key(session_id)]
        try:
            if self._stale:
                self._delete_stale()
            values = self.cache.get_many(keys)
        except Exception as error:
            raise CacheUnavailable(str(error)) from error
        version = values.get(keys[0])
        session_subject = values.get(keys[1])
        return CachedState(
            user_version=version if isinstance(version, int) else None,
            session_subject=session_subject
            if isinstance(session_subject, str)
            else None,
        )

    def fill(
        self,
        subject: str,
        session_id: str,
        *,
        user_version: int,
        session_timeout: float,
    ) -> None:
        """Store state read from the database after a miss.

        ``add`` never overwrites, so a revocation written while the database
        read was in flight stays in place.
        """
        active_timeout = self._active_timeout()
        try:
            self.cache.add(user_key(subject), user_version, timeout=active_timeout)
            if session_timeout > 0:
                self.cache.add(
                    session_key(session_id),
                    subject,
                    timeout=min(session_timeout, active_timeout),
                )
        except Exception:
            logger.warning("Revocation cache fill failed", exc_info=True)

    def set_user_version(self, subject: str, version: int) -> None:
        self._write({user_key(subject): version}, self._active_timeout())

    def forget_user(self, subject: str) -> None:
        """Drop the cached version of a deleted user."""
        try:
            self.cache.delete(user_key(subject))
        except Exception:
            logger.error(
                "Revocation cache delete failed for user=%s", subject, exc_info=True
            )
            with self._stale_lock:
                self._stale.add(user_key(subject))

    def mark_sessions_revoked(self, session_ids: list[str]) -> None:
        if not session_ids:
            return
        # A revoked session's tokens die with the session's refresh lifetime,
        # so the marker never needs to outlive it.
        timeout = jwtsafe_settings.refresh_token_lifetime.total_seconds()
        self._write({session_key(sid): REVOKED for sid in session_ids}, timeout)

    def _active_timeout(self) -> float:
        return jwtsafe_settings.access_token_lifetime.total_seconds()

    def _write(self, values: dict[str, Any], timeout: float) -> None:
        # The database already contains the revocation. If the cache write
        # fails, a stale entry could still read "active", so its key is
        # remembered for deletion and the failure is logged as an error.
        try:
            self.cache.set_many(values, timeout=timeout)
        except Exception:
            logger.error(
                "Revocation cache write failed for %d entries; this process "
                "reads them from the database until they can be deleted",
                len(values),
                exc_info=True,
            )
            with self._stale_lock:
                self._stale.update(values)
        else:
            with self._stale_lock:
                self._stale.difference_update(values)

    def _delete_stale(self) -> None:
        """Delete the entries whose revocation write failed.

        Deleting never lets a token in: the next read of those keys misses
        and reads the database. Raises when the cache still fails, so the
        caller reads the database for this request too.
        """
        with self._stale_lock:
            stale = list(self._stale)
        self.cache.delete_many(stale)
        with self._stale_lock:
            self._stale.difference_update(stale)


revocation_store = RevocationStore()
