"""The figures of the community and street dashboards and of the period reports.

What each figure counts, for a period (local dates, both ends included) and a set of
communities the reader may see:

- **collected**: issues reported in the period; the breakdowns by category (the
  must-deliberate ones first), channel and handling tier, and **still open** and
  **overdue** (open, past their due date today) count those same issues.
- **resolved**: issues whose resolution falls in the period and still stands (a reopen
  clears it), whenever they were reported; **days to resolution** (median and 90th
  percentile, continuous, to one decimal) are from report to that resolution.
- **follow-up figures**: of the issues collected, those with a follow-up review (not
  called off), reviewed, rated, rated satisfied (4–5) and reopened by their review, and
  rated by a rating staff recorded (told in person or on the phone). Those ratings count
  in the satisfied share like the residents' own, as on every page of figures
  (``issues.figures``), and their number is shown apart. Each counts issues, so a figure
  equals the inbox it links to.
- **meetings**: the councils' meetings starting in the period, held, still scheduled and
  cancelled; **attendance** per member is the held meetings of the period they signed in
  at, out of those held while they were on the council.
- **departments** (street): escalations assigned in the period, handled, overdue (assigned,
  past the deadline) and the median days from assignment to handling.

Every issue figure comes with the URL of the inbox filtered to exactly the issues it
counts (for readers who have an inbox). Everything is read in a fixed number of queries,
however many issues, communities or months: the issue and department figures of whole
months from the monthly roll-up (``issues.rollup``, still open and overdue included: it
keeps each open issue's first due day), those of a month the period cuts (a custom range)
from the rows, three queries for each (four on a street's).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from urllib.parse import urlencode

from django.db.models import (
    Count,
    Q,
    Sum,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from common.periods import Period
from deliberation.models import Attendance, Meeting
from issues import rollup
from issues.figures import (
    SECONDS_PER_DAY,
    Share,
    one_decimal,
)
from issues.models import Category, Escalation, FollowUpReview, Issue
from issues.queries import review_conditions
from members.models import Community, CouncilMember, Department, Street

REVIEW_KINDS = ("any", "reviewed", "rated", "satisfied", "reopened", "rated_by_staff")


@dataclass(frozen=True)
class Tally:
    """One line of a breakdown: what, how many, and the inbox listing them."""

    key: str
    label: str
    count: int
    url: str | None = None
    must_deliberate: bool = False


@dataclass(frozen=True)
class MonthRow:
    month: dt.date
    label: str
    collected: int
    resolved: int
    collected_url: str | None = None
    resolved_url: str | None = None


@dataclass
class IssueFigures:
    collected: int = 0
    resolved: int = 0
    still_open: int = 0
    overdue: int = 0
    # Residents who said "me too" on the period's issues instead of reporting them again.
    also_reported: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    reviews: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REVIEW_KINDS, 0))

    @property
    def reviewed_share(self) -> Share:
        return Share(self.reviews["reviewed"], self.reviews["any"])

    @property
    def satisfied_share(self) -> Share:
        return Share(self.reviews["satisfied"], self.reviews["rated"])

    @property
    def reopened_share(self) -> Share:
        return Share(self.reviews["reopened"], self.reviews["reviewed"])


@dataclass
class MeetingFigures:
    held: int = 0
    scheduled: int = 0
    cancelled: int = 0

    @property
    def planned(self) -> int:
        return self.held + self.scheduled + self.cancelled

    @property
    def held_share(self) -> Share:
        return Share(self.held, self.planned)


@dataclass
class CommunityRow:
    community: Community
    issues: IssueFigures
    meetings: MeetingFigures
    url: str | None = None


@dataclass(frozen=True)
class AttendanceRow:
    member: CouncilMember
    attended: int
    eligible: int

    @property
    def share(self) -> Share:
        return Share(self.attended, self.eligible)


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    assigned: int
    handled: int
    overdue: int
    median_days: float | None


@dataclass
class Dashboard:
    period: Period
    totals: IssueFigures
    meetings: MeetingFigures
    months: list[MonthRow]
    categories: list[Tally]
    channels: list[Tally]
    tiers: list[Tally]
    links: dict[str, str | None]
    communities: list[CommunityRow]
    attendance: list[AttendanceRow] = field(default_factory=list)
    departments: list[DepartmentRow] = field(default_factory=list)
    export_query: str = ""

    @property
    def breakdowns(self) -> list[tuple[str, str, list[Tally]]]:
        return [
            (_("By category"), "categories", self.categories),
            (_("By channel"), "channels", self.channels),
            (_("By handling level"), "tiers", self.tiers),
        ]

    def chart_json(self) -> str:
        """chart_data as JSON, for an attribute: htmx drops scripts from swapped content."""
        return json.dumps(self.chart_data(), ensure_ascii=False)

    def chart_data(self) -> dict:
        """What the browser's charts draw: the same numbers as the tables."""
        return {
            "months": [row.label for row in self.months],
            "collected": [row.collected for row in self.months],
            "resolved": [row.resolved for row in self.months],
            "categories": _pairs(self.categories),
            "channels": _pairs(self.channels),
            "tiers": _pairs(self.tiers),
            "names": {"collected": _("Collected"), "resolved": _("Resolved")},
        }


