"""Work a council's decision gives to the outside parties at its meeting (联建联动), and their
replies: both written on the matter's timeline, each party told once, the community's staff
told of each reply."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import queries
from deliberation.actions.base import ActionError
from deliberation.models import Decision, MeetingGuest, PartyTask
from issues import events
from issues.models import Event
from issues.queries import community_staff_of
from members import notifications
from members.models import User


@transaction.atomic
def party_assign(
    *,
    decision: Decision,
    guest: MeetingGuest,
    work: str,
    actor: User,
    due_on: dt.date | None = None,
) -> PartyTask:
    """Give one of the meeting's guests work on the decided matter, and tell them."""
    item = decision.item
    if guest.meeting_id != item.meeting_id:
        raise ActionError(_("Only a party invited to this meeting can be given its work."))
    work = work.strip()
    if not work:
        raise ActionError(_("Say what the party is asked to do."))
    if due_on is not None and due_on < timezone.localdate():
        raise ActionError(_("The reply date cannot be in the past."))
    try:
        with transaction.atomic():
            task = PartyTask.objects.create(
                decision=decision,
                guest=guest,
                work=work,
                due_on=due_on,
                assigned_by=actor,
                assigned_at=timezone.now(),
            )
    except IntegrityError as error:
        raise ActionError(
            _("%(name)s already has work from this decision.") % {"name": guest.name}
        ) from error
    if item.issue_id is not None:
        events.record(
            item.issue,
            actor,
            Event.Kind.PARTY_ASSIGNED,
            to_value=guest.name[:30],
            note=work,
            public=False,
            data={"task": task.pk, "meeting": item.meeting_id},
        )
    context = {
        **queries.notice_context(item.meeting),
        "party": guest.name,
        "work": work,
        "title": item.issue.title if item.issue_id else item.topic,
    }
    key = f"party_task:{task.pk}"
    if guest.unit_id is not None:
        notifications.notify_phone(guest.unit.phone, "party_task_unit", context, key=key)
    else:
        notifications.notify(guest.user, "party_task", context, key=f"{key}:{guest.user_id}")
    return task


@transaction.atomic
def party_reply(*, task: PartyTask, actor: User, reply: str) -> PartyTask:
    """The party's answer (a cadre's own, or a unit's as staff took it down), once."""
    reply = reply.strip()
    if not reply:
        raise ActionError(_("Write the reply first."))
    task = (
        PartyTask.objects.select_for_update(of=("self",))
        .select_related("guest__unit", "guest__user", "decision__item__issue__community")
        .get(pk=task.pk)
    )
    if task.replied_at is not None:
        raise ActionError(_("This work already has its reply."))
    task.reply, task.replied_at, task.replied_by = reply, timezone.now(), actor
    task.save(update_fields=["reply", "replied_at", "replied_by"])
    item = task.decision.item
    if item.issue_id is not None:
        issue = item.issue
        events.record(
            issue,
            actor,
            Event.Kind.PARTY_REPLIED,
            to_value=task.guest.name[:30],
            note=reply,
            public=False,
            data={"task": task.pk, "meeting": item.meeting_id},
        )
        context = {
            **queries.notice_context(item.meeting),
            "party": task.guest.name,
            "title": issue.title,
        }
        for user in community_staff_of(issue):
            if user.pk != actor.pk:
                notifications.notify(
                    user, "party_replied", context, key=f"party_replied:{task.pk}:{user.pk}"
                )
    return task
