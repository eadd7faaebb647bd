"""A benchmark of the pages people wait for: ``python -m bench`` (see README.md)."""

from __future__ import annotations

import os


def setup_django(*, migrate: bool) -> None:
    """Set Django up with the benchmark's settings and, unless told not to, migrate."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    # The pages are timed as a web worker serves them (deliberation.wsgi does the same).
    from deliberation.startup import settle_worker

    settle_worker()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def say(text: str) -> None:
    """A line of progress, shown at once."""
    print(text, flush=True)
