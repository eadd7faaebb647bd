"""Reads of visiting teams, rounds and visits, always as seen by the acting user.

A team is seen by its current members and by its street's admins; everyone else gets
404. Households are those of the compounds a team is paired with now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from issues.models import FollowUpReview, Issue, Rating
from members.models import Resident, Street, User
from members.queries import scope_of
from visits.models import (
    AskedVisit,
    Building,
    Pairing,
    Round,
    Tally,
    Target,
    Team,
    TeamMember,
    Visit,
    VisitConcern,
)
from visits.permissions import team_ids_of


def teams_visible_to(user: User) -> QuerySet[Team]:
    scope = scope_of(user)
    return Team.objects.filter(
        Q(pk__in=team_ids_of(user)) | Q(street_id__in=scope.admin_street_ids)
    )


def team_for(user: User, pk: int) -> Team:
    return get_object_or_404(teams_visible_to(user).select_related("street", "leader"), pk=pk)


def open_pairings(team: Team) -> QuerySet[Pairing]:
    return Pairing.objects.filter(team=team, ended_on__isnull=True).select_related("community")


def pairing_history(team: Team) -> QuerySet[Pairing]:
    return (
        Pairing.objects.filter(team=team, ended_on__isnull=False)
        .select_related("community")
        .order_by("-ended_on", "-id")
    )


def pairings_now_and_before(team: Team) -> tuple[list[Pairing], list[Pairing]]:
    """``open_pairings`` and ``pairing_history`` read in one statement."""
    pairings = list(
        Pairing.objects.filter(team=team).select_related("community").order_by("-ended_on", "-id")
    )
    now = sorted(
        (p for p in pairings if p.ended_on is None),
        key=lambda p: (p.community_id, p.lane, p.building, p.pk),  # Pairing's own ordering
    )
    return now, [p for p in pairings if p.ended_on is not None]


def buildings_of(team: Team) -> QuerySet[Building]:
    """The known buildings of the communities the team is paired with now."""
    communities = Pairing.objects.filter(team=team, ended_on__isnull=True).values("community_id")
    return (
        Building.objects.filter(community_id__in=communities)
        .select_related("community")
        .order_by("community__name", "lane", "building", "id")
    )


def building_target_for(team: Team, pk: int) -> Target:
    """A thin building of the team's rounds; 404 for anything else."""
    return get_object_or_404(
        Target.objects.filter(team=team, resident__isnull=True).select_related("team"), pk=pk
    )


def current_members(team: Team) -> QuerySet[TeamMember]:
    return (
        TeamMember.objects.filter(team=team, left_on__isnull=True)
        .select_related("user", "department")
        .order_by("joined_on", "id")
    )


def households_of(team: Team) -> QuerySet[Resident]:
    """Active residents of the compounds the team is paired with now."""
    paired = Pairing.objects.filter(
        team=team, ended_on__isnull=True, community_id=OuterRef("community_id")
    ).filter(
        Q(lane="", building="")
        | Q(building="", lane=OuterRef("lane"))
        | Q(building=OuterRef("building"), lane="")
        | Q(building=OuterRef("building"), lane=OuterRef("lane"))
    )
    return Resident.objects.filter(is_active=True).filter(Exists(paired))


def search_households(team: Team, search: str) -> QuerySet[Resident]:
    residents = households_of(team).select_related("community")
    search = search.strip()
    if search:
        residents = residents.filter(
            Q(name__icontains=search)
            | Q(building__icontains=search)
            | Q(lane__icontains=search)
            | Q(room__icontains=search)
        )
    return residents.order_by("lane", "building", "room", "name", "id")


def household_for(team: Team, pk: int) -> Resident:
    return get_object_or_404(households_of(team).select_related("community"), pk=pk)


def current_round(street: Street, today: dt.date) -> Round | None:
    """The street's latest round opened by ``today``."""
    return (
        Round.objects.filter(street=street, opened_on__lte=today)
        .order_by("-year", "-quarter")
        .first()
    )


def current_round_of(team: Team, today: dt.date) -> Round | None:
    """``current_round`` of the team's street, with the team's tally of it read in the same
    statement (``team_target``, ``team_visited``)."""
    tally = Tally.objects.filter(round=OuterRef("pk"), team=team)
    return (
        Round.objects.filter(street_id=team.street_id, opened_on__lte=today)
        .annotate(
            team_target=Coalesce(Subquery(tally.values("target")[:1]), 0),
            team_visited=Coalesce(Subquery(tally.values("visited")[:1]), 0),
        )
        .order_by("-year", "-quarter")
        .first()
    )


@dataclass(frozen=True)
class Progress:
    visited: int
    target: int
    days_left: int
    overdue: bool

    @property
    def done(self) -> bool:
        return self.target > 0 and self.visited >= self.target


