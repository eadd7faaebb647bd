"""Writes to meeting minutes: drafting, editing, approving and correcting them.

A meeting's minutes are a series of versions. Staff draft the first from what
the meeting recorded (``minutes_text.compose``); staff or the leader edit it;
the leader approves it, and from then on that version never changes. A
correction is a new draft copied from the latest approved version, with the
reason on record, approved in its turn.

Each write locks the meeting (or the minutes row) first, so two people
drafting or editing at once are served one after the other on PostgreSQL;
SQLite serialises writers anyway (IMMEDIATE transactions), and every change to
a version is a conditional UPDATE on the state and stamp the writer saw, so a
stale form or a second approval changes nothing on either.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from deliberation import minutes_queries, minutes_text, permissions, queries
from deliberation.actions.base import ActionError
from deliberation.models import Meeting, Minutes
from members import notifications
from members.models import CouncilMember, User


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


def _is_current(minutes: Minutes, stamp: str) -> bool:
    """Whether ``stamp`` (``minutes_text.stamp_of`` when the form opened) is still the version's."""
    try:
        seen = parse_datetime(stamp or "")
    except ValueError:
        return False
    return seen is not None and seen == minutes.updated


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
    # The leader chairs and the staff member drafting keeps the record, unless edited.
    chair, recorder = minutes_queries.leader_name(meeting), str(actor)
    title, text = minutes_text.compose(meeting, chair=chair, recorder=recorder)
    minutes = _create_version(
        meeting=meeting,
        actor=actor,
        version=1,
        title=title,
        text=text,
        reason="",
        people=(chair, recorder),
    )
    _tell_leaders(minutes, meeting, actor)
    return minutes


@transaction.atomic
def minutes_edit(
    *,
    minutes: Minutes,
    actor: User,
    title: str,
    text: str,
    stamp: str,
    chair: str | None = None,
    recorder: str | None = None,
) -> Minutes:
    """Change a draft's title, text, chair and recorder (None: as they are); refused when it
    is approved or changed since ``stamp``. A new chair or recorder is named in the draft's
    own line too, where the text still has it."""
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
    chair = current.chair if chair is None else chair.strip()
    recorder = current.recorder if recorder is None else recorder.strip()
    _check_people(current, chair, recorder)
    text = minutes_text.with_people(
        text, before=(current.chair, current.recorder), after=(chair, recorder)
    )
    now = timezone.now()
    changed = _is_current(current, stamp) and Minutes.objects.filter(
        pk=current.pk, state=Minutes.State.DRAFT, updated=current.updated
    ).update(title=title, text=text, chair=chair, recorder=recorder, edited_by=actor, updated=now)
    if not changed:
        raise StaleMinutes(
            _(
                "Someone changed these minutes after you opened them. What you typed is "
                "below, next to the current text; compare them, then save again."
            ),
            current,
        )
    current.title, current.text, current.edited_by, current.updated = title, text, actor, now
    current.chair, current.recorder = chair, recorder
    return current


def _check_people(current: Minutes, chair: str, recorder: str) -> None:
    """A chair and a recorder are among the council's members and the community's staff
    (or named on this version already); either may stay blank."""
    members, staff = minutes_queries.people_for(current.meeting)
    allowed = {*members, *staff, current.chair, current.recorder}
    if chair and chair not in allowed:
        raise ActionError(_("Choose the chair among the council's members and the staff."))
    if recorder and recorder not in allowed:
        raise ActionError(_("Choose the recorder among the council's members and the staff."))


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
        people=(approved.chair, approved.recorder),
    )
    _tell_leaders(corrected, meeting, actor)
    return corrected


def _create_version(
    *,
    meeting: Meeting,
    actor: User,
    version: int,
    title: str,
    text: str,
    reason: str,
    people: tuple[str, str],
) -> Minutes:
    try:
        with transaction.atomic():  # the constraints hold where the lock does not
            return Minutes.objects.create(
                meeting=meeting,
                version=version,
                title=title,
                text=text,
                correction_reason=reason,
                chair=people[0][: Minutes._meta.get_field("chair").max_length],
                recorder=people[1][: Minutes._meta.get_field("recorder").max_length],
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
        "date": minutes_text.local_day(meeting),
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
