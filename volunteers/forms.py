"""Input for teams, activities, exchanges and corrections, with their messages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.forms import SubmissionKeyField
from issues.forms import PhotosField
from volunteers.actions.activities import LONGEST, LONGEST_SERIES, Repeats
from volunteers.models import ExchangeRule


class TeamForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("team", "name"), max_length=50)
    purpose = forms.CharField(label=_("purpose"), max_length=200, required=False)
    submission_key = SubmissionKeyField()


class RuleForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("minutes of service"),
        min_value=1,
        max_value=100_000,
        help_text=_("How many minutes of volunteer service one exchange takes, e.g. 40."),
    )
    gives = forms.CharField(
        label=_("what it buys"),
        max_length=100,
        help_text=_("e.g. 1.5 hours of class at the school for the elderly."),
    )
    submission_key = SubmissionKeyField()


class MemberForm(forms.Form):
    resident = forms.ModelChoiceField(label=_("resident"), queryset=None)
    as_leader = forms.BooleanField(label=_("make them the team leader"), required=False)

    def __init__(self, *args, residents=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents


class ActivityForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=100)
    place = forms.CharField(label=_("place"), max_length=100)
    day = forms.DateField(label=_("day"), widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(label=_("starts at"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends_day = forms.DateField(
        label=_("ends on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Only if it ends on another day; an activity lasts at most one day."),
    )
    ends = forms.TimeField(label=_("ends at"), widget=forms.TimeInput(attrs={"type": "time"}))
    headcount = forms.IntegerField(label=_("people needed"), min_value=1, max_value=500)
    repeats = forms.ChoiceField(
        label=_("repeats"),
        required=False,
        choices=[
            (Repeats.ONCE, _("once")),
            (Repeats.WEEKLY, _("every week on the same day")),
            (Repeats.MONTHLY, _("every month on the same date")),
        ],
    )
    until = forms.DateField(
        label=_("repeats until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("At most half a year ahead."),
    )
    submission_key = SubmissionKeyField()

    def clean(self) -> dict:
        data = super().clean()
        day, starts, ends = data.get("day"), data.get("starts"), data.get("ends")
        if day is None or starts is None or ends is None:
            return data
        zone = timezone.get_current_timezone()
        starts_at = dt.datetime.combine(day, starts, tzinfo=zone)
        ends_at = dt.datetime.combine(data.get("ends_day") or day, ends, tzinfo=zone)
        if ends_at <= starts_at:
            self.add_error("ends", _("The activity must end after it starts."))
        elif ends_at - starts_at > LONGEST:
            self.add_error(
                "ends",
                _("An activity lasts at most one day; plan a longer one as several activities."),
            )
        data["starts_at"], data["ends_at"] = starts_at, ends_at
        until = data.get("until")
        if data.get("repeats"):
            if until is None or until < day:
                self.add_error("until", _("Say until when the activity repeats."))
            elif until - day > LONGEST_SERIES:
                self.add_error(
                    "until", _("A repeating activity is planned at most half a year ahead.")
                )
        return data


class ExchangeForm(forms.Form):
    rule = forms.ModelChoiceField(label=_("exchange for"), queryset=ExchangeRule.objects.none())
    quantity = forms.IntegerField(label=_("how many"), min_value=1, max_value=100, initial=1)
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    submission_key = SubmissionKeyField()

    def __init__(self, *args, rules=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = rules
        self.fields["rule"].label_from_instance = lambda rule: (
            _("%(minutes)s minutes → %(gives)s") % {"minutes": rule.minutes, "gives": rule.gives}
        )


class CorrectionForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("minutes"),
        min_value=-43_200,
        max_value=43_200,
        help_text=_("Positive to add, negative to take away (e.g. -30)."),
    )
    note = forms.CharField(label=_("reason"), max_length=200)
    submission_key = SubmissionKeyField()

    def clean_minutes(self) -> int:
        minutes = self.cleaned_data["minutes"]
        if minutes == 0:
            raise forms.ValidationError(_("A correction adds or takes away at least one minute."))
        return minutes


class MatterActivityForm(ActivityForm):
    """An activity that works on a matter: which team does it, and when (not repeated)."""

    team = forms.ModelChoiceField(label=_("team"), queryset=None)
    field_order = ["team", "title", "place", "day", "starts", "ends_day", "ends", "headcount"]

    def __init__(self, *args, teams=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        del self.fields["repeats"]
        del self.fields["until"]


class ActivityPhotosForm(forms.Form):
    photos = PhotosField(label=_("Photos of the work"), required=True)


class ThanksForm(forms.Form):
    """Whether the volunteer may be thanked by name on the community's public page."""

    thanks_consent = forms.BooleanField(
        label=_("Thank me by name on the community's public page"), required=False
    )
    thanks_name = forms.CharField(
        label=_("name shown in public"),
        max_length=20,
        required=False,
        help_text=_("As you like to be called, e.g. 王阿姨, or your surname only."),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("thanks_consent") and not (data.get("thanks_name") or "").strip():
            self.add_error("thanks_name", _("Say the name to show, e.g. 王阿姨."))
        return data
