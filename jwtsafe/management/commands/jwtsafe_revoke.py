"""Revoke one session, every session of a user, or every session."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jwtsafe.models import RevokeReason, Session
from jwtsafe.sessions import revoke_session, revoke_user_sessions

DEFAULT_COMMENT = "revoked with manage.py jwtsafe_revoke"


class Command(BaseCommand):
    help = (
        "Revoke jwtsafe sessions at once, on every worker: one session by id, "
        "all sessions of a user, or every session with --all --yes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--session", help="Session id, as in the admin or sid.")
        target.add_argument(
            "--user", help="The user's USERNAME_FIELD value, or pk:<primary key>."
        )
        target.add_argument(
            "--all", action="store_true", help="Every active session of every user."
        )
        parser.add_argument(
            "--yes", action="store_true", help="Confirm --all without a prompt."
        )
        parser.add_argument(
            "--reason", default=DEFAULT_COMMENT, help="Stored on each session."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("--reason must not be empty.")
        # An empty --session or --user is a mistake, never a request for --all.
        if options["session"] is not None:
            self._revoke_session(options["session"], reason)
        elif options["user"] is not None:
            user = self._find_user(options["user"])
            count = revoke_user_sessions(user, RevokeReason.COMMAND, comment=reason)
            self.stdout.write(f"Revoked {count} session(s) of user {user.pk}.")
        else:
            if not options["yes"]:
                raise CommandError(
                    "--all ends every session of every user. Add --yes to confirm."
                )
            self._revoke_everything(reason)

    def _revoke_session(self, value: str, reason: str) -> None:
        try:
            session_id = uuid.UUID(value)
        except ValueError:
            raise CommandError(f"Invalid session id {value!r}.") from None
        if not Session.objects.filter(pk=session_id).exists():
            raise CommandError(f"Session {session_id} not found.")
        if revoke_session(session_id, RevokeReason.COMMAND, comment=reason):
            self.stdout.write(f"Revoked session {session_id}.")
        else:
            self.stdout.write(f"Session {session_id} was already revoked.")

    def _find_user(self, value: str) -> Any:
        model = get_user_model()
        lookup: dict[str, Any]
        if value.startswith("pk:"):
            lookup = {"pk": value[3:]}
        else:
            lookup = {model.USERNAME_FIELD: value}
        if not value or lookup.get("pk") == "":
            raise CommandError("--user must not be empty.")
        try:
            return model._default_manager.get(**lookup)
        except (model.DoesNotExist, ValueError, ValidationError):
            raise CommandError(f"User {value!r} not found.") from None

    def _revoke_everything(self, reason: str) -> None:
        model = get_user_model()
        user_ids = Session.objects.active().values_list("user_id", flat=True)
        users = model._default_manager.filter(pk__in=set(user_ids))
        total = 0
        for user in users:
            total += revoke_user_sessions(user, RevokeReason.COMMAND, comment=reason)
        self.stdout.write(f"Revoked {total} session(s) of {len(users)} user(s).")
