"""Work from matters: a council decided residents solve a matter themselves (the outcome
"the council solves it"), a team's activity does the work, and closing the activity puts
the work on the matter's timeline: who closed it, when, the hours in total, how many
volunteers served, and the activity's photos, which the matter shows from then on.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from deliberation.models import Decision
from issues import events
from issues.models import Event, Issue, Photo
from members.models import User
from volunteers.models import Activity, Attendance, Team
from volunteers.refusals import VolunteerRefusal


def decisions_for_residents(issue: Issue | OuterRef) -> QuerySet[Decision]:
    """The council's decisions that residents solve this matter themselves."""
    return Decision.objects.filter(item__issue=issue, outcome=Decision.Outcome.SOLVE_BY_COUNCIL)


def decided_for_residents(issue: Issue) -> bool:
    """The council decided residents solve this matter themselves."""
    return decisions_for_residents(issue).exists()


def check_for_residents(issue: Issue, team: Team) -> None:
    """An activity may work on ``issue`` for ``team``, or a refusal says why not."""
    if issue.community_id != team.community_id:
        raise VolunteerRefusal(_("Choose one of the matter's community's teams."))
    if not issue.is_open:
        raise VolunteerRefusal(_("This matter is no longer open."))
    if not decided_for_residents(issue):
        raise VolunteerRefusal(
            _(
                "Only a matter the council decided residents solve themselves "
                "becomes volunteer work."
            )
        )


def work_report(*, activity: Activity, actor: User) -> Event:
    """Put a closed activity's work on its matter: one event, written once (the caller
    holds the activity's row lock and has just closed it)."""
    issue = events.lock(activity.issue, None)
    already = issue.events.filter(
        kind=Event.Kind.VOLUNTEER_WORK, data__activity=activity.pk
    ).first()
    if already is not None:
        return already
    served = Attendance.objects.filter(activity=activity, confirmed_at__isnull=False).aggregate(
        minutes=Sum("credited_minutes"),
        people=Count("id", filter=Q(credited_minutes__gt=0)),
    )
    shown = [
        Photo.objects.create(
            issue=issue,
            image=photo.image.name,
            width=photo.width,
            height=photo.height,
            size=photo.size,
            kind=Photo.Kind.PROGRESS,
            uploaded_by=photo.uploaded_by,
        ).pk
        for photo in activity.photos.order_by("created", "id")
    ]
    return events.record(
        issue,
        actor,
        Event.Kind.VOLUNTEER_WORK,
        note=activity.title,
        public=True,
        note_public=True,
        data={
            "activity": activity.pk,
            "team": activity.team.name,
            "starts_at": activity.starts_at.isoformat(),
            "minutes": served["minutes"] or 0,
            "volunteers": served["people"] or 0,
            "photos": shown,
        },
    )
