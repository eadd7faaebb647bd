"""Reads of issues, always as seen by the acting user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.paging import Page, keyset_page, ordered_after
from common.periods import local_midnight
from issues import extensions, permissions, search
from issues.models import (
    Category,
    Escalation,
    Event,
    FollowUpReview,
    Issue,
    IssueCount,
    PairCount,
    Photo,
    Rating,
    ReplyTemplate,
    TaskReport,
)
from members.models import (
    Community,
    CouncilMember,
    Department,
    ExportRecord,
    Resident,
    Role,
    Street,
    User,
)
from members.permissions import LEADING_ROLES
from members.queries import communities_visible_to, scope_of


def issues_visible_to(user: User) -> QuerySet[Issue]:
    """Issues of the communities the user's roles cover, plus those sent to their department."""
    scope = scope_of(user)
    if scope.is_empty:
        # A cadre sent down sees the matters on the meetings it is invited to.
        invited = extensions.guest_issue_ids(user) if user.is_authenticated else None
        return Issue.objects.none() if invited is None else Issue.objects.filter(pk__in=invited)
    condition = Q(community__in=communities_visible_to(user))
    if scope.department_ids:
        condition |= Q(
            pk__in=Escalation.objects.filter(department_id__in=scope.department_ids).values(
                "issue_id"
            )
        )
    return Issue.objects.filter(condition)


def issue_for(user: User, pk: int) -> Issue:
    return get_object_or_404(
        issues_visible_to(user).select_related(
            "community__street", "category", "reporter", "entered_by", "assigned_staff",
            "assigned_department",
        ),
        pk=pk,
    )  # fmt: skip


def issue_page(user: User, pk: int) -> Issue:
    """The issue for its page, in one statement with what decides whether the page's other
    parts need a statement at all (``latest_review_pk``, ``has_pending_task``,
    ``has_assigned_members``, and the facts apps above ask for through
    ``extensions.issue_page_facts``) and the names the page shows of the people and
    department it points to (``reporter_name``, ``reporter_phone``, ``entered_by_name``,
    ``assigned_staff_name``, ``assigned_department_name``).

    The names are subqueries rather than joins: joined, those four optional rows made the
    planner weigh every join order, 3 ms of planning on each page against 0.5 ms."""
    issue = OuterRef("pk")
    reviews = FollowUpReview.objects.filter(issue=issue).exclude(
        state=FollowUpReview.State.CANCELLED
    )
    reporter = Resident.objects.filter(pk=OuterRef("reporter_id"))
    facts = {
        "latest_review_pk": Subquery(reviews.order_by("-created", "-id").values("pk")[:1]),
        "has_pending_task": Exists(
            TaskReport.objects.filter(issue=issue, state=TaskReport.State.PENDING)
        ),
        "has_assigned_members": Exists(
            Issue.assigned_members.through.objects.filter(issue_id=issue)
        ),
        "reporter_name": Subquery(reporter.values("name")),
        "reporter_phone": Subquery(reporter.values("phone")),
        "entered_by_name": _user_name(OuterRef("entered_by_id")),
        "assigned_staff_name": _user_name(OuterRef("assigned_staff_id")),
        "assigned_department_name": Subquery(
            Department.objects.filter(pk=OuterRef("assigned_department_id")).values("name")
        ),
        **extensions.issue_page_facts(),
    }
    return get_object_or_404(
        issues_visible_to(user).select_related("community__street", "category").annotate(**facts),
        pk=pk,
    )


def _user_name(pk: OuterRef) -> Subquery:
    """What ``str(user)`` shows: the display name, or the username without one."""
    shown = Coalesce(NullIf("display_name", Value("")), "username")
    return Subquery(User.objects.filter(pk=pk).values(name=shown))


def timeline(issue: Issue, *, public_only: bool = False) -> QuerySet[Event]:
    events = issue.events.select_related("actor").order_by("created", "id")
    return events.filter(is_public=True) if public_only else events


def photos_of(issue: Issue) -> QuerySet[Photo]:
    return issue.photos.order_by("created", "id")


