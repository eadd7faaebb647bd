"""A council member's own task: a matter the council decided to solve itself, with members
assigned to it. The members post progress with photos and report it done; the community's
staff or the council's leader confirm the work (the matter is resolved through the same
``resolve`` as staff use, which books its follow-up review) or return it with a reason
(the task is open again). Overdue tasks remind their members (``task_overdue_notify``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import events, photos
from issues.actions import handling
from issues.actions.base import store_photos
from issues.events import IssueActionError
from issues.models import Event, Issue, Photo, TaskReport
from issues.queries import community_staff_of
from members import notifications
from members.models import Role, User
from members.permissions import LEADING_ROLES
from members.queries import scope_of

# A task gathers photos over weeks: more room than a report has, but still a limit.
MAX_TASK_PHOTOS = photos.MAX_PHOTOS * 4


class NotYourTask(IssueActionError):
    """Someone who is not assigned to the task tried to work on it."""


def assignee_ids(issue: Issue) -> set[int]:
    return set(issue.assigned_members.values_list("pk", flat=True))


def assignee_users(issue: Issue) -> list[User]:
    """The active accounts of the members assigned to the task."""
    return list(
        User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member__in=issue.assigned_members.filter(left_on__isnull=True),
        ).distinct()
    )


def confirmer_users(issue: Issue) -> list[User]:
    """Who may confirm or return the work: the community's staff and the council's leaders."""
    leaders = User.objects.filter(
        is_active=True,
        roles__kind=Role.Kind.COUNCIL_MEMBER,
        roles__council_member__council__community_id=issue.community_id,
        roles__council_member__left_on__isnull=True,
        roles__council_member__role__in=LEADING_ROLES,
    ).distinct()
    return [*community_staff_of(issue), *leaders]


def _check_open_task(issue: Issue) -> None:
    if issue.tier != Issue.Tier.COUNCIL or not issue.is_open:
        raise IssueActionError(
            _("This task is no longer open: the matter is resolved or handled elsewhere.")
        )


def _check_assignee(issue: Issue, actor: User) -> None:
    if not scope_of(actor).council_member_ids & assignee_ids(issue):
        raise NotYourTask(_("Only the council members assigned to this task can report on it."))


def _pending(issue: Issue) -> TaskReport | None:
    return issue.task_reports.filter(state=TaskReport.State.PENDING).first()


def _store_photos(
    issue: Issue, actor: User, uploads: Sequence[UploadedFile], kind: str
) -> list[int]:
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos at a time.") % {"n": photos.MAX_PHOTOS})
    if uploads and issue.photos.count() + len(uploads) > MAX_TASK_PHOTOS:
        raise IssueActionError(_("This issue already has as many photos as it can hold."))
    cleaned = [photos.process(upload) for upload in uploads]  # all checked before any write
    return [photo.pk for photo in store_photos(issue, actor, cleaned, kind)]


def _under_way(issue: Issue, actor: User) -> Issue:
    """A decided matter whose members start on it is in progress (a timeline event)."""
    if issue.status == Issue.Status.DECIDED or issue.status == Issue.Status.REOPENED:
        return handling.issue_transition(issue=issue, actor=actor, name="start")
    return issue


@transaction.atomic
def task_progress(
    *, issue: Issue, actor: User, note: str, uploads: Sequence[UploadedFile] = ()
) -> Event:
    """An assigned member tells how the work goes, with photos."""
    issue = events.lock(issue, None)
    _check_assignee(issue, actor)
    _check_open_task(issue)
    note = note.strip()
    if not note and not uploads:
        raise IssueActionError(_("Write how the work is going, or add a photo."))
    stored = _store_photos(issue, actor, uploads, Photo.Kind.PROGRESS)
    issue = _under_way(issue, actor)
    return events.record(
        issue, actor, Event.Kind.TASK_PROGRESS, note=note, public=False, data={"photos": stored}
    )


@transaction.atomic
def task_report_done(
    *, issue: Issue, actor: User, note: str, uploads: Sequence[UploadedFile] = ()
) -> TaskReport:
    """An assigned member reports the work done; staff and the council's leaders are told."""
    issue = events.lock(issue, None)
    _check_assignee(issue, actor)
    _check_open_task(issue)
    note = note.strip()
    if not note:
        raise IssueActionError(_("Say what was done."))
    if _pending(issue) is not None:
        raise IssueActionError(_("This task was already reported done and waits for confirmation."))
    stored = _store_photos(issue, actor, uploads, Photo.Kind.COMPLETION)
    issue = _under_way(issue, actor)
    try:
        with transaction.atomic():
            report = TaskReport.objects.create(issue=issue, reported_by=actor, note=note)
    except IntegrityError as error:  # another member's report got in first (SQLite: no lock)
        raise IssueActionError(
            _("This task was already reported done and waits for confirmation.")
        ) from error
    events.record(issue, actor, Event.Kind.TASK_DONE, note=note, public=False,
            data={"photos": stored, "report": report.pk})  # fmt: skip
    events.notify(confirmer_users(issue), "task_done_reported", issue,
            key=f"task_done_reported:{report.pk}", actor=actor)  # fmt: skip
    return report


