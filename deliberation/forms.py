"""Input for running a meeting: clear messages, no writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from deliberation.models import AgendaItem, Decision, MeetingGuest, Vote
from deliberation.queries import outcomes_for
from issues.models import Issue
from members.models import Council, CouncilMember


def _count_field(label) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=999,
        error_messages={
            "min_value": _("A number of votes cannot be negative."),
            "max_value": _("That is more votes than there are members."),
            "invalid": _("Write the number of votes as digits."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": "0", "class": "count"}),
    )


class DecisionForm(forms.Form):
    """The decision on one agenda item, with an optional vote of the members present.

    A vote is counted (赞成 / 反对 / 弃权, or "all in favour" in one tap) or, where the
    council votes by name, one choice per member present. Choices come from the lists
    the view already holds, so a form runs no query of its own.
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
        kind: str = AgendaItem.Kind.ISSUE,
        named: bool = False,
        voting_guests: Sequence[MeetingGuest] = (),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.is_review = kind == AgendaItem.Kind.REVIEW
        self.named = named
        # Guests given a vote who signed in vote with the members; other guests do not.
        self.present_count = len(present) + len(voting_guests)
        self.guest_vote_names: list[str] = []
        self.all_for = bool(self.is_bound and self.data.get(self.add_prefix("all_for")))
        self.fields["outcome"].choices = [("", "---------"), *outcomes_for(kind)]
        if self.is_review:
            self.fields["outcome"].label = _("Did the fix work?")
            self.fields["notes"].help_text = _(
                "What the council found; the reporter sees it when the matter is reopened."
            )
        self.members_by_id = {str(m.pk): m for m in members}
        self.fields["members"].choices = [(str(m.pk), m.resident.name) for m in members]
        self.vote_names = []
        self.count_names = []
        if self.is_review:
            return  # a follow-up review is not put to a vote
        if not named:
            for name, label in (
                ("votes_for", _("For")),
                ("votes_against", _("Against")),
                ("votes_abstain", _("Abstain")),
            ):
                self.fields[name] = _count_field(label)
                self.count_names.append(name)
            return
        for member in present:
            name = f"vote_{member.pk}"
            self.fields[name] = forms.ChoiceField(
                label=member.resident.name,
                required=False,
                choices=[("", _("no vote")), *Vote.Choice.choices],
            )
            self.vote_names.append(name)
        for guest in voting_guests:
            name = f"guest_vote_{guest.pk}"
            self.fields[name] = forms.ChoiceField(
                label=_("%(name)s (guest)") % {"name": guest.name},
                required=False,
                choices=[("", _("no vote")), *Vote.Choice.choices],
            )
            self.guest_vote_names.append(name)

    @property
    def vote_fields(self):
        return [
            self[name] for name in (self.vote_names + self.guest_vote_names) or self.count_names
        ]

    @property
    def plain_fields(self):
        if self.is_review:
            return [self["outcome"], self["notes"]]
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
        counts = self.tally()
        if counts is not None and not self.all_for and sum(counts) > self.present_count:
            self.add_error(
                None,
                ngettext(
                    "%(total)s votes were counted, but only %(present)s member is present.",
                    "%(total)s votes were counted, but only %(present)s members are present.",
                    self.present_count,
                )
                % {"total": sum(counts), "present": self.present_count},
            )
        return data

    def tally(self) -> tuple[int, int, int] | None:
        """The numbers for, against and abstaining; None when the item is not put to a vote.

        "All in favour" counts every member present for.
        """
        if not self.count_names:
            return None
        if self.all_for:
            return (self.present_count, 0, 0)
        data = getattr(self, "cleaned_data", {})
        counts = [data.get(name) for name in self.count_names]
        if all(count is None for count in counts):
            return None
        return tuple(count or 0 for count in counts)  # type: ignore[return-value]

    def votes(self) -> dict[int, str]:
        if self.all_for:
            return {int(name.removeprefix("vote_")): Vote.Choice.FOR for name in self.vote_names}
        return {
            int(name.removeprefix("vote_")): self.cleaned_data[name]
            for name in self.vote_names
            if self.cleaned_data.get(name)
        }

    def guest_votes(self) -> dict[int, str]:
        """Each guest's vote by guest id: those of the guests with a vote, and any other
        guest's vote sent all the same, for the meeting's rules to refuse."""
        given: dict[int, str] = {}
        prefix = self.add_prefix("guest_vote_")
        for key, value in (self.data or {}).items():
            if key.startswith(prefix) and key.removeprefix(prefix).isdigit() and value:
                given[int(key.removeprefix(prefix))] = str(value)
        if self.all_for:
            for name in self.guest_vote_names:
                given[int(name.removeprefix("guest_vote_"))] = Vote.Choice.FOR
        return given

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


