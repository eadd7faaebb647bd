"""Return visits (工作回访): going back to a household after the matter it raised was
resolved, and taking the resident's answer as the follow-up review's rating.

The answer taken in person is recorded through the issues app's review action as a rating
collected in person (``Rating.Source.IN_PERSON``, recorded by the team member): the
figures count it like any rating recorded by staff (``ReviewFigures.rated_by_staff``).
A review the resident already rated is not rated again; the visit is recorded all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import reviews
from issues.actions import intake
from issues.models import FollowUpReview, Issue, Rating
from members.models import User
from visits.actions import VisitsRefusal, visiting
from visits.models import Visit, VisitConcern


def live_review(issue: Issue) -> FollowUpReview | None:
    """The follow-up review of the matter's latest resolution, while it is under way."""
    return (
        FollowUpReview.objects.filter(issue=issue, state__in=FollowUpReview.LIVE_STATES)
        .order_by("-resolved_at", "-id")
        .first()
    )


def needs_rating(issue: Issue) -> bool:
    """Whether a return visit now would take the rating of the matter's follow-up review."""
    review = live_review(issue)
    return review is not None and not Rating.objects.filter(review=review).exists()


@transaction.atomic
def return_visit_record(
    *,
    actor: User,
    concern: VisitConcern,
    visited_on: dt.date,
    visitors: Iterable[User] = (),
    notes: str = "",
    fixed: str = "",
    satisfaction: int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """A return visit about a resolved matter raised on a visit. When its follow-up review
    waits for the resident's rating, the answer (``fixed``, ``satisfaction`` on the rating
    scale, 5–1) is required and settles it as a rating taken in person. A timeline event
    on the matter says the team went back. All of it is written, or none."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    first = concern.visit
    issue = Issue.objects.get(pk=concern.issue_id)  # as it is now, not as it was read
    if issue.status != Issue.Status.RESOLVED:
        raise VisitsRefusal(_("This matter is not waiting for a return visit: it is not resolved."))
    if issue.resolved_at and visited_on < timezone.localdate(issue.resolved_at):
        raise VisitsRefusal(_("A return visit comes after the matter was resolved."))
    review = live_review(issue)
    rate = review is not None and not Rating.objects.filter(review=review).exists()
    if rate and (not fixed or satisfaction is None):
        raise VisitsRefusal(_("Record the resident's answer: was it fixed, and how satisfied?"))
    visit = visiting.visit_record(
        actor=actor,
        team=first.team,
        resident=first.resident,
        kind=Visit.Kind.RETURN,
        visited_on=visited_on,
        visitors=visitors,
        notes=notes,
        today=today,
    )
    visit.return_of = concern
    visit.save(update_fields=["return_of"])
    intake.issue_comment(
        issue=issue,
        actor=actor,
        text=_("Return visit by %(team)s on %(day)s.")
        % {"team": first.team.name, "day": visited_on.isoformat()},
    )
    if rate:
        try:
            reviews.review_rate(
                review=review,
                actor=actor,
                fixed=fixed,
                satisfaction=satisfaction,
                source=Rating.Source.IN_PERSON,
                now=now,
            )
        except reviews.ReviewRefused as refusal:
            raise VisitsRefusal(str(refusal)) from refusal
    return visit
