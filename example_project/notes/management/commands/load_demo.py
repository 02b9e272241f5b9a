"""Create the demo users alice and bob with a few notes each, one of them shared."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from example_project.notes.models import Note

# Demo-only credentials, published in this file and printed by the command.
# Never load them into a database that anyone else can reach.
DEMO_USERS: dict[str, dict[str, Any]] = {
    "alice": {
        "email": "alice@example.com",
        "password": "alice-demo-password",
        "notes": [
            ("Shopping", "Coffee beans, oat milk, bread."),
            ("Ideas", "Rotate the signing key before the demo goes public."),
            ("Reading", "RFC 8725, JSON Web Token Best Current Practices."),
        ],
        # Titles of notes that bob may read but not change.
        "shared_with_bob": ["Reading"],
    },
    "bob": {
        "email": "bob@example.com",
        "password": "bob-demo-password",
        "notes": [
            ("Bob's private plans", "Only bob can read this note."),
            ("Gym", "Monday, Wednesday, Friday."),
        ],
    },
}


class Command(BaseCommand):
    help = (
        "Create the demo users alice and bob with a few notes each, one of "
        "alice's shared with bob. Running it "
        "again resets their passwords to the demo passwords and adds only the "
        "missing notes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            for username, demo in DEMO_USERS.items():
                self._load_user(username, demo)
            bob = get_user_model().objects.get(username="bob")
            for title in DEMO_USERS["alice"]["shared_with_bob"]:
                Note.objects.get(owner__username="alice", title=title).shared_with.add(
                    bob
                )
        self.stdout.write("")
        self.stdout.write("Demo passwords (public, for this local example only):")
        for username, demo in DEMO_USERS.items():
            self.stdout.write(f"  {username}: {demo['password']}")

    def _load_user(self, username: str, demo: dict[str, Any]) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": demo["email"]}
        )
        # Setting the password only when it differs keeps a rerun from
        # changing the password hash, which would end the user's sessions.
        if created or not user.check_password(demo["password"]):
            user.set_password(demo["password"])
            user.save()

        added = 0
        for title, body in demo["notes"]:
            _, note_created = Note.objects.get_or_create(
                owner=user, title=title, defaults={"body": body}
            )
            added += int(note_created)

        state = "created" if created else "exists"
        self.stdout.write(f"User {username}: {state}, {added} notes added.")