def photo_for(user: User, issue_pk: int, photo_pk: int) -> Photo:
    issue = get_object_or_404(issues_visible_to(user), pk=issue_pk)
    return get_object_or_404(Photo, issue=issue, pk=photo_pk)


def categories_for(community: Community) -> QuerySet[Category]:
    return Category.objects.filter(street_id=community.street_id, is_active=True).order_by(
        "position", "id"
    )


def categories_of_street(user: User, street: Street) -> QuerySet[Category]:
    permissions.require_manage_categories(user, street)
    return Category.objects.filter(street=street).order_by("position", "id")


# --- Inbox ------------------------------------------------------------------------------


@dataclass
class InboxFilters:
    status: str = ""
    category: int | None = None
    tier: str = ""
    channel: str = ""
    community: int | None = None
    street: int | None = None
    state: str = ""
    overdue: bool = False
    mine: bool = False
    since: dt.date | None = None
    until: dt.date | None = None
    resolved_since: dt.date | None = None
    resolved_until: dt.date | None = None
    review: str = ""
    q: str = ""
    extra: dict = field(default_factory=dict)


def inbox(user: User, filters: InboxFilters) -> QuerySet[Issue]:
    """The issues a user's inbox lists, filtered, newest first (keyset on created, id)."""
    issues = _filtered(user, filters)
    if filters.status:
        issues = issues.filter(status=filters.status)
    return issues.select_related("community", "category").order_by("-created", "-id")


# A count the counters cannot answer stops here: "1,000+", with a link to count exactly.
COUNT_CAP = 1000

# The filters the counts per community and status answer; any other needs the issues.
_COUNTER_FILTERS = frozenset({"status", "community", "street", "state"})


@dataclass
class StatusCounts:
    """The inbox's counts per status for its filters (any status).

    ``capped``: more than ``total`` issues match and the counts per status are unknown (a
    bounded count stopped at the cap); ``exact`` says the figures are a full count.
    """

    by_status: dict[str, int]
    total: int
    capped: bool = False
    exact: bool = True

    def matching(self, status: str) -> int | None:
        """How many issues match with this status (any: ""), when the figures say."""
        if not self.exact:
            return None
        return self.by_status.get(status, 0) if status else self.total

    def _totalled(self) -> StatusCounts:
        self.total = sum(self.by_status.values())
        return self


INBOX_KEYS = ("-created", "-id")
# How many of the newest issues (of the other filters) a search reads before it asks the
# index instead: a word in one issue of fifty fills a page of 30 within them.
SEARCH_WALK = 2000


def inbox_page(
    user: User,
    filters: InboxFilters,
    *,
    cursor: str = "",
    size: int,
    communities: Iterable[Community] | None = None,
    categories: Iterable[Category] | None = None,
    matches: int | None = None,
) -> Page:
    """One page of the inbox after ``cursor``, newest first.

    A search for a common word (电梯 is in one issue of nine) matches tens of thousands of
    issues; the index lookup finds and sorts them all before the page can start. So on
    PostgreSQL a search first walks the newest ``SEARCH_WALK`` issues the other filters
    keep, checking the words on each: a common word fills the page there. Only when it does
    not (a rare word, a narrow filter) does the index lookup run, which is fast for exactly
    those. Both give the same rows: the walk covers a prefix of the order, so the first
    ``size`` matches in it are the first ones overall.

    ``matches``: how many issues the filters match, when the caller has counted them
    (``status_counts``). None match: no page is read. A search matching at most
    ``COUNT_CAP`` (a rare word, a narrow filter) goes to the index lookup at once: the walk
    would not fill the page.

    ``communities`` and ``categories``: lists the caller has read already (the inbox's
    filter form has both); the rows take their community and category from them instead
    of joining them again, and only those missing are read.
    """
    if matches == 0:
        return Page(rows=[], next_cursor=None)
    walk = matches is None or matches > COUNT_CAP
    page = _inbox_page(
        user, filters, cursor=cursor, size=size, joined=communities is None, walk=walk
    )
    if communities is not None:
        _attach(page.rows, "community", Community, communities)
        _attach(page.rows, "category", Category, categories or [])
    return page


