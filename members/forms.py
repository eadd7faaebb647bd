from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.forms import SubmissionKeyField
from common.phones import mask_phone, normalise_phone
from common.versions import VersionField
from members.models import Community, Council, CouncilMember, OutsideUnit, Resident


class ResidentForm(forms.ModelForm):
    submission_key = SubmissionKeyField()

    class Meta:
        model = Resident
        fields = ["name", "phone", "lane", "building", "room", "note"]
        widgets = {
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "note": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "phone": _(
                "Optional. Used only to contact the resident about matters they raise; "
                "shown masked to staff, and deleted when the resident leaves the community "
                "or asks for it to be removed."
            ),
        }

    clear_phone = forms.BooleanField(label=_("Remove the phone number"), required=False)
    version = VersionField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
        # Editing never shows a stored number in full: it stays masked, and an
        # empty field keeps it. Seeing it is a separate, recorded action.
        self.stored_phone = self.instance.phone if self.instance.pk else ""
        if self.stored_phone:
            self.initial["phone"] = ""
            self.fields["phone"].widget.attrs["placeholder"] = mask_phone(self.stored_phone)
            self.fields["phone"].help_text = _(
                "Leave empty to keep the current number, or type a new one."
            )
        else:
            del self.fields["clear_phone"]

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""))

    def resident_fields(self) -> dict:
        """The cleaned fields for the resident actions."""
        data = {name: self.cleaned_data[name] for name in self._meta.fields}
        if self.cleaned_data.get("clear_phone"):
            data["phone"] = ""
        elif not data["phone"]:
            data["phone"] = self.stored_phone
        return data

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the resident's name."))
        return name


class DeactivateResidentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        required=False,
        help_text=_("For example: moved away."),
    )


class CouncilMemberForm(forms.ModelForm):
    version = VersionField()

    class Meta:
        model = CouncilMember
        fields = [
            "role",
            "category",
            "is_lane_leader",
            "covers_lane",
            "is_building_leader",
            "covers_building",
            "is_party_household",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "version" in self.fields:
            self.fields["version"].initial = self.instance.version

    def member_fields(self) -> dict:
        """The cleaned fields for the council member actions."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def clean(self) -> dict:
        data = super().clean()
        if data.get("is_lane_leader") and not (data.get("covers_lane") or "").strip():
            self.add_error("covers_lane", _("Enter the lane this lane leader covers."))
        if data.get("is_building_leader") and not (data.get("covers_building") or "").strip():
            self.add_error("covers_building", _("Enter the building this building leader covers."))
        return data


class CouncilMemberJoinForm(CouncilMemberForm):
    resident = forms.ModelChoiceField(
        label=_("Resident"),
        queryset=Resident.objects.none(),
        help_text=_("Only active residents of this community who are not serving already."),
    )
    joined_on = forms.DateField(
        label=_("Joined on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    version = None
    submission_key = SubmissionKeyField()

    class Meta(CouncilMemberForm.Meta):
        fields = ["resident", "joined_on", *CouncilMemberForm.Meta.fields]

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        serving = CouncilMember.objects.filter(council__community=community, left_on__isnull=True)
        self.fields["resident"].queryset = (
            Resident.objects.filter(community=community, is_active=True)
            .exclude(pk__in=serving.values("resident"))
            .order_by("name", "id")
        )
        self.fields["joined_on"].initial = timezone.localdate()


class CouncilMemberLeaveForm(forms.Form):
    left_on = forms.DateField(
        label=_("Left on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, member: CouncilMember, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["left_on"].initial = timezone.localdate()

    def clean_left_on(self):
        left_on = self.cleaned_data["left_on"]
        if left_on < self.member.joined_on:
            raise forms.ValidationError(
                _("The leaving date cannot be before the joining date (%(date)s).")
                % {"date": self.member.joined_on.isoformat()}
            )
        return left_on


REVIEW_DAYS_MIN, REVIEW_DAYS_MAX = 1, 90


def review_days_field(*, required: bool, help_text: str) -> forms.IntegerField:
    """Days from a matter's resolution to its follow-up review, with messages that say why."""
    return forms.IntegerField(
        label=_("Follow-up review after (days)"),
        required=required,
        min_value=REVIEW_DAYS_MIN,
        max_value=REVIEW_DAYS_MAX,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": _("Enter the number of days, from 1 to 90."),
            "invalid": _("Enter a whole number of days, from 1 to 90."),
            "min_value": _(
                "At least 1 day: the review asks the resident after the matter is resolved."
            ),
            "max_value": _(
                "At most 90 days: later than that, residents no longer remember the matter."
            ),
        },
    )


class CouncilSettingsForm(forms.ModelForm):
    """How the council's meetings run (the quorum, when sign-in opens, how votes are kept)
    and when a resolved matter's follow-up review is due."""

    review_after_days = review_days_field(
        required=True,
        help_text=_(
            "How many days after a matter is resolved the resident who raised it is asked "
            "whether it was fixed. A category can set its own number on the street’s "
            "categories page."
        ),
    )

    class Meta:
        model = Council
        fields = ["quorum_ratio", "sign_in_opens_hours", "named_votes", "review_after_days"]
        widgets = {
            "sign_in_opens_hours": forms.NumberInput(attrs={"inputmode": "numeric", "min": "0"}),
        }
        error_messages = {
            "sign_in_opens_hours": {
                "max_value": _("Sign-in can open at most 24 hours before the start."),
                "min_value": _("Write a number of hours from 0 to 24."),
                "invalid": _("Write a number of hours from 0 to 24."),
            },
        }


class OutsideUnitForm(forms.ModelForm):
    """A unit based in the area, with the contact person its meeting notices go to."""

    class Meta:
        model = OutsideUnit
        fields = ["name", "contact_name", "phone"]
        widgets = {
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }

    def clean_phone(self) -> str:
        phone = normalise_phone(self.cleaned_data.get("phone", ""))
        if not phone:
            raise forms.ValidationError(_("Give the contact's phone number: notices go to it."))
        return phone