def _pairs(tallies: list[Tally]) -> list[dict]:
    return [{"name": t.label, "value": t.count} for t in tallies if t.count]


class InboxLinks:
    """URLs of the inbox filtered to what one figure counts; None for readers with no inbox."""

    def __init__(
        self, period: Period, *, community: int | None = None, street: int | None = None,
        enabled: bool = True,
    ) -> None:  # fmt: skip
        self.period = period
        self.scope = {"community": community} if community else {"street": street}
        self.enabled = enabled
        self._inbox = ""  # the inbox's path, reversed once: a dashboard makes ~100 links

    def collected(self, *, since=None, until=None, **filters) -> str | None:
        return self._url(
            since=(since or self.period.since).isoformat(),
            until=(until or self.period.until).isoformat(),
            **filters,
        )

    def resolved(self, *, since=None, until=None) -> str | None:
        return self._url(
            resolved_since=(since or self.period.since).isoformat(),
            resolved_until=(until or self.period.until).isoformat(),
        )

    def query(self, **params) -> str:
        """The inbox's query string for the issues collected (exports take the same)."""
        return urlencode(
            {
                **{k: v for k, v in self.scope.items() if v},
                "since": self.period.since.isoformat(),
                "until": self.period.until.isoformat(),
                **params,
            }
        )

    def _url(self, **params) -> str | None:
        if not self.enabled:
            return None
        query = {**{k: v for k, v in self.scope.items() if v}, **params}
        self._inbox = self._inbox or reverse("issues:inbox")
        return self._inbox + "?" + urlencode(query)


