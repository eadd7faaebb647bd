"""What staff type to set when a council meets."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from common.forms import SubmissionKeyField
from common.versions import VersionField
from deliberation.models import Schedule
from deliberation.schedules import clean_schedule

# Commas (ASCII or full-width), the enumeration comma 、, semicolons or spaces.
_DAY_SEPARATORS = re.compile(r"[,，、;；\s]+")


def split_days(text: str) -> list[str]:
    return [part for part in _DAY_SEPARATORS.split(text or "") if part]


class ScheduleForm(forms.Form):
    submission_key = SubmissionKeyField()
    kind = forms.ChoiceField(label=_("repeats"), choices=Schedule.Kind.choices)
    month_days = forms.CharField(
        label=_("days of the month"),
        required=False,
        max_length=120,
        help_text=_("For a monthly schedule: the days separated by commas, such as 8,18,28."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    weekday = forms.TypedChoiceField(
        label=_("weekday"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *sorted(WEEKDAYS.items())],
        help_text=_("For a weekly schedule."),
    )
    start_time = forms.TimeField(
        label=_("start time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    place = forms.CharField(label=_("place"), required=False, max_length=200)
    notice_days = forms.IntegerField(
        label=_("notice (days before)"),
        min_value=0,
        max_value=30,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    on_day_off = forms.ChoiceField(
        label=_("a meeting on a day off"),
        choices=Schedule.DayOff.choices,
        help_text=_(
            "Days off are weekends and China's statutory holidays; a make-up working day "
            "(调休) is a working day."
        ),
    )
    version = VersionField()

    def __init__(self, *args, schedule: Schedule | None = None, **kwargs) -> None:
        if schedule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": schedule.kind,
                    "month_days": ",".join(str(day) for day in schedule.month_days or []),
                    "weekday": schedule.weekday,
                    "start_time": schedule.start_time,
                    "place": schedule.place,
                    "notice_days": schedule.notice_days,
                    "on_day_off": schedule.on_day_off,
                    "version": schedule.version,
                },
            )
        else:
            fresh = Schedule()
            kwargs.setdefault(
                "initial",
                {
                    "kind": fresh.kind,
                    "month_days": ",".join(str(day) for day in fresh.month_days),
                    "start_time": fresh.start_time,
                    "notice_days": fresh.notice_days,
                    "on_day_off": fresh.on_day_off,
                },
            )
        super().__init__(*args, **kwargs)
        if schedule is None:
            del self.fields["version"]

    def stale_value(self, schedule: Schedule, name: str) -> str | None:
        """A saved value as the form shows it, beside a stale save."""
        if name == "weekday" and schedule.weekday is not None:
            return str(WEEKDAYS[schedule.weekday])
        if name == "start_time":
            return schedule.start_time.strftime("%H:%M")
        return None

    def clean(self) -> dict:
        data = super().clean()
        if "kind" not in data:
            return data
        try:
            data.update(
                clean_schedule(
                    kind=data["kind"],
                    month_days=split_days(data.get("month_days", "")),
                    weekday=data.get("weekday"),
                )
            )
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                for problem in errors:
                    self.add_error(name, problem)
        return data

    def schedule_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "month_days": data["month_days"],
            "weekday": data["weekday"],
            "start_time": data["start_time"],
            "place": data["place"],
            "notice_days": data["notice_days"],
            "on_day_off": data["on_day_off"],
        }
