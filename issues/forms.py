from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.forms import (
    QuickCheckbox,
    QuickSelect,
    QuickTextInput,
    SubmissionKeyField,
    day_field,
)
from common.phones import normalise_phone
from common.versions import VersionField
from issues import lifecycle, photos, replies, search
from issues.models import Category, Issue
from members.forms import review_days_field
from members.models import Community, CouncilMember, Department, Resident, Role, Street, User

TITLE_HELP = _("A short line, e.g. “Lift in building 3 stopped”.")


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to six photos; each is decoded and re-encoded by the action, not trusted here."""

    widget = MultipleImageInput

    def __init__(self, *args, max_files: int = photos.MAX_PHOTOS, **kwargs) -> None:
        kwargs.setdefault("required", False)
        self.max_files = max_files
        super().__init__(*args, **kwargs)
        self.widget.attrs.update(
            {
                "accept": "image/*",
                "data-downscale": str(photos.MAX_SIDE),
                "data-max": str(max_files),
                "multiple": True,
            }
        )

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > self.max_files:
            raise ValidationError(
                _("At most %(n)s photos, please.") % {"n": self.max_files}, code="too_many"
            )
        return [super(PhotosField, self).clean(item, initial) for item in files]


class VersionedForm(forms.Form):
    """Carries the issue version the form was drawn from, to refuse stale submissions."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class ReportForm(forms.ModelForm):
    """What a council member types on a phone; staff intake extends it."""

    photos = PhotosField(
        label=_("Photos"), help_text=_("Up to 6. Taken with the camera or chosen.")
    )
    latitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )
    submission_key = SubmissionKeyField()

    class Meta:
        model = Issue
        fields = ["title", "category", "description", "place", "is_urgent"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
            "title": forms.TextInput(attrs={"maxlength": 100, "autocomplete": "off"}),
            "place": forms.TextInput(attrs={"maxlength": 200}),
        }
        help_texts = {"title": TITLE_HELP}

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.community = community
        self.fields["category"].queryset = Category.objects.filter(
            street_id=community.street_id, is_active=True
        ).order_by("position", "id")
        self.fields["category"].label_from_instance = lambda c: c.label

    def clean(self) -> dict:
        data = super().clean()
        lat, lng = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lng is None):
            data["latitude"] = data["longitude"] = None
        if lat is not None and not (-90 <= lat <= 90 and -180 <= (lng or 0) <= 180):
            data["latitude"] = data["longitude"] = None
        return data

    def report_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "category": data["category"],
            "description": data.get("description", ""),
            "place": data.get("place", ""),
            "is_urgent": data.get("is_urgent", False),
            "latitude": data.get("latitude"),
            "longitude": data.get("longitude"),
            "uploads": data.get("photos") or [],
        }


