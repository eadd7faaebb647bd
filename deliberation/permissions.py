"""Who may do what with meetings: the one place this domain reads a user's roles.

Whether a user sees a meeting, a council or an issue at all is a read
(``queries.meetings_visible_to`` and the like): an outsider gets 404 before any
question here is asked. These answer the next one, for someone who may see: may
they act? A view that is told no answers 403 (``PermissionDenied``).

- Staff of a community run its council's meetings (sign members in, edit the
  agenda, record decisions, close and cancel), draft their minutes, manage the
  council's schedules and hold the council's calendar feed.
- A council member signs themself in at their council's meetings and holds a
  calendar feed of their own term; the council's leader edits and approves the
  minutes.
- Staff, or the council's leader or deputy, convene an urgent meeting.
"""

from __future__ import annotations

from django.db.models import Case, Q, QuerySet, Value, When

from common.permissions import requirement
from deliberation.joint_councils import council_ids_at, councils_at
from deliberation.models import JointCouncil, Meeting
from issues.models import Issue
from members import permissions as member_permissions
from members.models import Community, Council, CouncilMember, User
from members.queries import scope_of

# --- The roles the other answers are built on ----------------------------------------------


def councils_run_by(user: User) -> QuerySet[Council]:
    """The councils of the communities the user is staff of: whose meetings they run."""
    return Council.objects.filter(community_id__in=scope_of(user).staff_community_ids)


def terms_held_by(user: User) -> QuerySet[CouncilMember]:
    """The user's current terms on councils (none, without a query, for anyone else)."""
    return CouncilMember.objects.filter(
        pk__in=scope_of(user).council_member_ids, left_on__isnull=True
    )


def own_term_at(user: User, meeting: Meeting) -> CouncilMember | None:
    """The user's current term on a council at the meeting: who they sign themself in as.

    At a joint meeting a person on two of its councils signs in with the seat
    ``queries.active_members_of`` gives them (the host's first).
    """
    if not scope_of(user).council_member_ids:
        return None
    # One query: the joined councils as a subquery, unless the page has them already.
    if hasattr(meeting, "_councils_at"):
        at = Q(council_id__in=council_ids_at(meeting))
    else:
        at = Q(council_id=meeting.council_id) | Q(
            council_id__in=JointCouncil.objects.filter(meeting_id=meeting.pk).values("council_id")
        )
    host_first = Case(When(council_id=meeting.council_id, then=Value(0)), default=Value(1))
    return (
        terms_held_by(user).filter(at).select_related("resident").order_by(host_first, "pk").first()
    )


def communities_unseen_at(user: User, meeting: Meeting, *, own_term) -> set[int]:
    """The communities at a joint meeting whose matters the user does not see (their pages
    would answer 404): a joined community's staff see their own community's matters on the
    agenda, not the host's. None for a guest, who sees the matters on the agenda; no query.
    """
    councils = councils_at(meeting)
    scope = scope_of(user)
    if len(councils) == 1 or scope.is_empty:
        return set()
    served = {own_term.council_id} if own_term is not None else set()
    return {
        council.community_id
        for council in councils
        if council.community_id not in scope.staff_community_ids
        and council.community.street_id not in scope.admin_street_ids
        and council.pk not in served
    }


def sees_council(user: User) -> bool:
    """Whether the user's roles show them councils at all: a cadre invited as a guest sees
    the meetings they are invited to, not the council's other pages (its minutes archive)."""
    return not scope_of(user).is_empty


_UNKNOWN = object()


def sees_host_council(user: User, meeting: Meeting, *, own_term=_UNKNOWN) -> bool:
    """Whether the user sees the host council's own pages (its minutes archive): at a joint
    meeting, the joined communities' staff and members see the meeting, not the host council.

    ``own_term``: the user's term at the meeting (``own_term_at``), when the caller has it.
    """
    scope = scope_of(user)
    community = meeting.council.community
    if community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids:
        return True
    if not scope.council_member_ids:
        return False
    term = own_term_at(user, meeting) if own_term is _UNKNOWN else own_term
    return term is not None and term.council_id == meeting.council_id


# --- Running a meeting and editing its agenda ----------------------------------------------


def can_run(user: User, meeting: Meeting) -> bool:
    """Staff of the council's community run its meetings and edit their agendas; at a joint
    meeting, staff of every joined council's community too."""
    staff = scope_of(user).staff_community_ids
    if not staff:
        return False
    if meeting.council.community_id in staff:
        return True
    return any(council.community_id in staff for council in councils_at(meeting))


def can_join_councils(user: User, meeting: Meeting) -> bool:
    """Staff of the host council's community, or an admin of its street, make the meeting
    joint with other councils (which ones: ``queries.joinable_councils``)."""
    scope = scope_of(user)
    return (
        meeting.council.community_id in scope.staff_community_ids
        or meeting.council.community.street_id in scope.admin_street_ids
    )


require_council_joiner = requirement(can_join_councils)


def can_convene_for_street(user: User) -> bool:
    """A street's admin convenes a joint meeting of its communities' councils."""
    return bool(scope_of(user).admin_street_ids)


require_runner = requirement(can_run)


# --- Convening an urgent meeting -----------------------------------------------------------


def can_convene(user: User, issue: Issue) -> bool:
    """Staff of the issue's community, or the current leader or deputy of its council."""
    return member_permissions.may_convene(user, issue.community_id)


# --- Minutes -------------------------------------------------------------------------------


def is_leader(user: User, meeting: Meeting, *, own_term=_UNKNOWN) -> bool:
    """The user's account serves the meeting's (host) council as its current leader: a
    joined council's leader does not approve the host's minutes.

    ``own_term``: the user's term at the meeting (``own_term_at``), when the caller has it.
    """
    term = own_term_at(user, meeting) if own_term is _UNKNOWN else own_term
    return (
        term is not None
        and term.council_id == meeting.council_id
        and term.role == CouncilMember.Role.LEADER
    )


def can_draft_minutes(user: User, meeting: Meeting) -> bool:
    """Staff of the council's community draft the minutes of its meetings."""
    return can_run(user, meeting)


def can_edit_minutes(user: User, meeting: Meeting, *, leader: bool | None = None) -> bool:
    """Staff or the council's leader edit a draft and start a correction.

    ``leader``: whether the user leads the council, when the caller knows already.
    """
    if can_run(user, meeting):
        return True
    return is_leader(user, meeting) if leader is None else leader


def can_approve_minutes(user: User, meeting: Meeting) -> bool:
    """Only the council's leader approves its minutes."""
    return is_leader(user, meeting)


# --- Schedules -----------------------------------------------------------------------------


def can_manage_schedules(user: User, community: Community) -> bool:
    """Staff of the community set when its council meets; members and street admins look."""
    return community.pk in scope_of(user).staff_community_ids


require_schedule_manager = requirement(can_manage_schedules)


# --- Calendar feeds ------------------------------------------------------------------------


def can_hold_council_feed(user: User, council: Council) -> bool:
    """Staff of the council's community subscribe to all its meetings."""
    return council.community_id in scope_of(user).staff_community_ids


def can_hold_member_feed(user: User, member: CouncilMember) -> bool:
    """A member subscribes to the meetings of their own current term."""
    return member.pk in scope_of(user).council_member_ids and member.left_on is None