def _claim(issue: Issue, actor: User, **changes) -> TaskReport:
    """The report waiting for an answer, taken by a conditional UPDATE (it holds on SQLite,
    which ignores FOR UPDATE): of two answers at once, only one goes through."""
    report = _pending(issue)
    if report is None:
        raise IssueActionError(
            _("Nothing waits for confirmation on this task: someone may have answered already.")
        )
    now = timezone.now()
    claimed = TaskReport.objects.filter(pk=report.pk, state=TaskReport.State.PENDING).update(
        decided_by=actor, decided_at=now, **changes
    )
    if not claimed:
        raise IssueActionError(
            _("Nothing waits for confirmation on this task: someone may have answered already.")
        )
    report.refresh_from_db()
    return report


@transaction.atomic
def task_confirm(*, issue: Issue, actor: User) -> Issue:
    """Staff or the council's leader confirm the work: the matter is resolved (and its
    follow-up review booked) exactly as when staff resolve it."""
    issue = events.lock(issue, None)
    _check_open_task(issue)
    report = _pending(issue)
    if report is not None and report.reported_by_id == actor.pk:
        raise IssueActionError(_("Someone else must confirm the work you reported yourself."))
    report = _claim(issue, actor, state=TaskReport.State.CONFIRMED)
    events.record(issue, actor, Event.Kind.TASK_CONFIRMED, public=False,
            data={"report": report.pk})  # fmt: skip
    issue = handling.issue_transition(
        issue=issue, actor=actor, name="resolve", note=_("The council's task was confirmed done.")
    )
    events.notify(assignee_users(issue), "task_confirmed", issue,
            key=f"task_confirmed:{report.pk}", actor=actor)  # fmt: skip
    return issue


@transaction.atomic
def task_return(*, issue: Issue, actor: User, reason: str) -> TaskReport:
    """Staff or the council's leader send the work back with a reason the members see; the
    task is open again."""
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Say why the work goes back, so the members know what to do."))
    issue = events.lock(issue, None)
    _check_open_task(issue)
    report = _claim(issue, actor, state=TaskReport.State.RETURNED, return_reason=reason)
    events.record(issue, actor, Event.Kind.TASK_RETURNED, note=reason, public=False,
            data={"report": report.pk})  # fmt: skip
    events.notify(assignee_users(issue), "task_returned", issue,
            key=f"task_returned:{report.pk}", actor=actor, extra={"reason": reason})  # fmt: skip
    return report


def task_overdue_notify(*, issue: Issue, today: dt.date) -> tuple[int, set[int]]:
    """Remind the members of an overdue open task, once a day each (the notice's key holds
    the date). Returns the notices created and the members' accounts, whom the caller's own
    overdue reminder leaves out: a task reported done waits for its confirmers, not them."""
    if issue.tier != Issue.Tier.COUNCIL or not issue.is_overdue(today):
        return 0, set()
    users = assignee_users(issue)
    told = {user.pk for user in users}
    if _pending(issue) is not None:
        return 0, told
    key = f"task_overdue:{issue.pk}:{today.isoformat()}"
    context = events.notice_context(issue)
    sent = 0
    for user in users:
        sent += len(notifications.notify(user, "task_overdue", context, key=f"{key}:{user.pk}"))
    return sent, told
