"""Extension points: how a page of a lower app shows what only an app above it knows.

Dependencies point one way (common ← members ← issues ← deliberation ← public, reports).
Where a lower app's page has room for a higher app's part (an issue's page offers the
meetings app's urgent-meeting form; a council member's page shows the issues app's
review figures), the lower app declares an ``ExtensionPoint`` and calls it; the higher app
provides the function in its ``AppConfig.ready()``. The page never imports the app that
answers, and the point's docstring says what it is asked and must return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class ExtensionPoint:
    """One named question a lower app asks; one provider answers it."""

    def __init__(self, name: str, *, default: Callable[..., Any] | None = None) -> None:
        self.name = name
        self._default = default
        self._provider: Callable[..., Any] | None = None

    def provide(self, provider: Callable[..., Any]) -> Callable[..., Any]:
        """Answer this point with ``provider`` (called again, the latest provider wins)."""
        self._provider = provider
        return provider

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function = self._provider or self._default
        if function is None:
            raise ImproperlyConfigured(f"Nothing provides {self.name}: is its app installed?")
        return function(*args, **kwargs)
