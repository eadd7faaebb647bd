"""Reads of meetings, always as seen by the acting user."""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from deliberation import permissions
from deliberation.joint_councils import (
    community_ids_at,
    council_ids_at,
    councils_at,
)
from deliberation.models import (
    AgendaItem,
    Attendance,
    Decision,
    JointCouncil,
    JointCouncilChange,
    Meeting,
    MeetingGuest,
    PartyTask,
)
from issues.models import Issue
from members.models import Council, CouncilMember, OutsideUnit, Role, Street, User
from members.queries import (
    ROLE_ORDER,
    communities_visible_to,
    council_members_of,
    scope_of,
)

PAST_MEETINGS_SHOWN = 20
# The "add an issue" list on a meeting page: enough for a community's open matters.
AGENDA_CANDIDATES_SHOWN = 200


def meetings_visible_to(user: User) -> QuerySet[Meeting]:
    """Meetings of the councils of the communities the user's roles cover.

    An account with no role there (a cadre sent down) sees the meetings it is invited to,
    and nothing else.
    """
    if user.is_authenticated and scope_of(user).is_empty:
        return Meeting.objects.filter(pk__in=guest_meeting_ids(user))
    communities = communities_visible_to(user)
    # A joint meeting is seen from every council at it: a subquery, so no row comes twice.
    joined_here = JointCouncil.objects.filter(council__community__in=communities).values(
        "meeting_id"
    )
    return Meeting.objects.filter(Q(council__community__in=communities) | Q(pk__in=joined_here))


# --- Joint meetings (联席会议) --------------------------------------------------------------


def joint_council_log(meeting: Meeting) -> list[JointCouncilChange]:
    """Who joined which council to the meeting, or took it off, and when; latest first."""
    return list(
        JointCouncilChange.objects.filter(meeting=meeting)
        .select_related("council", "actor")
        .order_by("-at", "-id")
    )


def joinable_councils(user: User, meeting: Meeting) -> list[Council]:
    """The councils the user may join to the meeting: of the communities they are staff of,
    and of the communities of the streets they administer in the host's street."""
    scope = scope_of(user)
    street_id = meeting.council.community.street_id
    return list(
        Council.objects.filter(
            Q(community_id__in=scope.staff_community_ids)
            | Q(community__street_id__in=scope.admin_street_ids & {street_id})
        )
        .exclude(pk=meeting.council_id)
        .select_related("community")
        .order_by("community__name", "pk")
    )


def street_councils(street: Street) -> list[Council]:
    """The councils of the street's communities (the caller checked the user administers it)."""
    return list(
        Council.objects.filter(community__street=street)
        .select_related("community")
        .order_by("community__name", "pk")
    )


def joint_meetings_of_street(street: Street, *, now: dt.datetime) -> list[Meeting]:
    """The street's joint meetings from today on, soonest first, each with its councils
    (``joined``), in two queries whatever their number."""
    joint = JointCouncil.objects.values("meeting_id")
    meetings = list(
        Meeting.objects.filter(
            council__community__street=street,
            pk__in=joint,
            starts_at__gte=_start_of_day(now),
        )
        .select_related("council")
        .prefetch_related(
            Prefetch(
                "joint_councils",
                queryset=JointCouncil.objects.select_related("council").order_by("id"),
            )
        )
        .order_by("starts_at", "id")[:PAST_MEETINGS_SHOWN]
    )
    for meeting in meetings:
        meeting.joined = [row.council for row in meeting.joint_councils.all()]
    return meetings


def guest_meeting_ids(user: User) -> QuerySet:
    """The ids of the meetings the account is invited to as a guest."""
    return MeetingGuest.objects.filter(user=user).values("meeting_id")


def guest_issue_ids(user: User) -> QuerySet:
    """The ids of the matters on the agendas of the meetings the account is invited to."""
    return AgendaItem.objects.filter(
        meeting_id__in=guest_meeting_ids(user), issue__isnull=False, removed_at__isnull=True
    ).values("issue_id")


def guests_of(meeting: Meeting) -> list[MeetingGuest]:
    """The meeting's outside parties, units first, each with its unit or account."""
    return list(
        meeting.guests.select_related("unit", "user").order_by(
            F("unit_id").asc(nulls_last=True), "id"
        )
    )


