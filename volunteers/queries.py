"""Reads of volunteer teams, activities and service hours, as seen by the acting user.

Staff of a community and admins of its street see its teams; a volunteer sees the teams
they serve in. Everything else is 404 (``get_object_or_404`` on a scoped queryset).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from members.models import Community, CouncilMember, Resident, User
from members.queries import scope_of
from volunteers.models import (
    Activity,
    ActivityPhoto,
    Attendance,
    Balance,
    Exchange,
    ExchangeRule,
    HoursEntry,
    JoinRequest,
    Membership,
    Team,
    Volunteer,
)

RECENT = 10


def volunteer_of(user: User) -> Volunteer | None:
    """The volunteer this account is: by its own link, or through the user's council term.

    One query, read once per request.
    """
    if not user.is_authenticated:
        return None
    if hasattr(user, "_yishi_volunteer"):
        return user._yishi_volunteer
    match = Q(user=user)
    terms = scope_of(user).council_member_ids
    if terms:
        residents = CouncilMember.objects.filter(pk__in=terms, left_on__isnull=True).values(
            "resident_id"
        )
        match |= Q(resident_id__in=residents)
    volunteer = (
        Volunteer.objects.filter(match)
        .select_related("resident__community", "balance")
        .annotate(first_served=_first_served())
        .order_by("id")
        .first()
    )
    user._yishi_volunteer = volunteer
    return volunteer


def _first_served() -> Subquery:
    """The volunteer's first day of service in the ledger (an indexed look-up), read with
    the volunteer so that the years to print cost no query of their own."""
    return Subquery(
        HoursEntry.objects.filter(volunteer=OuterRef("pk"))
        .order_by("served_on", "id")
        .values("served_on")[:1]
    )


def _overseen(user: User) -> Q:
    """Teams in the communities the user works for (staff) or oversees (street admin)."""
    scope = scope_of(user)
    return Q(community_id__in=scope.staff_community_ids) | Q(
        community__street_id__in=scope.admin_street_ids
    )


def teams_visible_to(user: User) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    match = _overseen(user)
    volunteer = volunteer_of(user)
    if volunteer is not None:
        mine = Membership.objects.filter(volunteer=volunteer, left_on__isnull=True).values(
            "team_id"
        )
        match |= Q(pk__in=mine) | Q(leader=volunteer)
    return Team.objects.filter(match)


def team_for(user: User, pk: int) -> Team:
    return get_object_or_404(
        teams_visible_to(user).select_related("community__street", "leader__resident"), pk=pk
    )


def teams_of(community: Community) -> QuerySet[Team]:
    """A community's teams with their current members counted, in one query."""
    return (
        Team.objects.filter(community=community)
        .select_related("leader__resident")
        .annotate(member_count=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
        .order_by("name", "id")
    )


def members_of(team: Team) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(team=team, left_on__isnull=True)
        .select_related("volunteer__resident", "volunteer__balance")
        .order_by("volunteer__resident__name", "id")
    )


MEMBERS_PER_PAGE = 30
UPCOMING_SHOWN = 10


@dataclass(frozen=True)
class MembersPage:
    members: list[Membership]
    next_after: tuple[str, int] | None  # (name, membership id) to continue from, if more


def members_page(team: Team, *, after: tuple[str, int] | None = None) -> MembersPage:
    """A page of the team's members by name, continuing after (name, id): one query, the
    same however many members the team has and however far on the page is."""
    rows = members_of(team)
    if after is not None:
        name, pk = after
        rows = rows.filter(
            Q(volunteer__resident__name__gt=name) | Q(volunteer__resident__name=name, pk__gt=pk)
        )
    members = list(rows[: MEMBERS_PER_PAGE + 1])
    if len(members) <= MEMBERS_PER_PAGE:
        return MembersPage(members=members, next_after=None)
    last = members[MEMBERS_PER_PAGE - 1]
    return MembersPage(
        members=members[:MEMBERS_PER_PAGE], next_after=(last.volunteer.resident.name, last.pk)
    )


def membership_for(user: User, pk: int) -> Membership:
    """A current membership of a team the user sees; 404 for anyone else's."""
    return get_object_or_404(
        Membership.objects.filter(
            team__in=teams_visible_to(user), left_on__isnull=True
        ).select_related("team__community", "volunteer__resident"),
        pk=pk,
    )


def residents_not_in(team: Team) -> QuerySet[Resident]:
    """The community's active residents who could join the team."""
    current = Membership.objects.filter(team=team, left_on__isnull=True).values(
        "volunteer__resident_id"
    )
    return (
        Resident.objects.filter(community_id=team.community_id, is_active=True)
        .exclude(pk__in=current)
        .order_by("name", "id")
    )