class IntakeForm(ReportForm):
    """Community staff typing in a matter from any channel, with who raised it."""

    REPORTER_CHOICES = [
        ("existing", _("A resident on the register")),
        ("new", _("A resident not yet on the register")),
        ("anonymous", _("Anonymous")),
    ]

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[
            c
            for c in Issue.Channel.choices
            if c[0] not in (Issue.Channel.PUBLIC_FORM, Issue.Channel.VISIT)
        ],
    )
    reporter_mode = forms.ChoiceField(
        label=_("Raised by"), choices=REPORTER_CHOICES, widget=forms.RadioSelect, initial="existing"
    )
    # Never drawn as a list of every resident: the page shows the search results (and the
    # one chosen) as radio buttons; the field only checks the choice is of this community.
    # Never drawn as a list of every resident: the page shows the search results (and the
    # one chosen) as radio buttons; ``clean`` checks the choice is of this community, and
    # only when "a resident on the register" is the answer.
    reporter = forms.CharField(label=_("Resident"), required=False, max_length=12)
    reporter_q = forms.CharField(
        label=_("Find the resident"),
        required=False,
        max_length=50,
        help_text=_("Part of the name, the building, or the last digits of the phone."),
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "data-draft-skip": True}
        ),
    )
    new_name = forms.CharField(label=_("New resident's name"), max_length=50, required=False)
    new_building = forms.CharField(
        label=_("New resident's building"), max_length=50, required=False
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=20,
        required=False,
        # data-draft-skip: a phone number is not left in a shared office browser's storage.
        widget=forms.TextInput(attrs={"inputmode": "tel", "data-draft-skip": True}),
        help_text=_(
            "Optional. Only to tell the person how their matter went; "
            "deleted six months after the matter is closed."
        ),
    )

    field_order = [
        "channel",
        "reporter_mode",
        "reporter_q",
        "reporter",
        "new_name",
        "new_building",
        "contact_phone",
        "title",
        "category",
        "description",
        "place",
        "is_urgent",
        "photos",
    ]

    # Which fields each answer to "Raised by" needs; the page shows only those.
    REPORTER_FIELDS = {
        "existing": ("reporter_q", "reporter"),
        "new": ("new_name", "new_building", "contact_phone"),
        "anonymous": ("contact_phone",),
    }

    def __init__(
        self, *args, community: Community, last_channel: str | None = None, **kwargs
    ) -> None:
        super().__init__(*args, community=community, **kwargs)
        self.residents = Resident.objects.filter(community=community, is_active=True)
        if last_channel in dict(self.fields["channel"].choices):
            self.fields["channel"].initial = last_channel

    def reporter_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields of "Raised by", grouped by the answers that show them (a field two
        answers share, the contact phone, goes with the group of the answers it serves)."""
        groups: dict[tuple[str, ...], list[forms.BoundField]] = {}
        for name in self.reporter_field_names:
            modes = tuple(m for m, names in self.REPORTER_FIELDS.items() if name in names)
            groups.setdefault(modes, []).append(self[name])
        return [(" ".join(modes), fields) for modes, fields in groups.items()]

    def reporter_mode_value(self) -> str:
        value = self["reporter_mode"].value()
        return value if value in self.REPORTER_FIELDS else "existing"

    @property
    def reporter_field_names(self) -> tuple[str, ...]:
        return ("reporter_q", "reporter", "new_name", "new_building", "contact_phone")

    def chosen_reporter(self, value: object = None) -> Resident | None:
        """The resident already picked (``value``, else the form's), kept when the page is
        drawn again if of this community; one query, only when something was picked."""
        value = self["reporter"].value() if value is None else value
        if not value or not str(value).isdigit():
            return None
        return self.residents.filter(pk=value).first()

    def clean_contact_phone(self) -> str:
        if self.data.get("reporter_mode") == "existing":
            return ""  # not shown for a resident on the register: never judged
        return normalise_phone(self.cleaned_data.get("contact_phone", ""))

    def clean(self) -> dict:
        data = super().clean()
        mode = data.get("reporter_mode")
        if mode == "existing":
            chosen = data.get("reporter") or ""
            data["reporter"] = resident = self.chosen_reporter(chosen) if chosen else None
            if not chosen:
                self.add_error("reporter", _("Choose the resident, or pick another option above."))
            elif resident is None:
                self.add_error(
                    "reporter", _("Choose a resident of this community from the search results.")
                )
        else:
            data["reporter"] = None
        if mode == "new" and not (data.get("new_name") or "").strip():
            self.add_error("new_name", _("Enter the new resident's name."))
        return data

    def intake_fields(self) -> dict:
        data = self.cleaned_data
        mode = data["reporter_mode"]
        return {
            **self.report_fields(),
            "channel": data["channel"],
            "reporter": data.get("reporter") if mode == "existing" else None,
            "new_resident": (
                {
                    "name": data["new_name"].strip(),
                    "building": data.get("new_building", ""),
                    "phone": data.get("contact_phone", ""),
                }
                if mode == "new"
                else None
            ),
            "contact_phone": data.get("contact_phone", "") if mode == "anonymous" else "",
        }


class EditForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Issue
        fields = ["title", "category", "description", "place", "is_urgent"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4, "maxlength": 2000})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(
            street_id=self.instance.community.street_id, is_active=True
        ).order_by("position", "id")
        self.fields["category"].label_from_instance = lambda c: c.label
        self.fields["version"].initial = self.instance.version


class TransitionForm(VersionedForm):
    name = forms.ChoiceField(choices=[(t.name, t.label) for t in lifecycle.TRANSITIONS.values()])
    note = forms.CharField(
        label=_("Reason or note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(VersionedForm):
    members = forms.ModelMultipleChoiceField(
        label=_("Council members"),
        queryset=CouncilMember.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    staff = forms.ModelChoiceField(
        label=_("Staff member"), queryset=User.objects.none(), required=False
    )
    due_on = day_field(_("Due on"))

    def __init__(self, *args, issue: Issue, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = (
            CouncilMember.objects.filter(council__community=issue.community, left_on__isnull=True)
            .select_related("resident")
            .order_by("resident__name", "id")
        )
        self.fields["members"].label_from_instance = lambda m: m.resident.name
        self.fields["staff"].queryset = (
            User.objects.filter(
                roles__kind=Role.Kind.COMMUNITY_STAFF, roles__community=issue.community
            )
            .distinct()
            .order_by("username")
        )

    def clean_due_on(self) -> dt.date | None:
        due_on = self.cleaned_data.get("due_on")
        if due_on and due_on < timezone.localdate():
            raise ValidationError(_("The due date cannot be in the past."))
        return due_on


class EscalateForm(VersionedForm):
    reason = forms.CharField(
        label=_("Why it needs the next level"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CommentForm(forms.Form):
    """Text on the matter's timeline: an internal note, or (for those who may) a reply that
    the resident reads on the tracking page and receives by text message."""

    NOTE, REPLY = "note", "reply"
    kind = forms.ChoiceField(
        label=_("Who reads it"),
        choices=[
            (NOTE, _("Internal note: only the people handling the matter")),
            (REPLY, _("Reply to the resident: tracking page and text message")),
        ],
        initial=NOTE,
        required=False,  # a note unless the reply is chosen
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, may_reply: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_reply:
            del self.fields["kind"]
            self.fields["text"].label = _("Internal note")

    @property
    def is_reply(self) -> bool:
        return "kind" in self.fields and self.cleaned_data.get("kind") == self.REPLY


class ReplyTemplateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=60)
    body = forms.CharField(
        label=_("Text"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=replies.PLACEHOLDER_HELP,
    )

    def clean_body(self) -> str:
        return replies.clean_body(self.cleaned_data["body"])


class PhotoForm(forms.Form):
    photos = PhotosField(label=_("Add photos"), required=True)


class AcceptEscalationForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    deadline = forms.DateField(
        label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, street_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(street_id=street_id)
        self.fields["deadline"].initial = timezone.localdate() + dt.timedelta(days=7)

    def clean_deadline(self) -> dt.date:
        deadline = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise ValidationError(_("The deadline cannot be in the past."))
        return deadline


class ReturnEscalationForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it goes back to the community"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReworkEscalationForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still not done"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The department sees this, and so does the issue's timeline."),
        error_messages={"required": _("Please say what is still not done.")},
    )
    deadline = day_field(_("New deadline"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].help_text = _("Optional. Leave empty to keep the deadline.")

    def clean_deadline(self) -> dt.date | None:
        deadline = self.cleaned_data.get("deadline")
        if deadline is not None and deadline < timezone.localdate():
            raise ValidationError(_("The deadline cannot be in the past."))
        return deadline


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    photos = PhotosField(label=_("Completion photos"))


class CategoryForm(forms.ModelForm):
    review_after_days = review_days_field(
        required=False,
        help_text=_(
            "Days from a matter's resolution to its follow-up review for this category. "
            "Leave empty to use each council's own setting."
        ),
    )
    version = VersionField()

    class Meta:
        model = Category
        fields = [
            "name",
            "name_en",
            "must_deliberate",
            "position",
            "is_active",
            "review_after_days",
            "first_reply_days",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]


# Which follow-up reviews an issue has (the dashboards' figures link to these).
REVIEW_FILTERS = [
    ("any", _("Has a follow-up review")),
    ("reviewed", _("Reviewed")),
    ("rated", _("Rated by the resident")),
    ("satisfied", _("Resident satisfied (4–5)")),
    ("rated_by_staff", _("Rating recorded by staff")),
    ("reopened", _("Reopened by its review")),
]


class ListedChoices(forms.models.ModelChoiceIterator):
    """A short choice list read with one plain query, once per form.

    Django's own iterates with ``QuerySet.iterator()``, which on PostgreSQL opens a
    server-side cursor (DECLARE, FETCH, CLOSE: three round trips) and reads again each time
    the choices are drawn; a list of a few dozen rows needs neither.
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for choice in self.queryset:  # evaluated once, then from the queryset's cache
            yield self.choice(choice)

    def __len__(self) -> int:
        return len(self.queryset) + (self.field.empty_label is not None)


class InboxFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=50, widget=QuickTextInput)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Issue.Status.choices],
        widget=QuickSelect,
    )
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.none(),
        empty_label=_("Any category"), widget=QuickSelect,
    )  # fmt: skip
    tier = forms.ChoiceField(
        label=_("Handled by"),
        required=False,
        choices=[("", _("Any level")), *Issue.Tier.choices],
        widget=QuickSelect,
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *Issue.Channel.choices],
        widget=QuickSelect,
    )
    community = forms.ModelChoiceField(
        label=_("Community"), required=False, queryset=Community.objects.none(),
        empty_label=_("All my communities"), widget=QuickSelect,
    )  # fmt: skip
    street = forms.TypedChoiceField(
        label=_("Street"), required=False, coerce=int, choices=[], widget=QuickSelect
    )
    state = forms.ChoiceField(
        label=_("Open or done"),
        required=False,
        choices=[("", _("Open or done")), ("open", _("Still open"))],
        widget=QuickSelect,
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False, widget=QuickCheckbox)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False, widget=QuickCheckbox)
    since = day_field(_("Reported from"))
    until = day_field(_("Reported until"))
    resolved_since = day_field(_("Resolved from"))
    resolved_until = day_field(_("Resolved until"))
    review = forms.ChoiceField(
        label=_("Follow-up review"),
        required=False,
        choices=[("", _("Any")), *REVIEW_FILTERS],
        widget=QuickSelect,
    )

    def clean_q(self) -> str:
        q = " ".join(self.cleaned_data.get("q", "").split())
        if q and not search.searchable(q):
            # One character, or only signs: every issue would have to be read to find it.
            raise forms.ValidationError(
                _("Type a word of at least two letters or digits to search."), code="too_short"
            )
        return q

    def __init__(self, *args, communities, admin_street_ids=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Before the querysets: setting one hands the widget its choices' iterator.
        self.fields["community"].iterator = ListedChoices
        self.fields["category"].iterator = ListedChoices
        self.fields["community"].queryset = communities
        # The communities' list, read once, also says which streets they are in.
        listed = list(self.fields["community"].queryset)
        street_ids = set(admin_street_ids) | {community.street_id for community in listed}
        if len(street_ids) > 1:
            streets = Street.objects.filter(pk__in=street_ids).order_by("name")
            choices = [(street.pk, street.name) for street in streets]
        else:  # one street: nothing to choose, and no query to show it
            choices = [(pk, "") for pk in street_ids]
            self.fields["street"].widget = forms.HiddenInput()
        self.fields["street"].choices = [("", _("All my streets")), *choices]
        self.fields["category"].queryset = Category.objects.filter(
            street_id__in=street_ids
        ).order_by("street_id", "position", "id")
        self.fields["category"].label_from_instance = lambda c: c.label

    def clean(self) -> dict:
        data = super().clean()
        for first, last in (("since", "until"), ("resolved_since", "resolved_until")):
            since, until = data.get(first), data.get(last)
            if since and until and until < since:
                self.add_error(last, _("The end date is before the start date."))
        return data


class TaskWorkForm(forms.Form):
    """What a council member says of their task: progress, or that it is done, with photos."""

    note = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: “Cleared the stairwell of building 3 with two neighbours.”"),
    )
    photos = PhotosField(label=_("Photos of the work"))


class TaskReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the work goes back"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Say why the work goes back, so the members know what to do.")
        },
    )