def guest_at(meeting: Meeting, pk: int) -> MeetingGuest:
    """A guest of this meeting; 404 for anyone else's."""
    return get_object_or_404(
        MeetingGuest.objects.select_related("unit", "user", "meeting"), meeting=meeting, pk=pk
    )


def party_tasks_of(meeting: Meeting) -> QuerySet[PartyTask]:
    """The work the meeting's decisions gave its outside parties, with each party."""
    return PartyTask.objects.filter(decision__item__meeting=meeting).select_related(
        "guest__unit", "guest__user"
    )


def own_guest_row(user: User, guests: list[MeetingGuest]) -> MeetingGuest | None:
    """The user's own invitation among the meeting's guests, if they are one."""
    return next((guest for guest in guests if guest.user_id == user.pk), None)


def cadre_named(username: str) -> User | None:
    """The active account of that name with no role of its own (a cadre sent down)."""
    return (
        User.objects.filter(username=username, is_active=True, roles__isnull=True)
        .order_by("id")
        .first()
    )


def invitable_units(meeting: Meeting, guests: list[MeetingGuest]) -> list:
    """The units of the meeting's communities (the host's, and a joint meeting's joined
    ones) not yet invited to the meeting."""
    invited = {guest.unit_id for guest in guests}
    units = OutsideUnit.objects.filter(community_id__in=community_ids_at(meeting)).order_by(
        "name", "id"
    )
    return [unit for unit in units if unit.pk not in invited]


def unit_at(meeting: Meeting, pk: int) -> OutsideUnit:
    """A unit of one of the meeting's communities; 404 for anyone else's."""
    return get_object_or_404(OutsideUnit, community_id__in=community_ids_at(meeting), pk=pk)


def voting_guests_present(meeting: Meeting) -> int:
    """Guests given a vote who have signed in: they count in a vote, never in the quorum."""
    return MeetingGuest.objects.filter(
        meeting=meeting, may_vote=True, signed_in_at__isnull=False
    ).count()


def upcoming_meetings(
    user: User, council: Council, *, now: dt.datetime | None = None
) -> QuerySet[Meeting]:
    """The council's scheduled meetings from now on, soonest first; none for an outsider."""
    return (
        meetings_visible_to(user)
        .filter(
            council=council,
            state=Meeting.State.SCHEDULED,
            starts_at__gte=now or timezone.now(),
        )
        .select_related("council")
        .order_by("starts_at", "id")
    )


def meeting_for(user: User, pk: int) -> Meeting:
    return get_object_or_404(
        meetings_visible_to(user).select_related("council__community__street", "ended_by"), pk=pk
    )


def meeting_lists(user: User, *, now: dt.datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) meetings the user may see: all upcoming, the latest past ones."""
    now = now or timezone.now()
    # Today's meeting stays "upcoming" while it runs.
    start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    meetings = (
        meetings_visible_to(user)
        .select_related("council__community")
        .annotate(item_count=live_item_count())
    )
    upcoming = list(meetings.filter(starts_at__gte=start_of_today).order_by("starts_at", "id"))
    past = list(
        meetings.filter(starts_at__lt=start_of_today).order_by("-starts_at", "-id")[
            :PAST_MEETINGS_SHOWN
        ]
    )
    return upcoming, past


def live_item_count() -> Count:
    return Count("agenda_items", filter=Q(agenda_items__removed_at__isnull=True))


def agenda_of(meeting: Meeting) -> QuerySet[AgendaItem]:
    """The meeting's items (not those taken off) with issue, category and decision, in one query."""
    return (
        meeting.agenda_items.filter(removed_at__isnull=True)
        .select_related("issue__category", "decision__decided_by")
        .order_by("position", "id")
    )


def agenda_item_for(meeting: Meeting, pk: int) -> AgendaItem:
    return get_object_or_404(agenda_of(meeting), pk=pk)


def item_of(meeting: Meeting, pk: int) -> AgendaItem:
    """One of the meeting's items, on the agenda or taken off; 404 for another meeting's."""
    return get_object_or_404(AgendaItem.objects.select_related("issue"), meeting=meeting, pk=pk)


