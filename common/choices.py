"""Choice labels read once per language, not on every ``get_FOO_display()`` call.

Django's ``get_FOO_display()`` builds a dictionary of all the field's choices on every call,
hashing each lazily translated label, which translates it: a list of 50 issues asking three
such labels each translated some 1,500 labels per page. A model that takes
``ChoiceLabelsOnce`` first among its bases keeps, per field and language, the labels it
translated the first time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language


@lru_cache(maxsize=1024)
def _labels(field: models.Field, language: str | None) -> dict[Any, str]:
    return {
        make_hashable(value): force_str(label, strings_only=True)
        for value, label in field.flatchoices
    }


class ChoiceLabelsOnce:
    """A mixin for models whose lists show choice labels row after row."""

    def _get_FIELD_display(self, field: models.Field) -> str:
        value = getattr(self, field.attname)
        return _labels(field, get_language()).get(make_hashable(value), value)
