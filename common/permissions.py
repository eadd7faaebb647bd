"""The 403 side of a permission check, made from its yes-or-no side."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec

from django.core.exceptions import PermissionDenied

P = ParamSpec("P")


def requirement(may: Callable[P, bool]) -> Callable[P, None]:
    """The ``require_…`` twin of a ``may_…`` check: PermissionDenied (403) when it says no."""

    def require(*args: P.args, **kwargs: P.kwargs) -> None:
        if not may(*args, **kwargs):
            raise PermissionDenied

    require.__doc__ = f"PermissionDenied (403) unless ``{may.__name__}``."
    return require