def _attach(rows: list[Issue], name: str, model: type, known: Iterable) -> None:
    by_pk = {row.pk: row for row in known}
    missing = {getattr(row, f"{name}_id") for row in rows} - by_pk.keys()
    if missing:
        by_pk.update((row.pk, row) for row in model.objects.filter(pk__in=missing))
    for row in rows:
        setattr(row, name, by_pk[getattr(row, f"{name}_id")])


def _inbox_page(
    user: User, filters: InboxFilters, *, cursor: str, size: int, joined: bool, walk: bool
) -> Page:
    def listed(issues: QuerySet[Issue]) -> QuerySet[Issue]:
        return issues if joined else issues.select_related(None)

    walk = walk and filters.q and not filters.mine and search.searchable(filters.q)
    if walk and connection.vendor == "postgresql":
        # The walk's end: the SEARCH_WALK-th newest issue the user sees after the cursor, as
        # a literal date, so the planner sees how few rows the walk covers and reads them
        # down the newest-first index. (Not of the other filters: a narrow one would put
        # that issue far back; the index lookup serves a narrow filter better.)
        edge = (
            ordered_after(issues_visible_to(user), keys=INBOX_KEYS, cursor=cursor)
            .values_list("created", flat=True)[SEARCH_WALK - 1 : SEARCH_WALK]
            .first()
        )
        if edge is not None:
            others = inbox(user, replace(filters, q=""))
            walked = keyset_page(
                listed(others.filter(created__gte=edge).filter(search.substring(filters.q))),
                keys=INBOX_KEYS, cursor=cursor, size=size,
            )  # fmt: skip
            if walked.next_cursor is not None:
                return walked
    return keyset_page(listed(inbox(user, filters)), keys=INBOX_KEYS, cursor=cursor, size=size)


def status_counts(user: User, filters: InboxFilters, *, exact: bool = False) -> StatusCounts:
    """Counts per status for the same filters (but any status), in one statement.

    From the counts kept per community and status (``issues.rollup``), or per community,
    category, status and character pair for a search of one two-character word, when the
    filters are only those they answer; otherwise counted up to ``COUNT_CAP`` unless
    ``exact``, so a search of a longer word or a wide date range does not read every
    visible issue.
    """
    kept = _kept_rows(user, filters)
    if kept is not None:
        return _kept_counts(kept, filters)
    if exact:
        return StatusCounts(_grouped_counts(user, filters), 0)._totalled()
    # Ids and statuses of at most COUNT_CAP + 1 matching issues, in no order: the scan
    # stops there. (The pk keeps "mine"'s DISTINCT from folding issues of one status.)
    rows = list(_filtered(user, filters).order_by().values_list("pk", "status")[: COUNT_CAP + 1])
    if len(rows) > COUNT_CAP:
        return StatusCounts({}, COUNT_CAP, capped=True, exact=False)
    by_status: dict[str, int] = {}
    for _pk, status in rows:
        by_status[status] = by_status.get(status, 0) + 1
    return StatusCounts(by_status, len(rows))


def _kept_rows(user: User, filters: InboxFilters) -> QuerySet | None:
    """The kept counts that answer these filters, or None when they cannot."""
    asked = {name for name, value in vars(filters).items() if value and name != "extra"}
    pair = search.counted_pair(filters.q) if filters.q else None
    if pair:
        rows = PairCount.objects.filter(pair=pair)
        answered = _COUNTER_FILTERS | {"category", "q"}
    else:
        rows = IssueCount.objects.all()
        answered = _COUNTER_FILTERS
    if asked - answered or filters.extra:
        return None
    # A department handler also sees matters of other communities escalated to them, a
    # guest the matters of their meetings: neither is a whole community's count.
    scope = scope_of(user)
    if scope.is_empty or scope.department_ids:
        return None
    return rows.filter(community__in=communities_visible_to(user))