class AgendaIssueForm(forms.Form):
    """Which open issue to add to a meeting's agenda, from the list the view holds."""

    issue = forms.TypedChoiceField(
        label=_("Issue"),
        coerce=int,
        error_messages={
            "required": _("Choose the issue to add."),
            "invalid_choice": _("That issue cannot be added here; choose one from the list."),
        },
    )

    def __init__(
        self, *args, candidates: list[Issue], with_community: bool = False, **kwargs
    ) -> None:
        kwargs.setdefault("prefix", "add-issue")
        super().__init__(*args, **kwargs)
        self.with_community = with_community
        self.issues_by_id = {issue.pk: issue for issue in candidates}
        awaiting = [self._choice(i) for i in candidates if i.status == Issue.Status.AWAITING]
        other = [self._choice(i) for i in candidates if i.status != Issue.Status.AWAITING]
        groups = []
        if awaiting:
            groups.append((_("Awaiting deliberation"), awaiting))
        if other:
            groups.append((_("Other open issues"), other))
        self.fields["issue"].choices = [("", _("Choose an issue")), *groups]

    def _choice(self, issue: Issue) -> tuple[int, str]:
        label = issue.title
        if self.with_community:
            label = _("%(title)s · %(community)s") % {
                "title": label,
                "community": getattr(issue, "community_name", ""),
            }
        if issue.is_urgent:
            label = _("%(title)s (urgent)") % {"title": label}
        waiting_at = getattr(issue, "waiting_at", None)
        if waiting_at is not None:
            day = formats.date_format(timezone.localtime(waiting_at).date(), "Y-m-d")
            label = _("%(title)s (moves here from the meeting of %(date)s)") % {
                "title": label,
                "date": day,
            }
        return issue.pk, label

    def chosen_issue(self) -> Issue:
        return self.issues_by_id[self.cleaned_data["issue"]]


class AgendaTopicForm(forms.Form):
    """A free topic for the agenda: anything the council should talk about that is no issue."""

    topic = forms.CharField(
        label=_("Topic"),
        max_length=AgendaItem._meta.get_field("topic").max_length,
        error_messages={"required": _("Write the topic to put on the agenda.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "add-topic")
        super().__init__(*args, **kwargs)


class MeetingMoveForm(forms.Form):
    """Where staff move a meeting to: a day and an hour still to come, and why."""

    date = forms.DateField(
        label=_("New date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Choose the new date."),
            "invalid": _("Enter the date as year-month-day, such as 2026-10-08."),
        },
    )
    time = forms.TimeField(
        label=_("New start time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Choose the new start time."),
            "invalid": _("Enter the time as hours:minutes, such as 15:00."),
        },
    )
    reason = forms.CharField(
        label=_("Reason for moving"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the meeting's page; members already told of the meeting are told."),
        error_messages={"required": _("Give the reason for moving the meeting.")},
    )

    def __init__(self, *args, meeting=None, **kwargs) -> None:
        kwargs.setdefault("prefix", "move")
        if meeting is not None:
            local = timezone.localtime(meeting.starts_at)
            kwargs.setdefault("initial", {"date": local.date(), "time": local.time()})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date") and data.get("time"):
            moment = dt.datetime.combine(
                data["date"], data["time"], tzinfo=timezone.get_default_timezone()
            )
            if moment <= timezone.now():
                self.add_error("date", _("Choose a day and time that are still to come."))
            data["to"] = moment
        return data


class MeetingCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the meeting. The members are told that it will not take place."),
        error_messages={"required": _("Give the reason for cancelling the meeting.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "cancel")
        super().__init__(*args, **kwargs)


class CouncilChoiceField(forms.MultipleChoiceField):
    """Councils chosen by id: the list offers those the user may join; any other id is looked
    up too, so the action can say why it cannot join (another street, another community)."""

    widget = forms.CheckboxSelectMultiple

    def validate(self, value) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def clean(self, value) -> list[Council]:
        ids = super().clean(value)
        if not all(str(pk).isdigit() for pk in ids):
            raise forms.ValidationError(_("Choose councils from the list."), code="invalid_choice")
        found = {
            council.pk: council
            for council in Council.objects.filter(pk__in=[int(pk) for pk in ids]).select_related(
                "community"
            )
        }
        if len(found) != len(set(ids)):
            raise forms.ValidationError(_("Choose councils from the list."), code="invalid_choice")
        return [found[int(pk)] for pk in dict.fromkeys(ids)]


def _council_choices(councils: Sequence[Council]) -> list[tuple[int, str]]:
    return [
        (
            council.pk,
            _("%(council)s (%(community)s)")
            % {
                "council": council.name,
                "community": council.community.name,
            },
        )
        for council in councils
    ]


class JointCouncilsForm(forms.Form):
    """Which councils meet with the host council (联席会议)."""

    councils = CouncilChoiceField(
        label=_("Councils meeting together with this council"), required=False
    )

    def __init__(self, *args, offered: Sequence[Council], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["councils"].choices = _council_choices(offered)


class JointMeetingForm(forms.Form):
    """A street's admin convenes a joint meeting: host council, joined councils, time, place."""

    host = forms.TypedChoiceField(
        label=_("Host council"),
        coerce=int,
        error_messages={
            "required": _("Choose the host council."),
            "invalid_choice": _("Choose the host council from the list."),
        },
    )
    councils = CouncilChoiceField(
        label=_("Councils meeting with it"),
        error_messages={
            "required": _("Choose at least one council to meet with the host council.")
        },
    )
    starts_at = forms.DateTimeField(
        label=_("Starts at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": _("Give the day and time of the meeting.")},
    )
    place = forms.CharField(label=_("Place"), max_length=200, required=False)

    def __init__(self, *args, offered: Sequence[Council], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.councils_by_id = {council.pk: council for council in offered}
        choices = _council_choices(offered)
        self.fields["host"].choices = [("", _("Choose the host council")), *choices]
        self.fields["councils"].choices = choices

    def chosen_host(self) -> Council:
        return self.councils_by_id[self.cleaned_data["host"]]
