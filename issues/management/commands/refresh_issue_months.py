"""Recompute the dashboards' monthly roll-up from the issues, e.g. after a bulk import."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from issues import rollup


class Command(BaseCommand):
    help = "Recompute the dashboards' monthly figures (IssueMonth) from the issues."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            default=None,
            help="first month to recompute, as a date (YYYY-MM-DD); default: every month",
        )

    def handle(self, *args, since: str | None = None, **options) -> None:
        try:
            first = dt.date.fromisoformat(since) if since else None
        except ValueError as error:
            raise CommandError(f"--since: {error}") from error
        months = rollup.rebuild(since=first)
        self.stdout.write(f"{months} months recomputed.")