def _kept_counts(rows: QuerySet, filters: InboxFilters) -> StatusCounts:
    rows = rows.filter(n__gt=0)
    if filters.community:
        rows = rows.filter(community_id=filters.community)
    if filters.street:
        rows = rows.filter(community__street_id=filters.street)
    if filters.category:
        rows = rows.filter(category_id=filters.category)
    if filters.state == "open":
        rows = rows.filter(status__in=Issue.OPEN_STATUSES)
    summed = rows.order_by().values("status").annotate(total=Sum("n"))
    return StatusCounts({row["status"]: row["total"] for row in summed}, 0)._totalled()


def _grouped_counts(user: User, filters: InboxFilters) -> dict[str, int]:
    # distinct only for "mine", which joins assigned members (one issue, several rows):
    # COUNT(DISTINCT) sorts every row; COUNT(*) is answered from the issue_status index.
    counted = Count("pk", distinct=True) if filters.mine else Count("*")
    rows = _filtered(user, filters).order_by().values("status").annotate(n=counted)
    return {row["status"]: row["n"] for row in rows}


def _filtered(user: User, filters: InboxFilters) -> QuerySet[Issue]:
    issues = issues_visible_to(user)
    if filters.category:
        issues = issues.filter(category_id=filters.category)
    if filters.tier:
        issues = issues.filter(tier=filters.tier)
    if filters.channel:
        issues = issues.filter(channel=filters.channel)
    if filters.community:
        issues = issues.filter(community_id=filters.community)
    if filters.street:
        issues = issues.filter(community__street_id=filters.street)
    if filters.state == "open":
        issues = issues.filter(status__in=Issue.OPEN_STATUSES)
    if filters.overdue:
        issues = issues.filter(Issue.overdue_q(timezone.localdate()))
    if filters.mine:
        issues = issues.filter(
            Q(assigned_staff=user) | Q(assigned_members__roles__user=user) | Q(entered_by=user)
        ).distinct()
    # Local days as ranges of instants (not ``__date``), so the indexes on the dates serve.
    if filters.since:
        issues = issues.filter(created__gte=local_midnight(filters.since))
    if filters.until:
        issues = issues.filter(created__lt=local_midnight(filters.until + dt.timedelta(days=1)))
    if filters.resolved_since:
        issues = issues.filter(resolved_at__gte=local_midnight(filters.resolved_since))
    if filters.resolved_until:
        next_day = filters.resolved_until + dt.timedelta(days=1)
        issues = issues.filter(resolved_at__lt=local_midnight(next_day))
    if filters.review:
        issues = issues.filter(
            Exists(reviews_matching(filters.review).filter(issue=OuterRef("pk")))
        )
    if filters.q:
        issues = search.matching(issues, filters.q)
    return issues


def review_conditions() -> dict[str, Q]:
    """The inbox's review filters as conditions on a follow-up review (not called off).

    The dashboards count issues with a review meeting one of these, so their figures and
    the inbox they link to agree by construction.
    """
    done = Q(state=FollowUpReview.State.DONE)
    return {
        "any": Q(),
        "reviewed": done,
        "rated": Q(rating__isnull=False),
        "satisfied": Q(rating__satisfaction__gte=Rating.SATISFIED_FROM),
        "rated_by_staff": Q(rating__source__in=Rating.RECORDED_BY_STAFF),
        "reopened": done & Q(result=FollowUpReview.Result.REOPENED),
    }


def reviews_matching(kind: str) -> QuerySet[FollowUpReview]:
    reviews = FollowUpReview.objects.exclude(state=FollowUpReview.State.CANCELLED)
    return reviews.filter(review_conditions()[kind])


def reported_or_assigned(user: User) -> QuerySet[Issue]:
    """A council member's own issues: what they reported and what they were assigned."""
    return (
        issues_visible_to(user)
        .filter(Q(entered_by=user) | Q(assigned_members__roles__user=user))
        .distinct()
        .select_related("category")
        .order_by("-created", "-id")
    )