def _signed_up() -> Subquery:
    """How many signed up for the activity (the outer query's row): counted for the rows
    shown only, not for every activity of the team before the list is cut."""
    return Subquery(
        Attendance.objects.filter(activity=OuterRef("pk"))
        .order_by()
        .values("activity")
        .annotate(n=Count("id"))
        .values("n")
    )


def activities_of(team: Team, *, now: dt.datetime | None = None) -> QuerySet[Activity]:
    """The team's activities from today on, with how many signed up."""
    start = (now or timezone.now()) - dt.timedelta(days=1)
    return (
        Activity.objects.filter(team=team, ends_at__gte=start)
        .annotate(signed_up=Coalesce(_signed_up(), 0))
        .order_by("starts_at", "id")
    )


def past_activities_of(team: Team, *, now: dt.datetime | None = None) -> QuerySet[Activity]:
    start = (now or timezone.now()) - dt.timedelta(days=1)
    return (
        Activity.objects.filter(team=team, ends_at__lt=start)
        .annotate(signed_up=Coalesce(_signed_up(), 0))
        .order_by("-starts_at", "-id")
    )


def activities_visible_to(user: User) -> QuerySet[Activity]:
    return Activity.objects.filter(team__in=teams_visible_to(user))


def activity_for(user: User, pk: int) -> Activity:
    return get_object_or_404(
        activities_visible_to(user).select_related("team__community", "team__leader__resident"),
        pk=pk,
    )


def photos_of(activity: Activity) -> QuerySet[ActivityPhoto]:
    return ActivityPhoto.objects.filter(activity=activity).order_by("created", "id")


def activity_photo_for(user: User, activity_pk: int, photo_pk: int) -> ActivityPhoto:
    return get_object_or_404(
        ActivityPhoto.objects.filter(activity__in=activities_visible_to(user)),
        activity_id=activity_pk,
        pk=photo_pk,
    )


def matter_activities(issue) -> QuerySet[Activity]:
    """The activities that work on a matter, with their team."""
    return Activity.objects.filter(issue=issue).select_related("team").order_by("starts_at", "id")


def attendances_of(activity: Activity) -> QuerySet[Attendance]:
    return (
        Attendance.objects.filter(activity=activity)
        .select_related("volunteer__resident", "confirmed_by")
        .order_by("volunteer__resident__name", "id")
    )


def attendance_for(user: User, pk: int) -> Attendance:
    return get_object_or_404(
        Attendance.objects.filter(activity__in=activities_visible_to(user)).select_related(
            "activity__team__community", "volunteer__resident"
        ),
        pk=pk,
    )


def attendance_of(activity: Activity, volunteer: Volunteer | None) -> Attendance | None:
    if volunteer is None:
        return None
    return Attendance.objects.filter(activity=activity, volunteer=volunteer).first()


def volunteers_overseen_by(user: User) -> QuerySet[Volunteer]:
    scope = scope_of(user)
    return Volunteer.objects.filter(
        Q(resident__community_id__in=scope.staff_community_ids)
        | Q(resident__community__street_id__in=scope.admin_street_ids)
    )


def volunteer_for(user: User, pk: int) -> Volunteer:
    """A volunteer of a community the user works for or oversees; 404 for anyone else."""
    return get_object_or_404(
        volunteers_overseen_by(user)
        .select_related("resident__community", "balance")
        .annotate(first_served=_first_served()),
        pk=pk,
    )


def rules_of(community: Community) -> QuerySet[ExchangeRule]:
    return ExchangeRule.objects.filter(community=community, is_active=True).order_by(
        "minutes", "id"
    )


def ledger_of(volunteer: Volunteer) -> QuerySet[HoursEntry]:
    """The volunteer's ledger, newest first, with what each row came from."""
    return (
        HoursEntry.objects.filter(volunteer=volunteer)
        .select_related("attendance__activity__team", "exchange", "recorded_by")
        .order_by("-created", "-id")
    )


def exchanges_of(volunteer: Volunteer) -> QuerySet[Exchange]:
    return (
        Exchange.objects.filter(volunteer=volunteer)
        .select_related("approved_by")
        .order_by("-created", "-id")
    )


def balance_minutes(volunteer: Volunteer) -> int:
    """Minutes in hand, from the balance row (no row yet: nothing earned)."""
    try:
        return volunteer.balance.minutes
    except Balance.DoesNotExist:
        return 0


PRINTED_YEARS = 5


