"""Delete session rows that expired longer ago than the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jwtsafe.models import Session

DEFAULT_RETENTION_DAYS = 30
# A century: longer retention overflows date arithmetic and keeps every row.
MAX_RETENTION_DAYS = 36500


class Command(BaseCommand):
    help = (
        "Delete jwtsafe session rows whose expiry is more than the retention "
        "period in the past. Expired sessions are already rejected; the rows "
        "are kept that long only to show in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retention-days",
            type=int,
            default=DEFAULT_RETENTION_DAYS,
            help="Days to keep rows after expiry, 30 by default.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["retention_days"]
        if not 0 <= days <= MAX_RETENTION_DAYS:
            raise CommandError(
                f"--retention-days must be from 0 to {MAX_RETENTION_DAYS}."
            )
        cutoff = timezone.now() - timedelta(days=days)
        deleted, _ = Session.objects.filter(expires_at__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {deleted} session row(s) that expired before {cutoff:%Y-%m-%d}."
        )