# --- Council members' own tasks --------------------------------------------------------
#
# A task is a matter the council solves itself (handled at the council tier) with council
# members assigned to it; it is open while the matter is, and waits for confirmation while
# a member's report that it is done has no answer yet (issues.actions.tasks).

TASK_EVENT_KINDS = (
    Event.Kind.TASK_PROGRESS,
    Event.Kind.TASK_DONE,
    Event.Kind.TASK_CONFIRMED,
    Event.Kind.TASK_RETURNED,
)

Assignment = Issue.assigned_members.through


def _has_assignees() -> Exists:
    return Exists(Assignment.objects.filter(issue_id=OuterRef("pk")))


def _waiting() -> Exists:
    return Exists(
        TaskReport.objects.filter(issue_id=OuterRef("pk"), state=TaskReport.State.PENDING)
    )


def _open_tasks() -> QuerySet[Issue]:
    return Issue.objects.filter(tier=Issue.Tier.COUNCIL, status__in=Issue.OPEN_STATUSES)


def member_tasks(user: User) -> QuerySet[Issue]:
    """The open tasks of the council member ``user``: soonest due first, each with whether it
    waits for confirmation and, when the last report was returned, why (one query)."""
    member_ids = scope_of(user).council_member_ids
    if not member_ids:
        return Issue.objects.none()
    last_report = TaskReport.objects.filter(issue_id=OuterRef("pk")).order_by("-created", "-id")
    mine = Assignment.objects.filter(issue_id=OuterRef("pk"), councilmember_id__in=member_ids)
    return (
        _open_tasks()
        .filter(Exists(mine), community__in=communities_visible_to(user))
        .annotate(
            waiting=_waiting(),
            last_report_state=Subquery(last_report.values("state")[:1]),
            returned_reason=Subquery(last_report.values("return_reason")[:1]),
        )
        .select_related("community", "category")
        .order_by(F("due_on").asc(nulls_last=True), "created", "id")
    )


def member_tasks_open_count(user: User) -> int:
    """How many of the member's tasks wait for them (not reported done): one query, none for
    someone who is on no council."""
    if not scope_of(user).council_member_ids:
        return 0
    return member_tasks(user).filter(~_waiting()).count()


def tasks_to_confirm(user: User) -> QuerySet[Issue]:
    """Tasks reported done that ``user`` may confirm or return: those of the communities they
    are staff of or whose council they lead, oldest report first (one query)."""
    scope = scope_of(user)
    led = CouncilMember.objects.filter(
        pk__in=scope.council_member_ids,
        left_on__isnull=True,
        role__in=LEADING_ROLES,
    ).values("council__community_id")
    if not scope.staff_community_ids and not scope.council_member_ids:
        return Issue.objects.none()
    pending = TaskReport.objects.filter(issue_id=OuterRef("pk"), state=TaskReport.State.PENDING)
    return (
        _open_tasks()
        .filter(Q(community_id__in=scope.staff_community_ids) | Q(community_id__in=led))
        .filter(_waiting())
        .annotate(reported_at=Subquery(pending.values("created")[:1]))
        .select_related("community", "category")
        .order_by("reported_at", "id")
    )


def task_for(user: User, pk: int) -> Issue:
    """A task the user may see (a matter they see, with council members assigned); 404
    otherwise. A matter since resolved or sent up a tier still shows its task, closed."""
    return get_object_or_404(
        issues_visible_to(user)
        .filter(_has_assignees())
        .select_related("community__street", "category"),
        pk=pk,
    )


def task_assignees(issue: Issue) -> list[CouncilMember]:
    return list(issue.assigned_members.select_related("resident").order_by("resident__name", "id"))


def task_timeline(issue: Issue) -> list[Event]:
    """The task's own events (progress, done, confirmed, returned), newest first, each with
    the photos it was posted with as ``task_photos``: two queries."""
    events = list(
        issue.events.filter(kind__in=TASK_EVENT_KINDS)
        .select_related("actor")
        .order_by("-created", "-id")
    )
    wanted = {pk for event in events for pk in event.data.get("photos", [])}
    photos = {p.pk: p for p in Photo.objects.filter(issue=issue, pk__in=wanted)} if wanted else {}
    for event in events:
        event.task_photos = [photos[pk] for pk in event.data.get("photos", []) if pk in photos]
    return events


