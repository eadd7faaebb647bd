"""What residents and staff type about a follow-up review: clear messages, no writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from issues.models import Rating

COMMENT_MAX = Rating._meta.get_field("comment").max_length


class RatingForm(forms.Form):
    """The resident's answer: fixed or not, how satisfied, and anything to add."""

    fixed = forms.ChoiceField(
        label=_("Was the problem fixed?"),
        choices=Rating.Fixed.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the problem was fixed.")},
    )
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with how it was handled?"),
        choices=Rating.Satisfaction.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how satisfied you are.")},
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX}),
    )


class StaffRatingForm(RatingForm):
    """A rating the resident gave staff in person or on the phone."""

    source = forms.ChoiceField(
        label=_("The resident told you"),
        choices=[
            (Rating.Source.IN_PERSON, _("in person")),
            (Rating.Source.PHONE, _("on the phone")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Say how the resident gave the rating.")},
    )

    field_order = ["source", "fixed", "satisfaction", "comment"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fixed"].label = _("Was the problem fixed, in the resident's words?")
        self.fields["satisfaction"].label = _("How satisfied is the resident?")
        self.fields["comment"].label = _("What the resident said (optional)")
