"""The text of meeting minutes: the first draft composed from the meeting's record.

The draft names when and where the meeting was held, who signed in and who was
absent against the quorum, then each item still on the agenda with what was
decided, by whom it is to be done and how the votes went, in the active
language. A form editing a version carries the version's stamp, so a change
made meanwhile is noticed.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from deliberation import queries
from deliberation.models import AgendaItem, Decision, Meeting, MeetingGuest, Minutes
from members.models import CouncilMember

INDENT = "   "


# --- The draft ---------------------------------------------------------------------------


def local_day(meeting: Meeting) -> str:
    return formats.date_format(timezone.localtime(meeting.starts_at).date(), "Y-m-d")


def title_for(meeting: Meeting) -> str:
    title = _("Minutes of the %(council)s meeting of %(date)s") % {
        "council": "、".join(council.name for council in queries.councils_at(meeting)),
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


def guest_lines(guests: list[MeetingGuest]) -> list[str]:
    """The outside parties invited, each marked as attending without a vote or with one."""
    if not guests:
        return []
    lines = [_("Guests (outside parties):")]
    for guest in guests:
        standing = _("with a vote") if guest.may_vote else _("attending without a vote")
        name = guest.name
        if guest.unit_id is not None:
            name = _("%(unit)s (contact: %(contact)s)") % {
                "unit": guest.unit.name,
                "contact": guest.unit.contact_name,
            }
        if guest.signed_in_at is not None:
            signed_in = timezone.localtime(guest.signed_in_at).strftime("%H:%M")
            line = _("%(name)s, signed in at %(time)s") % {"name": name, "time": signed_in}
        else:
            line = _("%(name)s, invited, did not sign in") % {"name": name}
        lines.append(f"- {line} · {standing}")
    return lines


def compose(meeting: Meeting, *, chair: str = "", recorder: str = "") -> tuple[str, str]:
    """The title and text of a first draft, in the active language, from the meeting's record."""
    council = meeting.council
    separator = pgettext("list separator", ", ")
    members = queries.active_members_of(meeting)
    attendances = list(queries.attendances_of(meeting))
    present_ids = {attendance.member_id for attendance in attendances}
    present_active = sum(1 for member in members if member.pk in present_ids)
    needed, reached = queries.quorum_needed(len(members), council.quorum_ratio, present_active)
    start = timezone.localtime(meeting.starts_at)

    lines = [_("Time: %(when)s") % {"when": start.strftime("%Y-%m-%d %H:%M")}]
    joined = queries.councils_at(meeting)[1:]
    if joined:
        lines.append(
            _("Joint meeting of: %(host)s (host), %(joined)s")
            % {"host": council.name, "joined": separator.join(c.name for c in joined)}
        )
    if meeting.place:
        lines.append(_("Place: %(place)s") % {"place": meeting.place})
    lines.append(_("Type: %(kind)s") % {"kind": meeting.get_kind_display()})
    if meeting.state == Meeting.State.HELD and meeting.ended_at:
        closed = timezone.localtime(meeting.ended_at).strftime("%Y-%m-%d %H:%M")
        lines.append(_("Closed at: %(when)s") % {"when": closed})
    lines += people_lines(chair, recorder)
    lines += ["", _("Attendance")]
    if joined:
        lines.append(
            _("The quorum counts the active members of all %(count)s councils, each person once.")
            % {"count": len(joined) + 1}
        )
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
    lines += guest_lines(queries.guests_of(meeting))

    lines += ["", _("Agenda and decisions")]
    items = list(live_agenda_of(meeting))
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {_item_label(item)}")
        decision = getattr(item, "decision", None)
        if decision is None:
            lines.append(INDENT + _("No decision was recorded."))
        else:
            lines += [INDENT + line for line in _decision_lines(item, decision, separator)]
    if not items:
        lines.append(_("The agenda was empty."))
    return title_for(meeting), "\n".join(lines) + "\n"


def _item_label(item: AgendaItem) -> str:
    label = _bare_label(item)
    if item.late:
        return _("%(item)s [added late]") % {"item": label}
    return label


def _bare_label(item: AgendaItem) -> str:
    if item.issue_id is None:
        return item.topic
    label = _("%(title)s (tracking code %(code)s)") % {
        "title": item.issue.title,
        "code": item.issue.tracking_code,
    }
    if item.kind == AgendaItem.Kind.REVIEW:
        return _("Follow-up review: %(item)s") % {"item": label}
    return label


def _decision_lines(item: AgendaItem, decision: Decision, separator: str) -> list[str]:
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
    if decision.tally:
        lines.append(_("Vote: %(tally)s") % {"tally": decision.tally})
    return lines


def _indented(text: str) -> str:
    """Later lines of a multi-line note line up under the item."""
    return ("\n" + INDENT * 2).join(text.strip().splitlines())


# --- Chair and recorder ------------------------------------------------------------------


def people_lines(chair: str, recorder: str) -> list[str]:
    """The draft's lines naming who chaired the meeting and who kept the record."""
    lines = []
    if chair:
        lines.append(_("Chair: %(name)s") % {"name": chair})
    if recorder:
        lines.append(_("Recorder: %(name)s") % {"name": recorder})
    return lines


def with_people(text: str, *, before: tuple[str, str], after: tuple[str, str]) -> str:
    """``text`` with the chair and recorder lines the draft wrote for ``before`` (chair,
    recorder) naming ``after`` instead; a line rewritten by hand is left as it is."""
    lines = text.split("\n")
    for index in (0, 1):
        old, new = (
            people_lines(*[name if i == index else "" for i in (0, 1)])
            for name in (before[index], after[index])
        )
        if old and new and old != new and old[0] in lines:
            lines[lines.index(old[0])] = new[0]
    return "\n".join(lines)


# --- The optimistic stamp ----------------------------------------------------------------


def stamp_of(minutes: Minutes) -> str:
    """What a form carries to tell whether the version changed since it was opened."""
    return minutes.updated.isoformat()
