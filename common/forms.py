"""Form fields every app's forms share."""

import secrets

from django import forms


def day_field(label) -> forms.DateField:
    """An optional date, picked with the phone's or browser's own date picker."""
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def new_submission_key() -> str:
    """A random one-time key for a form that creates something."""
    return secrets.token_urlsafe(24)


class SubmissionKeyField(forms.CharField):
    """The hidden one-time key of a form that creates something: drawn new with each
    empty form, sent back unchanged when the form comes back with errors."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("initial", new_submission_key)
        super().__init__(**kwargs)
