"""Extension points: how a page of a lower app shows what only an app above it knows.

Dependencies point one way (common ← members ← issues ← deliberation ← public, reports).
Where a lower app's page has room for a higher app's part (an issue's page offers the
meetings app's urgent-meeting form; a council member's page shows the issues app's
review figures), the lower app declares an ``ExtensionPoint`` and calls it; the higher app
provides the function in its ``AppConfig.ready()``. The page never imports the app that
answers, and the point's docstring says what it is asked and must return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


class KeyedExtensionPoint:
    """One named question asked about many keys (a notice's kind, …); each key is answered
    by the app that owns it, so several apps provide for one point, one key each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._providers: dict[str, Callable[..., Any]] = {}

    def provide(self, keys: Iterable[str], provider: Callable[..., Any]) -> Callable[..., Any]:
        """Answer this point for each of ``keys`` with ``provider`` (the latest wins)."""
        for key in keys:
            self._providers[key] = provider
        return provider

    def provider_for(self, key: str) -> Callable[..., Any] | None:
        return self._providers.get(key)

    def keys(self) -> frozenset[str]:
        return frozenset(self._providers)

    def __call__(self, key: str, *args: Any, **kwargs: Any) -> Any:
        function = self._providers.get(key)
        if function is None:
            raise ImproperlyConfigured(f"Nothing provides {self.name} for {key!r}.")
        return function(*args, **kwargs)
