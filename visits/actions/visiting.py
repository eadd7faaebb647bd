"""Recording a visit: who went, what was said, and each concern taken in as a matter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from issues.actions import intake
from issues.models import Category, Issue
from members.models import Resident, User
from visits import permissions, queries
from visits.actions import VisitsRefusal, rounds
from visits.models import Target, Team, TeamMember, Visit, VisitConcern


@transaction.atomic
def visit_record(
    *,
    actor: User,
    team: Team,
    resident: Resident,
    kind: str,
    visited_on: dt.date,
    visitors: Iterable[User],
    notes: str = "",
    concerns: Sequence[dict] = (),
    today: dt.date | None = None,
) -> Visit:
    """A visit to a household of the team's compounds. Each concern (``title``,
    ``category``, ``description``) becomes a matter of the household's community, channel
    入户走访 (team visit), reported by the resident and linked back to the visit. All of
    it is written, or none."""
    today = today or timezone.localdate()
    if not permissions.may_record_visit(actor, team):
        raise VisitsRefusal(_("Only the team's members record its visits."))
    if visited_on > today:
        raise VisitsRefusal(_("A visit cannot be dated in the future."))
    if kind not in Visit.Kind.values:
        raise VisitsRefusal(_("Choose what kind of visit this was."))
    if not queries.households_of(team).filter(pk=resident.pk).exists():
        raise VisitsRefusal(_("This household is not in the team's compounds."))
    visitors = set(visitors) | {actor}
    members = set(
        TeamMember.objects.filter(team=team, left_on__isnull=True, user__in=visitors).values_list(
            "user_id", flat=True
        )
    )
    if any(user.pk not in members for user in visitors):
        raise VisitsRefusal(_("Only the team's members can be among those who went."))
    visit = Visit.objects.create(
        team=team,
        resident=resident,
        kind=kind,
        visited_on=visited_on,
        notes=notes.strip(),
        recorded_by=actor,
    )
    visit.visitors.set(visitors)
    if kind == Visit.Kind.CONCENTRATED:
        target = _target_for(team, resident, visited_on)
        if target is not None:
            visit.target = target
            visit.save(update_fields=["target"])
            rounds.target_visited(target, visited_on)
    for concern in concerns:
        category: Category = concern["category"]
        issue = intake.issue_report(
            actor=actor,
            community=resident.community,
            title=concern["title"],
            category=category,
            description=concern.get("description", ""),
            channel=Issue.Channel.VISIT,
            reporter=resident,
        )
        VisitConcern.objects.create(visit=visit, issue=issue)
    return visit


def _target_for(team: Team, resident: Resident, day: dt.date) -> Target | None:
    """The household's place in the team's round of that day, if it has one."""
    round_ = queries.current_round(team.street, day)
    if round_ is None:
        return None
    household = Q(resident=resident)
    if resident.room:
        household |= Q(
            community_id=resident.community_id,
            lane=resident.lane,
            building=resident.building,
            room=resident.room,
        )
    return Target.objects.filter(household, round=round_, team=team).first()