def task_last_report(issue: Issue) -> TaskReport | None:
    return (
        issue.task_reports.select_related("reported_by", "decided_by")
        .order_by("-created", "-id")
        .first()
    )


def overdue_task_ids(today: dt.date) -> list[int]:
    """Open tasks past their due date that nobody has reported done yet."""
    return list(
        _open_tasks()
        .filter(_has_assignees(), ~_waiting(), due_on__lt=today)
        .order_by("due_on", "id")
        .values_list("pk", flat=True)
    )


# --- Escalations -----------------------------------------------------------------------


def escalations_for_street(user: User, street: Street, *, state: str = "") -> QuerySet[Escalation]:
    permissions.require_see_street_queue(user, street)
    escalations = Escalation.objects.filter(street=street)
    if state:
        escalations = escalations.filter(state=state)
    else:
        escalations = escalations.filter(state__in=Escalation.OPEN_STATES)
    return escalations.select_related(
        "issue__community", "issue__category", "department", "raised_by"
    ).order_by("created", "id")


def queue_row_from(user: User, escalation: Escalation, *, state: str = "") -> int | None:
    """The row of the street queue (filtered by ``state`` as the queue is) to come back to
    after acting on ``escalation``: itself if it is still listed, else the one after it."""
    rows = Escalation.objects.filter(
        street_id=escalation.street_id, street_id__in=scope_of(user).admin_street_ids
    )
    states = [state] if state else Escalation.OPEN_STATES
    rows = rows.filter(state__in=states)
    later = Q(created__gt=escalation.created) | Q(created=escalation.created, pk__gte=escalation.pk)
    return rows.filter(later).order_by("created", "id").values_list("pk", flat=True).first()


def last_intake_channel(user: User) -> str | None:
    """The channel of the last matter this person typed in for a resident, if any."""
    return (
        Issue.objects.filter(entered_by=user)
        .exclude(channel__in=[Issue.Channel.PUBLIC_FORM, Issue.Channel.VISIT])
        .order_by("-created", "-id")
        .values_list("channel", flat=True)
        .first()
    )


def escalation_for_street_admin(user: User, pk: int) -> Escalation:
    return get_object_or_404(
        Escalation.objects.filter(street_id__in=scope_of(user).admin_street_ids).select_related(
            "issue__community__street", "issue__category", "department"
        ),
        pk=pk,
    )


def escalations_for_department(user: User) -> QuerySet[Escalation]:
    return (
        Escalation.objects.filter(
            department_id__in=scope_of(user).department_ids,
            state__in=[Escalation.State.ACCEPTED, Escalation.State.HANDLED],
        )
        .select_related("issue__community", "issue__category", "department")
        .order_by("deadline", "id")
    )


def escalation_for_handler(user: User, pk: int) -> Escalation:
    return get_object_or_404(
        Escalation.objects.filter(department_id__in=scope_of(user).department_ids).select_related(
            "issue__community", "issue__category", "department"
        ),
        pk=pk,
    )


# --- Who is responsible ----------------------------------------------------------------


def responsible_users(issue: Issue) -> list[User]:
    """The people to tell about an issue at its current tier."""
    if issue.tier == Issue.Tier.DEPARTMENT and issue.assigned_department_id:
        users = User.objects.filter(
            roles__kind=Role.Kind.DEPARTMENT_HANDLER,
            roles__department_id=issue.assigned_department_id,
        )
    elif issue.tier in (Issue.Tier.STREET, Issue.Tier.DEPARTMENT):
        users = User.objects.filter(
            roles__kind=Role.Kind.STREET_ADMIN, roles__street_id=issue.community.street_id
        )
    else:
        assigned = Q(roles__council_member__in=issue.assigned_members.all()) | Q(
            pk=issue.assigned_staff_id
        )
        staff = Q(roles__kind=Role.Kind.COMMUNITY_STAFF, roles__community_id=issue.community_id)
        has_assignee = issue.assigned_staff_id or issue.assigned_members.exists()
        users = User.objects.filter(assigned if has_assignee else staff)
    return list(users.filter(is_active=True).distinct())


