"""Input for running a meeting: clear messages, no writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from deliberation.models import Decision, Vote
from members.models import CouncilMember


class DecisionForm(forms.Form):
    """The decision on one agenda item, with an optional vote of the members present.

    Choices come from the lists the view already holds, so a page of many forms
    runs no query per form.
    """

    outcome = forms.ChoiceField(
        label=_("Decision"), choices=[("", "---------"), *Decision.Outcome.choices]
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    explanation = forms.CharField(
        label=_("Explanation for the reporter"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when the matter is not actionable; the reporter will see it."),
    )
    members = forms.MultipleChoiceField(
        label=_("Members who take it on"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    due_on = forms.DateField(
        label=_("Due on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        *args,
        members: list[CouncilMember],
        present: list[CouncilMember],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.members_by_id = {str(m.pk): m for m in members}
        self.fields["members"].choices = [(str(m.pk), m.resident.name) for m in members]
        self.vote_names = []
        for member in present:
            name = f"vote_{member.pk}"
            self.fields[name] = forms.ChoiceField(
                label=member.resident.name,
                required=False,
                choices=[("", _("no vote")), *Vote.Choice.choices],
            )
            self.vote_names.append(name)

    @property
    def vote_fields(self):
        return [self[name] for name in self.vote_names]

    @property
    def plain_fields(self):
        return [self[name] for name in ("outcome", "notes", "explanation", "due_on")]

    def clean(self):
        data = super().clean()
        if (
            data.get("outcome") == Decision.Outcome.NOT_ACTIONABLE
            and not (data.get("explanation") or "").strip()
        ):
            self.add_error(
                "explanation",
                _("Explain why the matter is not actionable; the reporter will see it."),
            )
        return data

    def votes(self) -> dict[int, str]:
        return {
            int(name.removeprefix("vote_")): self.cleaned_data[name]
            for name in self.vote_names
            if self.cleaned_data.get(name)
        }

    def chosen_members(self) -> list[CouncilMember]:
        return [self.members_by_id[pk] for pk in self.cleaned_data["members"]]


class ConveneForm(forms.Form):
    """When and where an urgent meeting about one issue takes place."""

    starts_at = forms.DateTimeField(
        label=_("Starts at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    place = forms.CharField(label=_("Place"), max_length=200)
