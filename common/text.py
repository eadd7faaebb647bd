"""User text without the Unicode controls that reorder what is shown around it.

A bidirectional control (U+202A–U+202E embeddings and overrides, U+2066–U+2069
isolates, and the marks U+200E, U+200F and U+061C) in a name or a title turns the text
after it around: ``王\u202e五`` shows the masked phone beside it reversed, ``\u202eevil``
reads "live". Chinese and Latin text never needs them, so they are taken out of every
form's text on the way in (``strip_bidi_from_form_text``) and out of every exported cell
on the way out (rows stored before still hold them).
"""

from __future__ import annotations

import re
from typing import Any

BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return BIDI_CONTROLS.sub("", text)


def strip_bidi_from_form_text() -> None:
    """Make every form's text field (``forms.CharField`` and the fields built on it:
    e-mail, slug, regex, the text fields ModelForms make for model fields, passwords)
    drop bidirectional controls as it cleans what was typed.

    Done once, at start-up, so that no form, present or to come, can miss it.
    """
    from django import forms

    if getattr(forms.CharField.to_python, "strips_bidi", False):
        return
    to_python = forms.CharField.to_python

    def to_python_without_bidi(self: forms.CharField, value: Any) -> Any:
        value = to_python(self, value)
        if isinstance(value, str):
            value = strip_bidi(value)
            if self.strip:
                value = value.strip()
            if value in self.empty_values:
                return self.empty_value
        return value

    to_python_without_bidi.strips_bidi = True  # type: ignore[attr-defined]
    forms.CharField.to_python = to_python_without_bidi  # type: ignore[method-assign]
