"""Meeting minutes (会议纪要): drafted from the meeting's record, approved by the council's leader.

A meeting's minutes are a series of versions. Staff draft the first from what
the meeting recorded (attendance, agenda, decisions, votes); staff or the
leader edit it; the leader approves it, and from then on that version never
changes. A correction is a new draft copied from the latest approved version,
with the reason on record, approved in its turn.

Each write locks the meeting (or the minutes row) first, so two people
drafting or editing at once are served one after the other on PostgreSQL;
SQLite serialises writers anyway (IMMEDIATE transactions), and every change to
a version is a conditional UPDATE on the state and stamp the writer saw, so a
stale form or a second approval changes nothing on either.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from deliberation import minutes_queries, permissions, queries
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Decision, Meeting, Minutes, Vote
from members import notifications
from members.models import CouncilMember, User
from members.queries import council_members_of

INDENT = "   "


# --- The draft ---------------------------------------------------------------------------


def local_day(meeting: Meeting) -> str:
    return formats.date_format(timezone.localtime(meeting.starts_at).date(), "Y-m-d")


def title_for(meeting: Meeting) -> str:
    title = _("Minutes of the %(council)s meeting of %(date)s") % {
        "council": meeting.council.name,
        "date": local_day(meeting),
    }
    return title[: Minutes._meta.get_field("title").max_length]


def live_agenda_of(meeting: Meeting) -> QuerySet[AgendaItem]:
    """The items still on the agenda (not taken off by hand), in order, with what was decided."""
    assigned = CouncilMember.objects.select_related("resident").order_by("resident__name", "id")
    return (
        meeting.agenda_items.filter(removed_at__isnull=True)
        .select_related("issue", "decision")
        .prefetch_related(Prefetch("issue__assigned_members", queryset=assigned))
        .order_by("position", "id")
    )


def vote_tallies(meeting: Meeting) -> dict[int, Counter]:
    """Votes counted per decision and choice, in one grouped query."""
    tallies: dict[int, Counter] = defaultdict(Counter)
    rows = (
        Vote.objects.filter(decision__item__meeting=meeting)
        .order_by()
        .values("decision_id", "choice")
        .annotate(n=Count("pk"))
        .values_list("decision_id", "choice", "n")
    )
    for decision_id, choice, count in rows:
        tallies[decision_id][choice] = count
    return tallies


def compose(meeting: Meeting) -> tuple[str, str]:
    """The title and text of a first draft, in the active language, from the meeting's record."""
    council = meeting.council
    separator = pgettext("list separator", ", ")
    members = list(council_members_of(council))
    attendances = list(queries.attendances_of(meeting))
    present_ids = {attendance.member_id for attendance in attendances}
    present_active = sum(1 for member in members if member.pk in present_ids)
    needed, reached = queries.quorum_needed(len(members), council.quorum_ratio, present_active)
    start = timezone.localtime(meeting.starts_at)

    lines = [_("Time: %(when)s") % {"when": start.strftime("%Y-%m-%d %H:%M")}]
    if meeting.place:
        lines.append(_("Place: %(place)s") % {"place": meeting.place})
    lines.append(_("Type: %(kind)s") % {"kind": meeting.get_kind_display()})
    if meeting.state == Meeting.State.HELD and meeting.ended_at:
        closed = timezone.localtime(meeting.ended_at).strftime("%Y-%m-%d %H:%M")
        lines.append(_("Closed at: %(when)s") % {"when": closed})
    lines += ["", _("Attendance")]
    lines.append(
        _(
            "Present: %(present)s of %(active)s active members "
            "(%(needed)s needed for a quorum: %(quorum)s)."
        )
        % {
            "present": present_active,
            "active": len(members),
            "needed": needed,
            "quorum": _("quorum reached") if reached else _("no quorum"),
        }
    )
    if attendances:
        for attendance in attendances:
            signed_in = timezone.localtime(attendance.signed_in_at).strftime("%H:%M")
            lines.append(
                "- "
                + _("%(name)s, signed in at %(time)s")
                % {"name": attendance.member.resident.name, "time": signed_in}
            )
    else:
        lines.append(_("Nobody signed in."))
    absent = [member.resident.name for member in members if member.pk not in present_ids]
    if absent:
        lines.append(_("Absent: %(names)s") % {"names": separator.join(absent)})

    lines += ["", _("Agenda and decisions")]
    items = list(live_agenda_of(meeting))
    tallies = vote_tallies(meeting)
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {_item_label(item)}")
        decision = getattr(item, "decision", None)
        if decision is None:
            lines.append(INDENT + _("No decision was recorded."))
        else:
            lines += [INDENT + line for line in _decision_lines(item, decision, tallies, separator)]
    if not items:
        lines.append(_("The agenda was empty."))
    return title_for(meeting), "\n".join(lines) + "\n"