def removed_items_of(meeting: Meeting) -> QuerySet[AgendaItem]:
    """The items taken off the agenda, latest first, with where a deferred one went."""
    return (
        meeting.agenda_items.filter(removed_at__isnull=False)
        .select_related("issue", "moved_to", "removed_by")
        .order_by("-removed_at", "-id")
    )


def next_meeting_after(meeting: Meeting) -> Meeting | None:
    """The council's next scheduled meeting, where a deferred item goes."""
    return (
        Meeting.objects.filter(
            council_id=meeting.council_id,
            state=Meeting.State.SCHEDULED,
            starts_at__gt=meeting.starts_at,
        )
        .order_by("starts_at", "id")
        .first()
    )


def agenda_candidates(meeting: Meeting, *, now: dt.datetime | None = None) -> list[Issue]:
    """Open issues of the council's community that staff may add to this agenda, in one query.

    Those awaiting deliberation first, then the other open ones; urgent and
    must-deliberate before the rest, oldest first. Each carries ``waiting_at``: the
    start of another upcoming meeting whose agenda holds it undecided (adding it
    here moves it), or None.
    """
    start_of_today = _start_of_day(now or timezone.now())
    live_here = AgendaItem.objects.filter(
        meeting=meeting, issue_id=OuterRef("pk"), removed_at__isnull=True
    )
    waiting_elsewhere = (
        AgendaItem.objects.filter(
            issue_id=OuterRef("pk"),
            removed_at__isnull=True,
            decision__isnull=True,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gte=start_of_today,
        )
        .exclude(meeting=meeting)
        .order_by("meeting__starts_at")
        .values("meeting__starts_at")[:1]
    )
    awaiting_first = Case(
        When(status=Issue.Status.AWAITING, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(
        Issue.objects.filter(
            community_id__in=community_ids_at(meeting), status__in=Issue.OPEN_STATUSES
        )
        .filter(~Exists(live_here))
        .annotate(
            awaiting_first=awaiting_first,
            waiting_at=Subquery(waiting_elsewhere),
            community_name=F("community__name"),
        )
        .order_by("awaiting_first", "-is_urgent", "-category__must_deliberate", "created", "id")
        .only("pk", "title", "status", "is_urgent", "community_id")[:AGENDA_CANDIDATES_SHOWN]
    )


def _start_of_day(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def attendances_of(meeting: Meeting) -> QuerySet[Attendance]:
    return meeting.attendances.select_related("member__resident", "member__council").order_by(
        "signed_in_at", "id"
    )


def active_members_of(meeting: Meeting) -> list[CouncilMember]:
    """The active members of every council at the meeting, each person once.

    A resident who sits on two of the councils keeps the seat of the first (the host's
    before a joined one's): they sign in once and count once towards the quorum.
    """
    councils = councils_at(meeting)
    if len(councils) == 1:
        return list(council_members_of(meeting.council))
    order = {council.pk: index for index, council in enumerate(councils)}
    terms = CouncilMember.objects.filter(council_id__in=order, left_on__isnull=True).select_related(
        "resident", "council"
    )
    seats: dict[int, CouncilMember] = {}
    for term in sorted(terms, key=lambda t: (order[t.council_id], t.pk)):
        seats.setdefault(term.resident_id, term)
    ranked = {role: index for index, role in enumerate(ROLE_ORDER)}
    return sorted(
        seats.values(),
        key=lambda t: (
            order[t.council_id],
            ranked.get(t.role, len(ROLE_ORDER)),
            t.resident.name,
            t.pk,
        ),
    )


def member_at(meeting: Meeting, pk: int) -> CouncilMember:
    """A member (current or former) of a council at the meeting; 404 for anyone else's."""
    return get_object_or_404(
        CouncilMember.objects.select_related("resident"),
        council_id__in=council_ids_at(meeting),
        pk=pk,
    )


# --- Sign-in, quorum and what an item can decide ----------------------------------------


def sign_in_opens_at(meeting: Meeting) -> dt.datetime:
    """From when members can sign in: the council's hours before the start (default 2)."""
    return meeting.starts_at - dt.timedelta(hours=meeting.council.sign_in_opens_hours)


def sign_in_open(meeting: Meeting, *, now: dt.datetime | None = None) -> bool:
    """Whether signing in is open now: from its opening until the meeting is closed."""
    return meeting.state == Meeting.State.SCHEDULED and (now or timezone.now()) >= sign_in_opens_at(
        meeting
    )


def quorum(meeting: Meeting) -> tuple[int, int, bool]:
    """(present, needed, reached): more than the council's quorum ratio of its active members.

    At a joint meeting the active members of every council count (each person once,
    ``active_members_of``), against the host council's ratio.

    With the default ratio of 0.5, 10 active members need 6 present, 9 need 5.
    A ratio of 1 needs every active member. A council without members never
    has a quorum. Only members still active count as present.
    """
    members = active_members_of(meeting)
    present = Attendance.objects.filter(
        meeting=meeting, member_id__in=[member.pk for member in members]
    ).count()
    return (present, *quorum_needed(len(members), meeting.council.quorum_ratio, present))


def quorum_needed(active: int, ratio, present: int) -> tuple[int, bool]:
    """How many of ``active`` members must be present, and whether ``present`` reach it."""
    needed = min(active, math.floor(active * ratio) + 1)
    return needed, active > 0 and present >= needed


REVIEW_OUTCOMES = {
    Decision.Outcome.REVIEW_EFFECTIVE: "effective",
    Decision.Outcome.REVIEW_NOT_EFFECTIVE: "not_effective",
}
# What the council may decide on a follow-up review item: the review's outcome, or later.
REVIEW_ITEM_OUTCOMES = {*REVIEW_OUTCOMES, Decision.Outcome.DEFER}


def outcomes_for(kind: str) -> list[tuple[str, str]]:
    """The decisions an agenda item of ``kind`` can take, as choices."""
    allowed = REVIEW_ITEM_OUTCOMES if kind == AgendaItem.Kind.REVIEW else (
        set(Decision.Outcome.values) - set(REVIEW_OUTCOMES)
    )  # fmt: skip
    return [(value, label) for value, label in Decision.Outcome.choices if value in allowed]


# --- Who is told, and what a notice says -------------------------------------------------


def notice_context(meeting: Meeting) -> dict[str, object]:
    """What every notice about a meeting says: whose, when and where."""
    return {
        # A joint meeting's notice names every council at it.
        "council": "、".join(council.name for council in councils_at(meeting)),
        "when": local_time(meeting.starts_at),
        "place": meeting.place,
        "meeting_id": meeting.pk,
    }


def local_time(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def meeting_member_accounts(meeting: Meeting) -> list[User]:
    """The active accounts of the current members of every council at the meeting, each once."""
    return list(
        User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member__council_id__in=council_ids_at(meeting),
            roles__council_member__left_on__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )


def council_member_accounts(council_id: int, *, role: str | None = None) -> list[User]:
    """The active accounts of the council's current members (only those in ``role``, if given)."""
    terms = {"roles__council_member__role": role} if role else {}
    return list(
        User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member__council_id=council_id,
            roles__council_member__left_on__isnull=True,
            **terms,
        )
        .distinct()
        .order_by("pk")
    )


def _covers(text: str, name: str) -> bool:
    return bool(name) and name in text


def local_leaders(issue: Issue, council_id: int) -> list[CouncilMember]:
    """The council's current lane and building leaders and party-member households near the issue.

    A leader matches when the lane or building they cover is the reporter's, or
    its name appears in the issue's place. A party-member household without a
    covered lane or building matches by where its resident lives.
    """
    reporter = issue.reporter
    lane = reporter.lane if reporter else ""
    building = reporter.building if reporter else ""
    place = issue.place or ""

    def matches(lane_name: str, building_name: str) -> bool:
        return bool(
            (lane_name and lane_name == lane)
            or (building_name and building_name == building)
            or _covers(place, lane_name)
            or _covers(place, building_name)
        )

    found = []
    terms = CouncilMember.objects.filter(
        Q(is_lane_leader=True) | Q(is_building_leader=True) | Q(is_party_household=True),
        council_id=council_id,
        left_on__isnull=True,
    ).select_related("resident")
    for term in terms.order_by("pk"):
        lane_name = term.covers_lane if term.is_lane_leader or term.is_party_household else ""
        building_name = (
            term.covers_building if term.is_building_leader or term.is_party_household else ""
        )
        if term.is_party_household and not (lane_name or building_name):
            lane_name, building_name = term.resident.lane, term.resident.building
        if matches(lane_name, building_name):
            found.append(term)
    return found


def urgent_recipients(issue: Issue, council_id: int) -> list[User]:
    """Every current member's account plus the matching local leaders', each once."""
    leaders = [term.pk for term in local_leaders(issue, council_id)]
    accounts = {user.pk: user for user in council_member_accounts(council_id)}
    if leaders:
        for user in User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member_id__in=leaders,
        ).distinct():
            accounts.setdefault(user.pk, user)
    return [accounts[pk] for pk in sorted(accounts)]


# --- A council member's own meetings --------------------------------------------------------


def current_terms_of(user: User) -> list[CouncilMember]:
    """The user's current terms on councils, each with its council; no query without any."""
    return list(
        permissions.terms_held_by(user).select_related("council").order_by("council_id", "pk")
    )


def meetings_of_member(user: User, terms: list[CouncilMember]) -> QuerySet[Meeting]:
    """Meetings of the councils of ``terms`` since each term began.

    Each carries ``item_count`` (items on its agenda) and ``signed_in_at`` (when the
    member signed in there, or None), so a list of them is one query.
    """
    if not terms:
        return Meeting.objects.none()
    since = Q()
    for term in terms:
        joined = dt.datetime.combine(
            term.joined_on, dt.time(), tzinfo=timezone.get_default_timezone()
        )
        joint = JointCouncil.objects.filter(council_id=term.council_id).values("meeting_id")
        since |= Q(council_id=term.council_id, starts_at__gte=joined)
        since |= Q(pk__in=joint, starts_at__gte=joined)
    own = Attendance.objects.filter(
        meeting=OuterRef("pk"), member_id__in=[term.pk for term in terms]
    ).order_by("signed_in_at")
    return (
        meetings_visible_to(user)
        .filter(since)
        .select_related("council")
        .annotate(
            item_count=live_item_count(),
            signed_in_at=Subquery(own.values("signed_in_at")[:1]),
        )
    )


class MyMeetings(NamedTuple):
    """A council member's meetings, each under its own heading."""

    terms: list[CouncilMember]
    # Scheduled from today on, soonest first; today's stays here until it is closed.
    upcoming: list[Meeting]
    # Closed, or of a day gone by (started and past), latest first.
    held: list[Meeting]
    # Called off, latest first.
    cancelled: list[Meeting]


def my_meetings(user: User, *, now: dt.datetime | None = None) -> MyMeetings:
    """A council member's meetings: every coming one, and the latest past ones, by state.

    Two queries of meetings whatever their number: those from today on, and the latest
    ``PAST_MEETINGS_SHOWN`` before today; each is sorted under its heading here.
    """
    terms = current_terms_of(user)
    if not terms:
        return MyMeetings([], [], [], [])
    meetings = meetings_of_member(user, terms)
    start_of_today = _start_of_day(now or timezone.now())
    coming = list(meetings.filter(starts_at__gte=start_of_today).order_by("starts_at", "id"))
    past = list(
        meetings.filter(starts_at__lt=start_of_today).order_by("-starts_at", "-id")[
            :PAST_MEETINGS_SHOWN
        ]
    )
    held_today = [m for m in reversed(coming) if m.state == Meeting.State.HELD]
    return MyMeetings(
        terms=terms,
        upcoming=[m for m in coming if m.state == Meeting.State.SCHEDULED],
        held=held_today + [m for m in past if m.state != Meeting.State.CANCELLED],
        cancelled=[m for m in reversed(coming) if m.state == Meeting.State.CANCELLED]
        + [m for m in past if m.state == Meeting.State.CANCELLED],
    )


def my_meeting(user: User, pk: int) -> Meeting:
    """One of the member's meetings as ``my_meetings`` lists it; 404 for any other."""
    return get_object_or_404(meetings_of_member(user, current_terms_of(user)), pk=pk)