def dashboard(
    communities: list[Community],
    period: Period,
    *,
    links: InboxLinks,
    today: dt.date | None = None,
    street: Street | None = None,
    with_attendance: bool = False,
) -> Dashboard:
    """The figures of these communities (already checked as the reader's) for the period."""
    today = today or timezone.localdate()
    ids = [community.pk for community in communities]
    issues = Issue.objects.filter(community_id__in=ids).order_by()
    collected = issues.filter(created__gte=period.start, created__lt=period.end)

    by_community: dict[int, IssueFigures] = defaultdict(IssueFigures)
    totals = IssueFigures()
    breakdown = {"category": Counter(), "channel": Counter(), "tier": Counter()}
    collected_by_month: dict[dt.date, int] = defaultdict(int)
    resolved_by_month: dict[dt.date, int] = defaultdict(int)
    durations: dict[int, list[Sequence[int]]] = defaultdict(list)  # sorted runs per community
    for (community_id, month), figures in _month_figures(rollup.ISSUES, ids, period).items():
        overdue = figures.overdue(today)
        for counted in (by_community[community_id], totals):
            counted.collected += figures.collected
            counted.resolved += figures.resolved
            counted.still_open += figures.still_open
            counted.overdue += overdue
        collected_by_month[month] += figures.collected
        resolved_by_month[month] += figures.resolved
        breakdown["category"].update(figures.categories)
        breakdown["channel"].update(figures.channels)
        breakdown["tier"].update(figures.tiers)
        durations[community_id].append(figures.resolution_seconds)
    for community_id, runs in durations.items():
        figures = by_community[community_id]
        figures.median_days, figures.p90_days = _median_p90_seconds(runs)
    totals.median_days, totals.p90_days = _median_p90_seconds(
        list(chain.from_iterable(durations.values()))
    )

    for community_id, also in (
        collected.filter(supporter_count__gt=0)
        .values_list("community_id")
        .annotate(n=Sum("supporter_count"))
    ):
        for figures in (by_community[community_id], totals):
            figures.also_reported += also

    months = period.months()
    conditions = review_conditions()
    review_counts = (
        FollowUpReview.objects.filter(
            issue__community_id__in=ids,
            issue__created__gte=period.start,
            issue__created__lt=period.end,
        )
        .exclude(state=FollowUpReview.State.CANCELLED)
        .order_by()
        .values_list("issue__community_id")
        .annotate(
            **{
                f"n_{kind}": Count("issue", distinct=True, filter=conditions[kind])
                for kind in REVIEW_KINDS
            }
        )
    )
    for community_id, *numbers in review_counts:
        for kind, n in zip(REVIEW_KINDS, numbers, strict=True):
            by_community[community_id].reviews[kind] = n
            totals.reviews[kind] += n

    meetings_by_community: dict[int, MeetingFigures] = defaultdict(MeetingFigures)
    meeting_totals = MeetingFigures()
    for community_id, state, n in (
        Meeting.objects.filter(
            council__community_id__in=ids, starts_at__gte=period.start, starts_at__lt=period.end
        )
        .order_by()
        .values_list("council__community_id", "state")
        .annotate(n=Count("pk"))
    ):
        for figures in (meetings_by_community[community_id], meeting_totals):
            setattr(figures, state, getattr(figures, state) + n)

    month_rows = []
    for month in months:
        first, last = period.clamp(month)
        month_rows.append(
            MonthRow(
                month=month,
                label=date_format(month, "YEAR_MONTH_FORMAT"),
                collected=collected_by_month.get(month, 0),
                resolved=resolved_by_month.get(month, 0),
                collected_url=links.collected(since=first, until=last),
                resolved_url=links.resolved(since=first, until=last),
            )
        )

    return Dashboard(
        period=period,
        totals=totals,
        meetings=meeting_totals,
        months=month_rows,
        categories=_category_tallies(ids, breakdown["category"], links),
        channels=[
            Tally(
                value,
                str(label),
                breakdown["channel"].get(value, 0),
                links.collected(channel=value),
            )
            for value, label in Issue.Channel.choices
        ],
        tiers=[
            Tally(value, str(label), breakdown["tier"].get(value, 0), links.collected(tier=value))
            for value, label in Issue.Tier.choices
        ],
        links={
            "collected": links.collected(),
            "resolved": links.resolved(),
            "still_open": links.collected(state="open"),
            "overdue": links.collected(overdue="on"),
            **{f"review_{kind}": links.collected(review=kind) for kind in REVIEW_KINDS},
        },
        communities=[
            CommunityRow(
                community=community,
                issues=by_community[community.pk],
                meetings=meetings_by_community[community.pk],
            )
            for community in communities
        ],
        attendance=_attendance(communities[0], period) if with_attendance else [],
        departments=_departments(street, period, today) if street else [],
        export_query=links.query(),
    )


def month_windows(
    period: Period, now: dt.datetime | None = None
) -> tuple[list[dt.date], list[tuple[dt.date, dt.datetime, dt.datetime]]]:
    """The period's whole months, and (month, start, end) of each month it cuts: at most
    its first and its last.

    A month runs to its end or to now, whichever comes first: nothing is reported or
    resolved later than now, so "this month" is whole.
    """
    now = now or timezone.now()
    whole, cut = [], []
    for month in period.months():
        first, after = rollup.month_bounds(month)
        start, end = max(first, period.start), min(after, period.end)
        if start == first and end >= min(after, now):
            whole.append(month)
        else:
            cut.append((month, start, end))
    return whole, cut


def _month_figures(
    kind: rollup.Rollup, owner_ids: list[int], period: Period
) -> dict[tuple[int, dt.date], object]:
    """The figures per owner (community or department) and month of the period: whole months
    as kept in the roll-up (one query), the part of a month the period cuts read from the
    rows themselves (for each: two queries for issues, one for escalations)."""
    whole, cut = month_windows(period)
    figures = rollup.stored(kind, owner_ids, whole)
    for month, start, end in cut:
        for owner_id, counted in kind.count(owner_ids, start, end, None).items():
            figures[(owner_id, month)] = counted
    return figures


def _median_p90_seconds(runs: list) -> tuple[float | None, float | None]:
    """Median and 90th percentile in days of durations in seconds, given as sorted runs."""
    return tuple(
        None if value is None else one_decimal(value / SECONDS_PER_DAY)
        for value in (rollup.percentile(runs, 0.5), rollup.percentile(runs, 0.9))
    )


