"""What staff and the council's leader type into the minutes: a version's text, a correction."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


def people_choices(members: list[str], staff: list[str], current: tuple[str, ...] = ()) -> list:
    """The names offered for a chair or a recorder, grouped; a name already on the minutes
    stays choosable when its person has left since."""
    offered = set(members) | set(staff)
    earlier = [name for name in dict.fromkeys(current) if name and name not in offered]
    groups: list = [("", gettext_lazy("— choose —"))]
    for label, names in (
        (gettext_lazy("Council members"), members),
        (gettext_lazy("Community staff"), staff),
        (gettext_lazy("Named earlier"), earlier),
    ):
        if names:
            groups.append((label, [(name, name) for name in names]))
    return groups


class MinutesForm(forms.Form):
    """A draft's title, chair, recorder and text, with the stamp of the version the editor
    started from. ``people``: the choices of ``people_choices``."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    chair = forms.ChoiceField(
        label=gettext_lazy("Chair"),
        required=False,
        help_text=gettext_lazy("Who chaired the meeting."),
    )
    recorder = forms.ChoiceField(
        label=gettext_lazy("Recorder"),
        required=False,
        help_text=gettext_lazy("Who kept the record of the meeting."),
    )
    text = forms.CharField(
        label=gettext_lazy("Minutes"),
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=100_000,
        strip=False,
    )
    stamp = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, people: list | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chair"].choices = people or []
        self.fields["recorder"].choices = people or []

    def visible(self) -> list:
        return [self["title"], self["chair"], self["recorder"], self["text"]]


class CorrectionForm(forms.Form):
    """Why approved minutes need a new version."""

    reason = forms.CharField(
        label=gettext_lazy("Why do the minutes need a correction?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=gettext_lazy("The reason stays on record with the new version."),
    )