def _item_label(item: AgendaItem) -> str:
    if item.issue_id is None:
        return item.topic
    label = _("%(title)s (tracking code %(code)s)") % {
        "title": item.issue.title,
        "code": item.issue.tracking_code,
    }
    if item.kind == AgendaItem.Kind.REVIEW:
        return _("Follow-up review: %(item)s") % {"item": label}
    return label


def _decision_lines(
    item: AgendaItem, decision: Decision, tallies: dict[int, Counter], separator: str
) -> list[str]:
    lines = [_("Decision: %(outcome)s") % {"outcome": decision.get_outcome_display()}]
    if decision.notes:
        lines.append(_("Notes: %(notes)s") % {"notes": _indented(decision.notes)})
    if decision.explanation:
        lines.append(
            _("Explanation for the reporter: %(text)s") % {"text": _indented(decision.explanation)}
        )
    issue = item.issue
    if decision.outcome == Decision.Outcome.SOLVE_BY_COUNCIL and issue is not None:
        names = [member.resident.name for member in issue.assigned_members.all()]
        if names:
            lines.append(_("Assigned to: %(names)s") % {"names": separator.join(names)})
        if issue.due_on:
            lines.append(
                _("Due on: %(date)s") % {"date": formats.date_format(issue.due_on, "Y-m-d")}
            )
    counted = tallies.get(decision.pk)
    if decision.needs_vote or counted:
        counted = counted or Counter()
        lines.append(
            _("Vote: %(for)s for, %(against)s against, %(abstain)s abstaining")
            % {
                "for": counted[Vote.Choice.FOR],
                "against": counted[Vote.Choice.AGAINST],
                "abstain": counted[Vote.Choice.ABSTAIN],
            }
        )
    return lines


def _indented(text: str) -> str:
    """Later lines of a multi-line note line up under the item."""
    return ("\n" + INDENT * 2).join(text.strip().splitlines())


# --- The optimistic stamp ----------------------------------------------------------------


def stamp_of(minutes: Minutes) -> str:
    """What a form carries to tell whether the version changed since it was opened."""
    return minutes.updated.isoformat()


def _is_current(minutes: Minutes, stamp: str) -> bool:
    try:
        seen = parse_datetime(stamp or "")
    except ValueError:
        return False
    return seen is not None and seen == minutes.updated


# --- Actions -----------------------------------------------------------------------------


def _locked_meeting(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_for_update(of=("self",)).select_related("council").get(pk=meeting.pk)
    )


def _locked_minutes(minutes: Minutes) -> Minutes:
    return (
        Minutes.objects.select_for_update(of=("self",))
        .select_related("meeting__council", "edited_by")
        .get(pk=minutes.pk)
    )


class StaleMinutes(ActionError):
    """The version changed after the form was opened; ``current`` is what it is now."""

    def __init__(self, message: str, current: Minutes) -> None:
        super().__init__(message)
        self.current = current


@transaction.atomic
def minutes_draft(*, meeting: Meeting, actor: User, now: dt.datetime | None = None) -> Minutes:
    """Draft the first version of a meeting's minutes from its record; the leader is told.

    When a draft exists already, it is returned and nothing is written.
    """
    meeting = _locked_meeting(meeting)
    if not permissions.can_draft_minutes(actor, meeting):
        raise ActionError(_("Only the community's staff can draft the minutes."))
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled, so it has no minutes."))
    if not minutes_queries.is_draftable(meeting, now=now):
        raise ActionError(_("The meeting has not started yet; draft its minutes once it has."))
    versions = list(meeting.minutes.order_by("-version"))
    draft = next((v for v in versions if v.state == Minutes.State.DRAFT), None)
    if draft is not None:
        return draft
    if versions:
        raise ActionError(
            _("The minutes of this meeting are approved; to change them, start a correction.")
        )
    title, text = compose(meeting)
    minutes = _create_version(
        meeting=meeting, actor=actor, version=1, title=title, text=text, reason=""
    )
    _tell_leaders(minutes, meeting, actor)
    return minutes