def progress_of(round_: Round, visited: int, target: int, today: dt.date) -> Progress:
    days_left = (round_.due_on - today).days
    return Progress(
        visited=visited,
        target=target,
        days_left=max(days_left, 0),
        overdue=days_left < 0 and visited < target,
    )


def teams_with_progress(user: User, street: Street, round_: Round | None) -> QuerySet[Team]:
    """The street's teams, each with its round's targets and households visited (their
    tallies): one query, whatever the number of households."""
    teams = teams_visible_to(user).filter(street=street).select_related("leader")
    if round_ is None:
        return teams.order_by("name", "id")
    tally = Tally.objects.filter(round=round_, team=OuterRef("pk"))
    return teams.annotate(
        target_count=Coalesce(Subquery(tally.values("target")[:1]), 0),
        visited_count=Coalesce(Subquery(tally.values("visited")[:1]), 0),
    ).order_by("name", "id")


def targets_of(team: Team, round_: Round, *, search: str = "", left: bool = False):
    targets = Target.objects.filter(team=team, round=round_).select_related("resident", "community")
    if left:
        targets = targets.filter(visited_on__isnull=True)
    search = search.strip()
    if search:
        targets = targets.filter(
            Q(resident__name__icontains=search)
            | Q(building__icontains=search)
            | Q(lane__icontains=search)
            | Q(room__icontains=search)
        )
    return targets.order_by("community_id", "lane", "building", "room", "id")


def visits_of(team: Team) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(team=team)
        .select_related("resident", "recorded_by")
        .annotate(concern_count=Count("concerns"))
        .order_by("-visited_on", "-id")
    )


def visit_for(user: User, pk: int) -> Visit:
    return get_object_or_404(
        Visit.objects.filter(team__in=teams_visible_to(user)).select_related(
            "team", "resident__community", "recorded_by"
        ),
        pk=pk,
    )


def overdue_team_rounds(today: dt.date) -> list[tuple[int, int]]:
    """(team id, round id) of every team with households left in a round past due."""
    return list(
        Target.objects.filter(
            round__due_on__lt=today,
            round__due_on__gte=today - dt.timedelta(days=80),  # before the next round opens
            visited_on__isnull=True,
        )
        .values_list("team_id", "round_id")
        .distinct()
        .order_by("team_id", "round_id")
    )


def team_candidates(user: User, street: Street) -> QuerySet[User]:
    """Accounts a street's admin may put on a team: those with a role in the street, those
    already on one of its teams, and accounts with no role and no team yet (a cadre sent
    down, newly given an account)."""
    in_street = (
        Q(roles__community__street=street)
        | Q(roles__street=street)
        | Q(roles__department__street=street)
        | Q(visit_team_terms__team__street=street)
    )
    unplaced = Q(roles__isnull=True, visit_team_terms__isnull=True)
    ids = User.objects.filter(is_active=True).filter(in_street | unplaced).values("pk")
    return User.objects.filter(pk__in=ids).order_by("display_name", "username")


def return_tasks(team: Team) -> QuerySet[VisitConcern]:
    """Concerns the team raised whose matter is resolved and not yet visited again since,
    and whose follow-up review the resident has not already rated: "to revisit"."""
    returned = Visit.objects.filter(
        return_of=OuterRef("pk"), created__gte=OuterRef("issue__resolved_at")
    )
    rated = Rating.objects.filter(
        review__issue=OuterRef("issue"), review__state__in=FollowUpReview.LIVE_STATES
    )
    return (
        VisitConcern.objects.filter(visit__team=team, issue__status=Issue.Status.RESOLVED)
        .exclude(Exists(returned))
        .exclude(Exists(rated))
        .select_related("issue", "visit__resident")
        .order_by("issue__resolved_at", "id")
    )


def return_task_for(user: User, pk: int) -> VisitConcern:
    """A concern raised by a team the user sees; 404 otherwise."""
    return get_object_or_404(
        VisitConcern.objects.filter(visit__team__in=teams_visible_to(user)).select_related(
            "issue", "visit__team__street", "visit__resident__community"
        ),
        pk=pk,
    )


def asked_open_of(team: Team) -> QuerySet[AskedVisit]:
    """Visits residents asked the team for, not yet made: undated first, then by date."""
    return AskedVisit.objects.filter(team=team, state__in=AskedVisit.OPEN_STATES).order_by(
        "scheduled_for", "created", "id"
    )


def asked_for(user: User, pk: int) -> AskedVisit:
    """A request to a team the user sees; 404 otherwise."""
    return get_object_or_404(
        AskedVisit.objects.filter(team__in=teams_visible_to(user)).select_related(
            "team__street", "community", "visit"
        ),
        pk=pk,
    )
