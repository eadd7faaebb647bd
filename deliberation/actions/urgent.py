"""Convening an urgent meeting about one issue ("blowing the whistle")."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import permissions, queries
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Meeting
from issues.models import Issue
from members import notifications
from members.models import Council, User


@transaction.atomic
def meeting_convene_urgent(
    *, issue: Issue, actor: User, starts_at: dt.datetime, place: str
) -> Meeting:
    """Call an urgent meeting about ``issue`` and tell its people at once.

    The issue becomes the meeting's first item (and leaves the agenda of any
    upcoming meeting not yet announced); every current member, and the lane and
    building leaders and party-member households near the issue, get a notice
    when the transaction commits. Nothing is written when anything is refused.
    """
    now = timezone.now()
    if not permissions.can_convene(actor, issue):
        raise ActionError(_("Only community staff or the council's leader or deputy can convene."))
    if not issue.is_open:
        raise ActionError(_("Only an open issue can be taken to an urgent meeting."))
    if starts_at <= now:
        raise ActionError(_("An urgent meeting cannot start in the past; choose a later time."))
    council = Council.objects.select_for_update().filter(community_id=issue.community_id).first()
    if council is None:
        raise ActionError(_("This community has no council yet."))
    clash = _("The council already has a meeting at %(when)s; choose another time.") % {
        "when": queries.local_time(starts_at)
    }
    if Meeting.objects.filter(council=council, starts_at=starts_at).exists():
        raise ActionError(clash)
    try:
        with transaction.atomic():
            meeting = Meeting.objects.create(
                council=council,
                starts_at=starts_at,
                place=place.strip(),
                kind=Meeting.Kind.URGENT,
                notice_due_at=now,
                notice_sent_at=now,
            )
    except IntegrityError as error:
        raise ActionError(clash) from error
    AgendaItem.objects.filter(
        issue=issue,
        meeting__council=council,
        meeting__state=Meeting.State.SCHEDULED,
        meeting__notice_sent_at__isnull=True,
        meeting__starts_at__gte=now,
        decision__isnull=True,
    ).exclude(meeting=meeting).delete()
    AgendaItem.objects.create(meeting=meeting, issue=issue, position=0, kind=AgendaItem.Kind.ISSUE)
    context = {**queries.notice_context(meeting), "title": issue.title, "issue_id": issue.pk}
    for user in queries.urgent_recipients(issue, council.pk):
        notifications.notify(
            user, "meeting_urgent", context, key=f"meeting_urgent:{meeting.pk}:{user.pk}"
        )
    return meeting
