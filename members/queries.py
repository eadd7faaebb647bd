"""Reads of people and places, always as seen by the acting user.

``communities_visible_to`` is the one answer to "which communities may this
user see"; every other query here starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from members.models import (
    Community,
    Council,
    CouncilMember,
    Department,
    Notice,
    OutsideUnit,
    Resident,
    Role,
    Street,
    User,
)

ROLE_ORDER = [CouncilMember.Role.LEADER, CouncilMember.Role.DEPUTY, CouncilMember.Role.MEMBER]


@dataclass(frozen=True)
class Scope:
    """Everything an account's roles grant, read once per request."""

    staff_community_ids: frozenset[int] = field(default_factory=frozenset)
    admin_street_ids: frozenset[int] = field(default_factory=frozenset)
    department_ids: frozenset[int] = field(default_factory=frozenset)
    council_member_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (
            self.staff_community_ids
            or self.admin_street_ids
            or self.department_ids
            or self.council_member_ids
        )


def scope_of(user: User) -> Scope:
    if not user.is_authenticated:
        return Scope()
    cached = getattr(user, "_yishi_scope", None)
    if cached is not None:
        return cached
    buckets: dict[str, set[int]] = {kind: set() for kind in Role.Kind.values}
    rows = Role.objects.filter(user=user).filter(
        Q(council_member__isnull=True) | Q(council_member__left_on__isnull=True)
    )
    for kind, community, street, department, member in rows.values_list(
        "kind", "community_id", "street_id", "department_id", "council_member_id"
    ):
        buckets[kind].add(community or street or department or member)
    scope = Scope(
        staff_community_ids=frozenset(buckets[Role.Kind.COMMUNITY_STAFF]),
        admin_street_ids=frozenset(buckets[Role.Kind.STREET_ADMIN]),
        department_ids=frozenset(buckets[Role.Kind.DEPARTMENT_HANDLER]),
        council_member_ids=frozenset(buckets[Role.Kind.COUNCIL_MEMBER]),
    )
    user._yishi_scope = scope
    return scope


def communities_visible_to(user: User) -> QuerySet[Community]:
    """The communities this user's roles cover; nothing for anyone else."""
    scope = scope_of(user)
    if scope.is_empty:
        return Community.objects.none()
    served = CouncilMember.objects.filter(pk__in=scope.council_member_ids).values(
        "council__community_id"
    )
    return Community.objects.filter(
        Q(pk__in=scope.staff_community_ids)
        | Q(street_id__in=scope.admin_street_ids)
        | Q(pk__in=served)
    )


def community_for(user: User, pk: int) -> Community:
    return get_object_or_404(communities_visible_to(user).select_related("street"), pk=pk)


def residents_of(
    user: User,
    community: Community,
    *,
    search: str = "",
    include_inactive: bool = False,
) -> QuerySet[Resident]:
    """Residents of a community, filtered by a search box.

    The caller has checked that the user may see them (``permissions.may_see_residents``).
    A search of digits matches the tail of the phone number, so staff can find
    a caller by the last four digits without seeing whole numbers.
    """
    residents = Resident.objects.filter(community=community)
    if not include_inactive:
        residents = residents.filter(is_active=True)
    search = search.strip()
    if search:
        match = Q(name__icontains=search) | Q(building__icontains=search)
        match |= Q(lane__icontains=search) | Q(room__icontains=search)
        if search.isdigit():
            match |= Q(phone__endswith=search)
        residents = residents.filter(match)
    return residents.order_by("name", "id")


def resident_for(user: User, community: Community, pk: int) -> Resident:
    """A resident of the community (the caller has checked ``permissions.may_see_residents``)."""
    return get_object_or_404(Resident, community=community, pk=pk)


def council_of(community: Community) -> Council:
    return get_object_or_404(Council, community=community)


def council_members_of(
    council: Council, *, include_former: bool = False
) -> QuerySet[CouncilMember]:
    members = CouncilMember.objects.filter(council=council).select_related("resident")
    if not include_former:
        members = members.filter(left_on__isnull=True)
    rank = Case(
        *(When(role=role, then=Value(position)) for position, role in enumerate(ROLE_ORDER)),
        default=Value(len(ROLE_ORDER)),
    )
    return members.order_by(F("left_on").asc(nulls_first=True), rank, "resident__name", "id")


def council_member_for(user: User, community: Community, pk: int) -> CouncilMember:
    council = council_of(community)
    return get_object_or_404(
        CouncilMember.objects.select_related("resident", "council"), council=council, pk=pk
    )


def streets_administered_by(user: User) -> QuerySet[Street]:
    return Street.objects.filter(pk__in=scope_of(user).admin_street_ids)


def street_for(user: User, pk: int) -> Street:
    return get_object_or_404(streets_administered_by(user), pk=pk)


def communities_with_counts(user: User, street: Street) -> QuerySet[Community]:
    """A street's communities with their active residents and council members, in one query."""
    active_residents = (
        Resident.objects.filter(community=OuterRef("pk"), is_active=True)
        .order_by()
        .values("community")
        .annotate(n=Count("pk"))
        .values("n")
    )
    active_members = (
        CouncilMember.objects.filter(council__community=OuterRef("pk"), left_on__isnull=True)
        .order_by()
        .values("council__community")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        communities_visible_to(user)
        .filter(street=street)
        .annotate(
            resident_count=Coalesce(Subquery(active_residents), 0),
            member_count=Coalesce(Subquery(active_members), 0),
        )
        .order_by("name")
    )


def departments_handled_by(user: User) -> QuerySet[Department]:
    return Department.objects.filter(pk__in=scope_of(user).department_ids).select_related("street")


def current_memberships_of(user: User) -> QuerySet[CouncilMember]:
    return CouncilMember.objects.filter(
        pk__in=scope_of(user).council_member_ids, left_on__isnull=True
    ).select_related("resident", "council__community__street")


def inbox_of(user: User | OuterRef) -> QuerySet[Notice]:
    """The notices the user reads in the app (``OuterRef``: the outer query's user's)."""
    return Notice.objects.filter(
        recipient=user, channel=Notice.Channel.INAPP, status=Notice.Status.SENT
    )


def notice_for(user: User, pk: int) -> Notice:
    """One of the user's own notices, on any channel; 404 for anyone else's."""
    return get_object_or_404(Notice.objects.filter(recipient=user), pk=pk)


# The unread count read with the session's user (``members.backends``).
UNREAD_AT_LOAD = "unread_at_load"


def unread_subquery() -> Coalesce:
    """The unread count of the user of the outer query, as an expression."""
    unread = (
        inbox_of(OuterRef("pk"))
        .filter(read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), 0)


def unread_count(user: User) -> int:
    if not user.is_authenticated:
        return 0
    loaded = getattr(user, UNREAD_AT_LOAD, None)  # (request.user is a lazy proxy)
    if loaded is not None:
        return loaded
    return inbox_of(user).filter(read_at__isnull=True).count()


def forget_unread_count(user: User) -> None:
    """After notices were marked read: the count read with the user is out of date."""
    if getattr(user, UNREAD_AT_LOAD, None) is not None:
        delattr(user, UNREAD_AT_LOAD)


def units_of(community: Community) -> QuerySet[OutsideUnit]:
    """The units based in the community, by name."""
    return OutsideUnit.objects.filter(community=community).order_by("name", "id")


def unit_for(community: Community, pk: int) -> OutsideUnit:
    """One unit of a community the caller already may see; 404 for anyone else's."""
    return get_object_or_404(OutsideUnit, community=community, pk=pk)
