"""Input of the visits app's pages and its messages."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.forms import SubmissionKeyField
from issues.models import Rating
from issues.queries import categories_for
from members.models import Community, Department, Resident, Street, User
from visits import queries
from visits.models import Team, TeamMember, Visit


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=80)
    leader = PersonChoiceField(
        label=_("Team leader"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Choose the leader"),
    )
    members = PeopleChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Paired with these communities"),
        queryset=Community.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each community has one team at a time."),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, street: Street, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        people = queries.team_candidates(user, street)
        self.fields["leader"].queryset = people
        self.fields["members"].queryset = people
        self.fields["communities"].queryset = Community.objects.filter(street=street)

    def clean_leader(self) -> User:
        leader = self.cleaned_data.get("leader")
        if leader is None:
            raise forms.ValidationError(_("A team needs a leader."), code="no_leader")
        return leader


class VisitForm(forms.Form):
    resident = forms.IntegerField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label=_("Kind of visit"),
        choices=Visit.Kind.choices,
        initial=Visit.Kind.CONCENTRATED,
        widget=forms.RadioSelect,
    )
    visited_on = forms.DateField(
        label=_("Visited on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    visitors = PeopleChoiceField(
        label=_("Who went"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("You are counted as having gone."),
    )
    notes = forms.CharField(
        label=_("What was said"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Seen only by the team and the street office, never on a public page."),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("visited_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["visitors"].queryset = User.objects.filter(
            visit_team_terms__team=team, visit_team_terms__left_on__isnull=True
        ).order_by("display_name", "username")

    def clean_visited_on(self):
        day = self.cleaned_data["visited_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A visit cannot be dated in the future."), code="future")
        return day

    def clean_resident(self) -> Resident:
        pk = self.cleaned_data["resident"]
        resident = (
            queries.households_of(self.team).filter(pk=pk).select_related("community").first()
        )
        if resident is None:
            raise forms.ValidationError(
                _("This household is not in the team's compounds."), code="outside"
            )
        return resident


class ConcernForm(forms.Form):
    """One concern the household raised; left empty, it is skipped."""

    title = forms.CharField(label=_("Concern"), max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=None, empty_label=_("Choose a category")
    )
    description = forms.CharField(
        label=_("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, community: Community, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories_for(community)


ConcernFormSet = forms.formset_factory(ConcernForm, extra=3, max_num=6, validate_max=True)


class ReturnVisitForm(forms.Form):
    """A return visit: when, who went, what was said, and the resident's answer on the
    rating scale of follow-up reviews (needed while the review waits for a rating)."""

    visited_on = forms.DateField(
        label=_("Visited on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    fixed = forms.ChoiceField(
        label=_("Does the resident say it was fixed?"),
        choices=Rating.Fixed.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied is the resident?"),
        choices=Rating.Satisfaction.choices,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    visitors = PeopleChoiceField(
        label=_("Who went"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("You are counted as having gone."),
    )
    notes = forms.CharField(
        label=_("What was said"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen only by the team and the street office, never on a public page."),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, rate: bool, **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("visited_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["visitors"].queryset = User.objects.filter(
            visit_team_terms__team=team, visit_team_terms__left_on__isnull=True
        ).order_by("display_name", "username")
        if not rate:  # the resident already rated: the visit alone is recorded
            del self.fields["fixed"]
            del self.fields["satisfaction"]
        else:
            self.fields["fixed"].required = True
            self.fields["satisfaction"].required = True

    def clean_visited_on(self):
        day = self.cleaned_data["visited_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A visit cannot be dated in the future."), code="future")
        return day


class ScheduleForm(forms.Form):
    when = forms.DateTimeField(
        label=_("Date and time of the visit"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    submission_key = SubmissionKeyField()


class AskedVisitForm(forms.Form):
    """The visit made on a resident's request: which household, when, what was said."""

    resident = forms.IntegerField(label=_("Household"), widget=forms.RadioSelect)
    visited_on = forms.DateField(
        label=_("Visited on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    notes = forms.CharField(
        label=_("What was said"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen only by the team and the street office, never on a public page."),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, households, **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("visited_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["resident"].widget.choices = [
            (r.pk, f"{r.name} · {r.community.name} {r.address}") for r in households
        ]

    def clean_visited_on(self):
        day = self.cleaned_data["visited_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A visit cannot be dated in the future."), code="future")
        return day

    def clean_resident(self) -> Resident:
        pk = self.cleaned_data["resident"]
        resident = queries.households_of(self.team).filter(pk=pk).first()
        if resident is None:
            raise forms.ValidationError(
                _("This household is not in the team's compounds."), code="outside"
            )
        return resident


class MemberAddForm(forms.Form):
    user = PersonChoiceField(
        label=_("Member"), queryset=User.objects.none(), empty_label=_("Choose someone")
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=TeamMember.Kind.choices,
        initial=TeamMember.Kind.STREET_STAFF,
        widget=forms.RadioSelect,
    )
    department = forms.ModelChoiceField(
        label=_("Sent down from"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("Not sent down"),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = queries.team_candidates(user, team.street)
        self.fields["department"].queryset = Department.objects.filter(street=team.street).order_by(
            "name"
        )


class PairingAddForm(forms.Form):
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), empty_label=_("Choose one")
    )
    lane = forms.CharField(
        label=_("Lane"),
        max_length=50,
        required=False,
        help_text=_("Leave lane and building empty to pair the whole community."),
    )
    building = forms.CharField(label=_("Building"), max_length=50, required=False)
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = Community.objects.filter(street=team.street).order_by(
            "name"
        )


class BuildingForm(forms.Form):
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), empty_label=_("Choose one")
    )
    lane = forms.CharField(label=_("Lane"), max_length=50, required=False)
    building = forms.CharField(label=_("Building"), max_length=50)
    flats = forms.IntegerField(
        label=_("Flats in the building"),
        min_value=1,
        max_value=10_000,
        help_text=_(
            "Where the residents register holds fewer households than this, the round "
            "gives the team the building to walk as well."
        ),
    )
    submission_key = SubmissionKeyField()

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = (
            Community.objects.filter(
                visit_pairings__team=team, visit_pairings__ended_on__isnull=True
            )
            .distinct()
            .order_by("name")
        )