@transaction.atomic
def minutes_edit(*, minutes: Minutes, actor: User, title: str, text: str, stamp: str) -> Minutes:
    """Change a draft's title and text; refused when it is approved or changed since ``stamp``."""
    current = _locked_minutes(minutes)
    if not permissions.can_edit_minutes(actor, current.meeting):
        raise ActionError(
            _("Only the community's staff or the council's leader can edit the minutes.")
        )
    if current.is_locked:
        raise ActionError(
            _(
                "This version of the minutes is approved and can no longer be changed; "
                "to change it, start a correction."
            )
        )
    title, text = title.strip(), text.strip()
    if not title:
        raise ActionError(_("Give the minutes a title."))
    longest = Minutes._meta.get_field("title").max_length
    if len(title) > longest:
        raise ActionError(
            _("Keep the title to %(count)s characters or fewer.") % {"count": longest}
        )
    if not text:
        raise ActionError(_("The minutes cannot be empty."))
    now = timezone.now()
    changed = _is_current(current, stamp) and Minutes.objects.filter(
        pk=current.pk, state=Minutes.State.DRAFT, updated=current.updated
    ).update(title=title, text=text, edited_by=actor, updated=now)
    if not changed:
        raise StaleMinutes(
            _(
                "Someone changed these minutes after you opened them. What you typed is "
                "below, next to the current text; compare them, then save again."
            ),
            current,
        )
    current.title, current.text, current.edited_by, current.updated = title, text, actor, now
    return current


@transaction.atomic
def minutes_approve(*, minutes: Minutes, actor: User, stamp: str | None = None) -> Minutes:
    """The council's leader approves a draft; that version is locked from then on.

    With ``stamp``, a draft changed since the leader opened it is not approved:
    the leader approves the text they read.
    """
    current = _locked_minutes(minutes)
    if not permissions.can_approve_minutes(actor, current.meeting):
        raise ActionError(_("Only the council's leader can approve the minutes."))
    if current.is_locked:
        raise ActionError(_("This version of the minutes is already approved."))
    now = timezone.now()
    changed = (stamp is None or _is_current(current, stamp)) and Minutes.objects.filter(
        pk=current.pk, state=Minutes.State.DRAFT, updated=current.updated
    ).update(state=Minutes.State.APPROVED, approved_by=actor, approved_at=now, updated=now)
    if not changed:
        raise StaleMinutes(
            _("The minutes were changed after you opened them; read them again before approving."),
            current,
        )
    current.state, current.approved_by, current.approved_at, current.updated = (
        Minutes.State.APPROVED,
        actor,
        now,
        now,
    )
    return current


@transaction.atomic
def minutes_correct(*, minutes: Minutes, actor: User, reason: str) -> Minutes:
    """Start a correction: a new draft version copied from the latest approved one.

    ``minutes`` is any version of the meeting's minutes; the earlier versions
    stay as they are. The leader is told the new draft waits for approval.
    """
    meeting = _locked_meeting(minutes.meeting)
    if not permissions.can_edit_minutes(actor, meeting):
        raise ActionError(
            _("Only the community's staff or the council's leader can correct the minutes.")
        )
    reason = reason.strip()
    if not reason:
        raise ActionError(_("Say why the minutes need a correction."))
    versions = list(meeting.minutes.order_by("-version"))
    if any(version.state == Minutes.State.DRAFT for version in versions):
        raise ActionError(
            _("A new version of these minutes is being drafted already; edit that one.")
        )
    approved = next((v for v in versions if v.state == Minutes.State.APPROVED), None)
    if approved is None:
        raise ActionError(_("Only approved minutes can be corrected."))
    corrected = _create_version(
        meeting=meeting,
        actor=actor,
        version=versions[0].version + 1,
        title=approved.title,
        text=approved.text,
        reason=reason,
    )
    _tell_leaders(corrected, meeting, actor)
    return corrected


def _create_version(
    *, meeting: Meeting, actor: User, version: int, title: str, text: str, reason: str
) -> Minutes:
    try:
        with transaction.atomic():  # the constraints hold where the lock does not
            return Minutes.objects.create(
                meeting=meeting,
                version=version,
                title=title,
                text=text,
                correction_reason=reason,
                created_by=actor,
                edited_by=actor,
            )
    except IntegrityError as error:
        raise ActionError(
            _("Someone else started these minutes at the same moment; open them again.")
        ) from error


def _tell_leaders(minutes: Minutes, meeting: Meeting, actor: User) -> None:
    context = {
        "council": meeting.council.name,
        "date": local_day(meeting),
        "title": minutes.title,
        "version": minutes.version,
        "meeting_id": meeting.pk,
        "minutes_id": minutes.pk,
    }
    leaders = queries.council_member_accounts(meeting.council_id, role=CouncilMember.Role.LEADER)
    for user in leaders:
        if user.pk == actor.pk:
            continue  # a leader who starts a correction knows it is waiting
        notifications.notify(
            user, "minutes_ready", context, key=f"minutes_ready:{minutes.pk}:{user.pk}"
        )
