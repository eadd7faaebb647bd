"""What staff and the council's leader type into the minutes: a version's text, a correction."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class MinutesForm(forms.Form):
    """A draft's title and text, with the stamp of the version the editor started from."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    text = forms.CharField(
        label=gettext_lazy("Minutes"),
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=100_000,
        strip=False,
    )
    stamp = forms.CharField(widget=forms.HiddenInput, required=False)

    def visible(self) -> list:
        return [self["title"], self["text"]]


class CorrectionForm(forms.Form):
    """Why approved minutes need a new version."""

    reason = forms.CharField(
        label=gettext_lazy("Why do the minutes need a correction?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=gettext_lazy("The reason stays on record with the new version."),
    )
