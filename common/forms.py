"""Form fields every app's forms share."""

from django import forms


def day_field(label) -> forms.DateField:
    """An optional date, picked with the phone's or browser's own date picker."""
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
