"""The form residents fill in after scanning their community's QR code, with its spam checks.

Two checks need no outside service. A honeypot field, hidden from people by CSS,
is left empty by people and filled by most bots. A signed stamp records when the
form was drawn: a post sooner than ``MIN_FORM_AGE_SECONDS`` after that is a
script, and one later than ``MAX_FORM_AGE_SECONDS`` is a replay. The stamp also
carries a random nonce, so one drawn form can produce only one issue (a double
tap on a slow connection sends it twice).
"""

from __future__ import annotations

import secrets
import time

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from common.phones import normalise_phone
from issues import queries
from issues.models import Category, Issue
from members.models import Community

MIN_FORM_AGE_SECONDS = 3
MAX_FORM_AGE_SECONDS = 2 * 3600
MAX_PUBLIC_PHOTOS = 3
STAMP_SALT = "yishi.public-form.rendered"

REJECTED = _("We could not accept this report. Please check it and send it again in a moment.")
# The join form's refusal by the spam checks: a person is most often refused for sending the
# form too soon after opening it (autofill), so the message blames nobody and keeps the way on.
JOIN_REJECTED = _(
    "Your request did not go through this time. What you typed is still here: please wait "
    "a moment and press “Ask to join” again. Your community office can also add you to a team."
)


def form_stamp(community: Community) -> str:
    """A signed record of when and for which community a form was drawn."""
    nonce = secrets.token_urlsafe(9)
    return signing.TimestampSigner(salt=STAMP_SALT).sign(f"{community.pk}.{nonce}")


def stamp_nonce(value: str, community: Community) -> str | None:
    """The nonce of a genuine stamp for this community, of acceptable age; else None."""
    signer = signing.TimestampSigner(salt=STAMP_SALT)
    try:
        payload = signer.unsign(value, max_age=MAX_FORM_AGE_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return None
    community_pk, _dot, nonce = payload.partition(".")
    if community_pk != str(community.pk) or not nonce:
        return None
    drawn_at = signing.b62_decode(value.rsplit(signer.sep, 2)[1])
    if time.time() - drawn_at < MIN_FORM_AGE_SECONDS:
        return None
    return nonce


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return obj.label


class MultiplePhotoInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to ``MAX_PUBLIC_PHOTOS`` files; the action decodes each one (issues.photos)."""

    widget = MultiplePhotoInput(attrs={"accept": "image/*"})

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data]
        cleaned = [super(PhotosField, self).clean(item, initial) for item in files if item]
        if len(cleaned) > MAX_PUBLIC_PHOTOS:
            raise forms.ValidationError(
                _("Choose at most %(n)s photos.") % {"n": MAX_PUBLIC_PHOTOS}, code="too_many"
            )
        return cleaned


class StampedForm(forms.Form):
    """A public form drawn for one community, with the honeypot and the signed stamp."""

    # What the spam checks' refusal says (the form's own wording).
    rejected_message = REJECTED
    # The honeypot: hidden by the .hp class, left empty by people.
    homepage = forms.CharField(required=False)
    rendered = forms.CharField(required=False)

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.community = community
        self.nonce: str | None = None

    def clean(self) -> dict:
        data = super().clean()
        self.nonce = stamp_nonce(self.data.get("rendered", ""), self.community)
        if data.get("homepage") or self.nonce is None:
            self.nonce = None
            raise forms.ValidationError(self.rejected_message, code="rejected")
        return data

    @property
    def rejected(self) -> bool:
        """Refused by the spam checks (not by what the person typed)."""
        return any(error.code == "rejected" for error in self.errors.as_data().get("__all__", []))

    @property
    def stamp(self) -> str:
        """The stamp to draw the form with: the posted one while it is still good, else new."""
        if self.is_bound and self.nonce is not None:
            return self.data.get("rendered", "")
        return form_stamp(self.community)


class PublicReportForm(StampedForm):
    title = forms.CharField(
        label=_("What is the problem?"),
        max_length=Issue._meta.get_field("title").max_length,
        help_text=_("A few words, for example: the streetlight at the east gate is broken."),
        error_messages={"required": _("Please say in a few words what the problem is.")},
    )
    category = CategoryChoiceField(
        label=_("Kind of problem"),
        queryset=Category.objects.none(),
        empty_label=_("Choose one"),
        error_messages={
            "required": _("Choose the kind of problem."),
            "invalid_choice": _("Choose one of the kinds of problem in the list."),
        },
    )
    description = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=Issue._meta.get_field("description").max_length,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What happens, since when, and whom it affects."),
    )
    place = forms.CharField(
        label=_("Where is it?"),
        required=False,
        max_length=Issue._meta.get_field("place").max_length,
        help_text=_("For example: lane 5, building 3, by the bicycle shed."),
    )
    photos = PhotosField(
        label=_("Photos"),
        required=False,
        help_text=_("Up to 3 photos. The location stored in a photo is removed."),
    )
    contact_name = forms.CharField(
        label=_("Your name"),
        required=False,
        max_length=Issue._meta.get_field("contact_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_phone = forms.CharField(
        label=_("Your phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, community=community, **kwargs)
        self.fields["category"].queryset = queries.categories_for(community)

    def clean_contact_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("contact_phone", ""))

    def report_fields(self) -> dict:
        """The cleaned fields for ``issues.actions.intake.issue_report``."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "category": data["category"],
            "description": data["description"],
            "place": data["place"],
            "contact_name": data["contact_name"],
            "contact_phone": data["contact_phone"],
            "uploads": data["photos"],
        }