def _category_tallies(
    community_ids: list[int], counts: dict[int, int], links: InboxLinks
) -> list[Tally]:
    """The categories of these communities' streets, the must-deliberate ones first.

    Categories no longer in use still show while issues of the period have them.
    """
    categories = Category.objects.filter(
        street__communities__pk__in=community_ids
    ).distinct().order_by("-must_deliberate", "street_id", "position", "id")  # fmt: skip
    return [
        Tally(
            str(category.pk),
            category.label,
            counts.get(category.pk, 0),
            links.collected(category=category.pk),
            must_deliberate=category.must_deliberate,
        )
        for category in categories
        if category.is_active or counts.get(category.pk)
    ]


# --- Meetings: attendance per member --------------------------------------------------------


def _attendance(community: Community, period: Period) -> list[AttendanceRow]:
    """Each member on the council during the period: held meetings attended / eligible."""
    members = list(
        CouncilMember.objects.filter(council__community=community, joined_on__lte=period.until)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=period.since))
        .select_related("resident")
        .order_by("resident__name", "pk")
    )
    held = dict(
        Meeting.objects.filter(
            council__community=community,
            state=Meeting.State.HELD,
            starts_at__gte=period.start,
            starts_at__lt=period.end,
        ).values_list("pk", "starts_at")
    )
    held_days = {pk: timezone.localtime(starts).date() for pk, starts in held.items()}
    present = set(
        Attendance.objects.filter(meeting_id__in=list(held_days)).values_list(
            "meeting_id", "member_id"
        )
    )
    rows = []
    for member in members:
        eligible = [
            pk
            for pk, day in held_days.items()
            if member.joined_on <= day and (member.left_on is None or member.left_on > day)
        ]
        attended = sum(1 for pk in eligible if (pk, member.pk) in present)
        rows.append(AttendanceRow(member=member, attended=attended, eligible=len(eligible)))
    return rows


# --- The street's departments ------------------------------------------------------------


def _departments(street: Street, period: Period, today: dt.date) -> list[DepartmentRow]:
    """Each department of the street, with the escalations assigned to it in the period."""
    departments = list(Department.objects.filter(street=street).order_by("name", "pk"))
    ids = [department.pk for department in departments]
    assigned: dict[int, int] = defaultdict(int)
    handled: dict[int, int] = defaultdict(int)
    durations: dict[int, list[Sequence[int]]] = defaultdict(list)
    for (department_id, _month), figures in _month_figures(rollup.DEPARTMENTS, ids, period).items():
        assigned[department_id] += figures.assigned
        handled[department_id] += figures.handled
        durations[department_id].append(figures.handling_seconds)
    # Overdue depends on today: read live, from the index of escalations still with their
    # department (escalation_with_department).
    overdue = dict(
        Escalation.objects.filter(
            street=street,
            department__isnull=False,
            state=Escalation.State.ACCEPTED,
            deadline__lt=today,
            decided_at__gte=period.start,
            decided_at__lt=period.end,
        )
        .order_by()
        .values_list("department_id")
        .annotate(n=Count("*"))
    )
    return [
        DepartmentRow(
            department,
            assigned[department.pk],
            handled[department.pk],
            overdue.get(department.pk, 0),
            median_days=_median_p90_seconds(durations[department.pk])[0],
        )
        for department in departments
    ]


# --- Sorting the street's comparison --------------------------------------------------------

SORTS = {
    "name": lambda row: row.community.name,
    "collected": lambda row: row.issues.collected,
    "resolved": lambda row: row.issues.resolved,
    "open": lambda row: row.issues.still_open,
    "overdue": lambda row: row.issues.overdue,
    "median": lambda row: _none_last(row.issues.median_days),
    "reviewed": lambda row: _none_last(row.issues.reviewed_share.percent),
    "satisfied": lambda row: _none_last(row.issues.satisfied_share.percent),
    "meetings": lambda row: row.meetings.held,
}


def _none_last(value: float | None) -> tuple[bool, float]:
    return (value is None, value or 0)


def sorted_rows(rows: list[CommunityRow], sort: str) -> tuple[list[CommunityRow], str]:
    """The rows by ``sort`` (a column, ``-`` first for descending); unknown sorts by name."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        return sorted(rows, key=SORTS["name"]), "name"
    ordered = sorted(rows, key=SORTS[key], reverse=descending)
    if descending and key in ("median", "reviewed", "satisfied"):
        # Rows with no figure stay last whichever way the column is sorted.
        ordered = [r for r in ordered if SORTS[key](r)[0] is False] + [
            r for r in ordered if SORTS[key](r)[0] is True
        ]
    return ordered, sort
