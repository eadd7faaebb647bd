"""Optimistic versions for edit forms: two people editing the same record in two tabs.

An edit form carries the version of the record it was drawn from (a hidden field). The
action re-reads the record under a row lock (``lock``); a form drawn from an older version
is refused (``StaleEdit``) and nothing is written. The page is drawn again with what this
person typed kept, the current version in the form (so a second send can go through), and
the values saved meanwhile shown beside it (``refused_context``). ``bump`` saves with a new
version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django import forms
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.phones import mask_phone
from common.refusals import Refusal

M = TypeVar("M", bound=models.Model)


class VersionField(forms.IntegerField):
    """The hidden version an edit form was drawn from."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        super().__init__(**kwargs)


class StaleEdit(Refusal):
    """The form was drawn from an older version of the record than the one saved now."""

    def __init__(self, current: models.Model) -> None:
        super().__init__(
            _(
                "Someone else changed this while you were working on it. Your input is kept "
                "below, beside what is saved now: check it and send it again."
            )
        )
        self.current = current


def lock(model: type[M], pk: int, expected_version: int | None) -> M:
    """The record re-read under a row lock, refusing a form drawn from an older version.

    Call it inside a transaction. ``expected_version`` None (a page drawn before forms
    carried versions) skips the check.
    """
    current = model._default_manager.select_for_update().get(pk=pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(current)
    return current


def bump(record: models.Model, update_fields: Sequence[str] | None = None) -> None:
    """Save the record with a new version (all fields, or the ones named)."""
    record.version += 1
    if update_fields is None:
        record.save()
    else:
        record.save(update_fields=[*dict.fromkeys([*update_fields, "version"])])


YES = gettext_lazy("yes")
NO = gettext_lazy("no")


def shown_value(record: models.Model, name: str) -> str:
    """A field's saved value as a person reads it (a phone number only masked)."""
    display = getattr(record, f"get_{name}_display", None)
    value = display() if callable(display) else getattr(record, name)
    if name == "phone":
        return mask_phone(value) if value else "—"
    if isinstance(value, bool):
        return str(YES if value else NO)
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def refused_context(form: forms.BaseForm, refusal: Refusal) -> dict[str, Any]:
    """After a stale save: the form keeps what was typed but carries the current version,
    and the page gets ``stale_values``, (label, value saved now) of each field shown."""
    if not isinstance(refusal, StaleEdit):
        return {}
    current = refusal.current
    data = form.data.copy()
    data[form.add_prefix("version")] = str(current.version)
    form.data = data
    shown = getattr(form, "stale_value", None)
    values = []
    for field in form.visible_fields():
        if not hasattr(current, field.name):
            continue
        value = shown(current, field.name) if callable(shown) else None
        if value is None:
            value = shown_value(current, field.name)
        values.append((field.label, value))
    return {"stale_values": values}