def service_years(volunteer: Volunteer, *, today: dt.date | None = None) -> list[int]:
    """The years a statement or certificate can be printed for, newest first: from the
    first day of service in the ledger (read with the volunteer, or one indexed query) to
    this year, at most five."""
    this_year = (today or timezone.localdate()).year
    if hasattr(volunteer, "first_served"):  # read with the volunteer
        first = volunteer.first_served
    else:
        first = HoursEntry.objects.filter(volunteer=volunteer).aggregate(first=Min("served_on"))
        first = first["first"]
    since = first.year if first else this_year
    return list(range(this_year, max(since, this_year - PRINTED_YEARS + 1) - 1, -1))


@dataclass(frozen=True)
class VolunteerPage:
    volunteer: Volunteer
    teams: list[Team]
    upcoming: list[Activity]
    ledger: list[HoursEntry]
    exchanges: list[Exchange]
    years: list[int]

    @property
    def minutes(self) -> int:
        return balance_minutes(self.volunteer)


def volunteer_page(volunteer: Volunteer, *, now: dt.datetime | None = None) -> VolunteerPage:
    """What a volunteer's own page shows: a fixed number of queries, however long the
    history (the volunteer and balance come with ``volunteer_of``)."""
    now = now or timezone.now()
    team_ids = Membership.objects.filter(volunteer=volunteer, left_on__isnull=True).values(
        "team_id"
    )
    membership = Membership.objects.filter(
        team=OuterRef("pk"), volunteer=volunteer, left_on__isnull=True
    )
    teams = list(
        Team.objects.filter(Q(pk__in=team_ids) | Q(leader=volunteer))
        .select_related("leader__resident")
        .annotate(
            my_membership=Subquery(membership.values("pk")[:1]),
            my_thanks_name=Subquery(
                membership.filter(thanks_consent=True).values("thanks_name")[:1]
            ),
        )
        .order_by("name", "id")
    )
    mine = Attendance.objects.filter(volunteer=volunteer)
    upcoming = list(
        Activity.objects.filter(team__in=[team.pk for team in teams], ends_at__gte=now)
        .select_related("team")
        .prefetch_related(Prefetch("attendances", queryset=mine, to_attr="my_attendance"))
        .order_by("starts_at", "id")[:RECENT]
    )
    return VolunteerPage(
        volunteer=volunteer,
        teams=teams,
        upcoming=upcoming,
        ledger=list(
            # What the page shows of a row: the activity's title or the exchange, not who
            # recorded it (fewer joins to build and read on every visit).
            HoursEntry.objects.filter(volunteer=volunteer)
            .select_related("attendance__activity", "exchange")
            .order_by("-created", "-id")[:RECENT]
        ),
        exchanges=list(exchanges_of(volunteer)[:RECENT]),
        years=service_years(volunteer, today=timezone.localdate(now)),
    )


def public_teams_of(community: Community) -> QuerySet[Team]:
    """The teams a resident may ask to join from the community's public page."""
    return Team.objects.filter(community=community).order_by("name", "id")


def has_teams() -> Exists:
    """Whether the community (the outer query's row) has volunteer teams: an annotation."""
    return Exists(Team.objects.filter(community=OuterRef("pk")))


def join_requests_waiting(team: Team) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.filter(team=team, status=JoinRequest.Status.PENDING).order_by(
        "created", "id"
    )


def join_request_for(user: User, pk: int) -> JoinRequest:
    """A waiting or answered request to join a team the user sees; 404 for anyone else's."""
    return get_object_or_404(
        JoinRequest.objects.filter(team__in=teams_visible_to(user)).select_related(
            "team__community"
        ),
        pk=pk,
    )


@dataclass(frozen=True)
class Thanked:
    team: str
    names: list[str]


def thanked_in(community: Community, start: dt.datetime, end: dt.datetime) -> list[Thanked]:
    """Per team, the names volunteers chose to be thanked by, of those whose service in an
    activity starting between ``start`` and ``end`` was confirmed: one query. Only the
    shown name leaves the database; nobody who did not consent is read."""
    consented = Membership.objects.filter(
        team=OuterRef("activity__team"),
        volunteer=OuterRef("volunteer"),
        left_on__isnull=True,
        thanks_consent=True,
    ).exclude(thanks_name="")
    rows = (
        Attendance.objects.filter(
            activity__team__community=community,
            activity__starts_at__gte=start,
            activity__starts_at__lt=end,
            confirmed_at__isnull=False,
            credited_minutes__gt=0,
        )
        .annotate(shown=Subquery(consented.values("thanks_name")[:1]))
        .filter(shown__isnull=False)
        .order_by("activity__team__name", "shown")
        .values_list("activity__team__name", "shown")
        .distinct()
    )
    teams: dict[str, list[str]] = {}
    for team, name in rows:
        teams.setdefault(team, []).append(name)
    return [Thanked(team=team, names=names) for team, names in teams.items()]
