"""Print the fingerprint of each configured key, or of a key read from stdin."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jwtsafe import keyring, keys
from jwtsafe.conf import RETIRED, jwtsafe_settings


class Command(BaseCommand):
    help = (
        "Print a fingerprint of each key in JWTSAFE. A fingerprint names a key "
        "without revealing it: list the fingerprints of your other "
        "environments in JWTSAFE['FORBIDDEN_KEY_FINGERPRINTS'] so that each "
        "environment rejects the others' keys."
    )
    # The command must work while the configured key fails the checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stdin",
            action="store_true",
            help="Read one key from standard input instead of the settings.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stdin"]:
            key = sys.stdin.buffer.read()
            # A key piped from a file or echo usually ends in a newline that
            # is not part of the key. A PEM key keeps it.
            if not keys.looks_like_pem(key):
                key = key.rstrip(b"\r\n")
            if not key:
                raise CommandError("No key on standard input.")
            self.stdout.write(keys.fingerprint(key))
            return

        if jwtsafe_settings.uses_key_ring:
            self._print_ring()
            return
        configured = getattr(settings, "JWTSAFE", None)
        if not isinstance(configured, dict):
            configured = {}
        found = False
        for name in ("SIGNING_KEY", "VERIFYING_KEY"):
            value = configured.get(name)
            if isinstance(value, (str, bytes)) and value:
                self.stdout.write(f"{name} {keys.fingerprint(value)}")
                found = True
        if not found:
            raise CommandError(
                "JWTSAFE has no SIGNING_KEY. Set it, or pass --stdin to "
                "fingerprint a key read from standard input."
            )

    def _print_ring(self) -> None:
        """Print ``kid role fingerprint`` for each key of ``KEYS`` in use."""
        try:
            settings_list = jwtsafe_settings.keys
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        for setting in settings_list:
            if setting.state == RETIRED:
                continue
            for role, source in setting.sources():
                try:
                    if role == "secret":
                        value = keyring.secret_bytes(source)
                    else:
                        value = keyring.read_source(source)
                except keyring.KeySourceError as error:
                    raise CommandError(str(error)) from None
                self.stdout.write(f"{setting.kid} {role} {keys.fingerprint(value)}")
