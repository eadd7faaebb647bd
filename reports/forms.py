from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from common.periods import Period
from reports import period_reports
from reports.models import PeriodReport

QUARTERS = [
    (1, _("Q1 (Jan–Mar)")),
    (2, _("Q2 (Apr–Jun)")),
    (3, _("Q3 (Jul–Sep)")),
    (4, _("Q4 (Oct–Dec)")),
]


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), choices=PeriodReport.Kind.choices)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    quarter = forms.TypedChoiceField(
        label=_("Quarter"), coerce=int, required=False, empty_value=None,
        choices=[("", _("(year-end report)")), *QUARTERS],
    )  # fmt: skip

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        years = range(today.year, today.year - 6, -1)
        self.fields["year"].choices = [(y, str(y)) for y in years]
        if not self.is_bound:
            last = (today.month - 1) // 3 or 4
            self.initial = {
                "kind": PeriodReport.Kind.QUARTER,
                "year": today.year if last != 4 else today.year - 1,
                "quarter": last,
            }

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        quarter = data.get("quarter") if data["kind"] == PeriodReport.Kind.QUARTER else None
        if data["kind"] == PeriodReport.Kind.QUARTER and not quarter:
            raise forms.ValidationError(_("Choose which quarter."), code="quarter")
        try:
            self.period: Period = period_reports.report_period(
                data["kind"], data["year"], quarter, today=self.today
            )
        except period_reports.ReportRefused as refused:
            raise forms.ValidationError(str(refused), code="period") from None
        return data
