"""The quarter's review of a street's visiting teams, and the same figures for a year.

Per team, for a period (a quarter, or a year of four quarters):

- households visited of the target: the targets of the period's rounds, and those visited
  (the teams' tallies of those rounds, kept as targets are written and visited);
- concerns raised: matters taken in from the team's visits dated in the period;
- resolved: those of them with a resolution (``resolved_at`` set);
- median days to resolution: from the matter's creation to its resolution;
- satisfied share: ratings of 4–5 (``Rating.SATISFIED_FROM``) among the ratings of those
  matters, told to staff or given by the link alike;
- overdue: households left in a round whose due date has passed (target less visited).

Every count is a subquery of one statement over the street's teams, and the median days are
read in one more statement: the number of queries does not grow with the teams.
A team is flagged when its visited or satisfied share is below the street's thresholds
(``ReviewThresholds``, 90 % and 80 % unless the street set others) or its round is overdue.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from issues.figures import Share
from issues.models import Rating
from members.models import Street
from visits.models import ReviewThresholds, Round, Tally, Team, VisitConcern

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Span:
    """A quarter or a year: its first and last day, and its rounds."""

    year: int
    quarter: int | None  # None: the whole year

    @property
    def since(self) -> dt.date:
        return dt.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def until(self) -> dt.date:
        if self.quarter is None or self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)

    def rounds(self, street: Street) -> QuerySet[Round]:
        rounds = Round.objects.filter(street=street, year=self.year)
        if self.quarter is not None:
            rounds = rounds.filter(quarter=self.quarter)
        return rounds


@dataclass
class TeamFigures:
    team: Team
    target: int = 0
    visited: int = 0
    overdue_left: int = 0
    raised: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0
    median_days: float | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def visited_share(self) -> Share:
        return Share(self.visited, self.target)

    @property
    def satisfied_share(self) -> Share:
        return Share(self.satisfied, self.rated)

    @property
    def overdue(self) -> bool:
        return self.overdue_left > 0

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def thresholds_of(street: Street) -> ReviewThresholds:
    """The street's thresholds, or the defaults (unsaved) when it has set none."""
    return ReviewThresholds.objects.filter(street=street).first() or ReviewThresholds(street=street)


def _count(queryset: QuerySet, key: str) -> Coalesce:
    """COUNT of ``queryset`` (already tied to the outer team) as a subquery; 0 when none."""
    counted = queryset.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _sum(tallies: QuerySet, expression) -> Coalesce:
    """SUM of ``expression`` over the team's tallies (already tied to the outer team) as a
    subquery; 0 when none."""
    summed = tallies.order_by().values("team").annotate(n=Sum(expression)).values("n")
    return Coalesce(Subquery(summed, output_field=IntegerField()), 0)


def team_figures(
    street: Street, span: Span, *, today: dt.date, thresholds: ReviewThresholds | None = None
) -> list[TeamFigures]:
    """Every team of the street with its figures for the span, flagged against the
    thresholds; three or four queries whatever the number of teams."""
    thresholds = thresholds or thresholds_of(street)
    round_ids = list(span.rounds(street).values_list("pk", flat=True))
    tallies = Tally.objects.filter(team=OuterRef("pk"), round_id__in=round_ids)
    concerns = VisitConcern.objects.filter(
        visit__team=OuterRef("pk"),
        visit__visited_on__gte=span.since,
        visit__visited_on__lte=span.until,
    )
    ratings = Rating.objects.filter(
        review__issue__visit_concern__visit__team=OuterRef("pk"),
        review__issue__visit_concern__visit__visited_on__gte=span.since,
        review__issue__visit_concern__visit__visited_on__lte=span.until,
    )
    team_key = "review__issue__visit_concern__visit__team"
    teams = (
        Team.objects.filter(street=street)
        .select_related("leader")
        .annotate(
            f_target=_sum(tallies, F("target")),
            f_visited=_sum(tallies, F("visited")),
            f_overdue=_sum(tallies.filter(round__due_on__lt=today), F("target") - F("visited")),
            f_raised=_count(concerns, "visit__team"),
            f_resolved=_count(concerns.filter(issue__resolved_at__isnull=False), "visit__team"),
            f_rated=_count(ratings, team_key),
            f_satisfied=_count(ratings.filter(satisfaction__gte=Rating.SATISFIED_FROM), team_key),
        )
        .order_by("name", "id")
    )
    days: dict[int, list[float]] = {}
    for team_id, created, resolved_at in (
        VisitConcern.objects.filter(
            visit__team__street=street,
            visit__visited_on__gte=span.since,
            visit__visited_on__lte=span.until,
            issue__resolved_at__isnull=False,
        )
        .values_list("visit__team_id", "issue__created", "issue__resolved_at")
        .order_by()
    ):
        days.setdefault(team_id, []).append(
            (resolved_at - created).total_seconds() / SECONDS_PER_DAY
        )
    figures = []
    for team in teams:
        row = TeamFigures(
            team=team,
            target=team.f_target,
            visited=team.f_visited,
            overdue_left=team.f_overdue,
            raised=team.f_raised,
            resolved=team.f_resolved,
            rated=team.f_rated,
            satisfied=team.f_satisfied,
            median_days=round(statistics.median(days[team.pk]), 1) if team.pk in days else None,
        )
        row.flags = flags_of(row, thresholds)
        figures.append(row)
    return figures


def flags_of(row: TeamFigures, thresholds: ReviewThresholds) -> list[str]:
    """Why a team is below the street's bar, in words; empty when it is not."""
    flags = []
    visited = row.visited_share.percent
    if visited is not None and visited < thresholds.visited_percent:
        flags.append(
            _("visited %(share)s%% of its households (at least %(bar)s%%)")
            % {"share": visited, "bar": thresholds.visited_percent}
        )
    satisfied = row.satisfied_share.percent
    if satisfied is not None and satisfied < thresholds.satisfied_percent:
        flags.append(
            _("%(share)s%% satisfied ratings (at least %(bar)s%%)")
            % {"share": satisfied, "bar": thresholds.satisfied_percent}
        )
    if row.overdue:
        flags.append(
            _("round overdue: %(left)s households not visited by the due date")
            % {"left": row.overdue_left}
        )
    return flags


@dataclass(frozen=True)
class YearRow:
    team: Team
    quarters: list[TeamFigures]  # four, Q1 to Q4
    year: TeamFigures


def year_figures(street: Street, year: int, *, today: dt.date) -> list[YearRow]:
    """Each team's figures for the four quarters of the year and for the whole year;
    a constant number of queries (five spans of three or four)."""
    thresholds = thresholds_of(street)
    quarters = [
        {row.team.pk: row for row in team_figures(
            street, Span(year, q), today=today, thresholds=thresholds
        )}
        for q in (1, 2, 3, 4)
    ]  # fmt: skip
    whole = team_figures(street, Span(year, None), today=today, thresholds=thresholds)
    return [
        YearRow(
            team=row.team,
            quarters=[q.get(row.team.pk) or TeamFigures(team=row.team) for q in quarters],
            year=row,
        )
        for row in whole
    ]