class AskVisitForm(StampedForm):
    """A resident asks the community's visiting team for a visit (应约走访), with the same
    spam checks as the report form (honeypot, signed stamp with the drawn form's nonce)."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Please give your name.")},
    )
    topic = forms.CharField(
        label=_("What would you like to talk about?"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Please say in a few words what it is about.")},
    )
    preferred_times = forms.CharField(
        label=_("When suits you?"),
        max_length=100,
        required=False,
        help_text=_("For example: weekday evenings, Saturday morning."),
    )
    phone = forms.CharField(
        label=_("Your phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    phone_consent = forms.BooleanField(
        label=_("The team may call me or text me at this number about this visit."),
        required=False,
    )
    address = forms.CharField(
        label=_("Your address"),
        max_length=100,
        required=False,
        help_text=_("Lane, building and room."),
    )

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict:
        data = super().clean()
        phone, address = data.get("phone"), (data.get("address") or "").strip()
        if "phone" in data and not phone and not address:
            raise forms.ValidationError(
                _("Leave a phone number or an address, so that the team can reach you."),
                code="unreachable",
            )
        if phone and not data.get("phone_consent"):
            self.add_error(
                "phone_consent",
                _("Agree to be contacted at this number, or leave only your address."),
            )
        return data


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.purpose}" if obj.purpose else obj.name


class JoinTeamForm(StampedForm):
    """A resident asks to join one of the community's volunteer teams."""

    rejected_message = JOIN_REJECTED

    team = TeamChoiceField(
        label=_("Which team?"),
        queryset=None,
        empty_label=_("Choose one"),
        error_messages={
            "required": _("Choose the team you would like to join."),
            "invalid_choice": _("Choose one of the teams in the list."),
        },
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Please give your name.")},
    )
    phone = forms.CharField(
        label=_("Your phone number"),
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
        error_messages={"required": _("Please give a phone number the team can call.")},
    )
    phone_consent = forms.BooleanField(
        label=_("I agree that the community keeps my phone number so the team can reach me."),
        error_messages={
            "required": _(
                "The team can only call you back if you agree to your phone number being kept."
            )
        },
    )

    def __init__(self, *args, community: Community, teams, **kwargs) -> None:
        super().__init__(*args, community=community, **kwargs)
        self.fields["team"].queryset = teams

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""))
