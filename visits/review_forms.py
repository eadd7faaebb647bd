"""Input of the quarter's review: the period asked for and the street's thresholds."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from visits.models import ReviewThresholds

FIRST_YEAR = 2020
PERCENT = {"min": 0, "max": 100, "inputmode": "numeric"}


class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = ReviewThresholds
        fields = ["visited_percent", "satisfied_percent"]
        widgets = {
            "visited_percent": forms.NumberInput(
                attrs={"min": 0, "max": 100, "inputmode": "numeric"}
            ),
            "satisfied_percent": forms.NumberInput(
                attrs={"min": 0, "max": 100, "inputmode": "numeric"}
            ),
        }


def year_choices(today: dt.date) -> list[tuple[int, int]]:
    return [(year, year) for year in range(today.year, FIRST_YEAR - 1, -1)]


class PeriodForm(forms.Form):
    """A quarter (or, without one, a year) of the review; bad values fall back to today's."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=())
    quarter = forms.TypedChoiceField(
        label=_("Quarter"),
        coerce=int,
        required=False,
        choices=[(q, _("Q%(n)s") % {"n": q}) for q in (1, 2, 3, 4)],
    )

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["year"].choices = year_choices(today)

    def period(self) -> tuple[int, int]:
        """(year, quarter) asked for, or today's when the query is missing or wrong."""
        quarter_now = (self.today.month - 1) // 3 + 1
        if not self.is_valid():
            return self.today.year, quarter_now
        return self.cleaned_data["year"], self.cleaned_data.get("quarter") or quarter_now