def community_staff_of(issue: Issue) -> list[User]:
    return list(
        User.objects.filter(
            roles__kind=Role.Kind.COMMUNITY_STAFF,
            roles__community_id=issue.community_id,
            is_active=True,
        ).distinct()
    )


def street_admins_of(issue: Issue) -> list[User]:
    return list(
        User.objects.filter(
            roles__kind=Role.Kind.STREET_ADMIN,
            roles__street_id=issue.community.street_id,
            is_active=True,
        ).distinct()
    )


def overdue_issue_ids(today: dt.date) -> list[int]:
    return list(
        Issue.objects.filter(Issue.overdue_q(today))
        .order_by("due_on", "id")
        .values_list("pk", flat=True)
    )


def reporter_phone(issue: Issue) -> str:
    """Where the reporter can be reached: the number given with the report, or the resident's."""
    if issue.contact_phone:
        return issue.contact_phone
    reporter = issue.reporter
    if reporter is not None and reporter.is_active:
        return reporter.phone
    return ""


def public_issue(tracking_code: str) -> Issue:
    return get_object_or_404(
        Issue.objects.select_related("community", "category", "reporter"),
        tracking_code=tracking_code.strip().upper(),
    )


def latest_review(issue: Issue) -> FollowUpReview | None:
    """The issue's most recent follow-up review that was not called off, with its rating.

    An issue read by ``issue_page`` knows which one that is, or that there is none."""
    if hasattr(issue, "latest_review_pk"):
        if issue.latest_review_pk is None:
            return None
        return FollowUpReview.objects.select_related("rating").get(pk=issue.latest_review_pk)
    return (
        FollowUpReview.objects.filter(issue=issue)
        .exclude(state=FollowUpReview.State.CANCELLED)
        .select_related("rating")
        .order_by("-created", "-id")
        .first()
    )


# --- Large exports -------------------------------------------------------------------------

EXPORT_JOB_STATES = ("queued", "building", "done", "failed", "expired")


def export_jobs_of(user: User) -> QuerySet[ExportRecord]:
    """The inbox exports a worker built (or builds) for this user, newest first: only the
    person who asked sees a job, staff of the same community included."""
    return ExportRecord.objects.filter(
        actor=user, kind="inbox", status__in=EXPORT_JOB_STATES
    ).order_by("-created", "-id")


def export_job_for(user: User, pk: int) -> ExportRecord:
    """One of the user's own export jobs; 404 for anyone else's."""
    return get_object_or_404(export_jobs_of(user), pk=pk)


# --- Reply templates ----------------------------------------------------------------------


def reply_streets(user: User) -> QuerySet[Street]:
    """The streets whose reply templates the user keeps and uses: their street office, the
    street of the communities they staff, the street of their department."""
    scope = scope_of(user)
    if scope.is_empty:
        return Street.objects.none()
    return Street.objects.filter(
        Q(pk__in=scope.admin_street_ids)
        | Q(communities__pk__in=scope.staff_community_ids)
        | Q(departments__pk__in=scope.department_ids)
    ).distinct()


def reply_street_for(user: User, pk: int) -> Street:
    return get_object_or_404(reply_streets(user), pk=pk)


def reply_templates_of(street: Street, *, active_only: bool = True) -> QuerySet[ReplyTemplate]:
    templates = ReplyTemplate.objects.filter(street=street)
    return templates.filter(is_active=True) if active_only else templates


def reply_template_for(user: User, pk: int) -> ReplyTemplate:
    return get_object_or_404(
        ReplyTemplate.objects.filter(street__in=reply_streets(user)).select_related("street"),
        pk=pk,
    )
