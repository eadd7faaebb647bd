"""Satisfaction figures of follow-up reviews (回头议) and residents' ratings (评单).

What each figure counts, per community and for a set of communities (a street):

- **resolved issues**: follow-up reviews not cancelled. Each is one resolution that stood
  until its review; a matter reopened before its review cancels the review, so it is not
  counted, and a matter resolved twice counts twice.
- **reviewed share**: reviews done / resolved issues.
- **satisfied share**: ratings of 4 or 5 (满意, 非常满意) / ratings, counting the ratings of
  those same reviews (a rating of a review cancelled later is not counted).
- **rated by staff**: those ratings that staff recorded as told in person or on the phone
  (``Rating.source``), shown beside the satisfied share. They count in it, since they are
  residents' answers too (a reporter with no phone is asked at the review), but a reader
  sees how many of the ratings did not come from the resident's own link.
- **reopened share**: done reviews that reopened the matter / done reviews.
- **median days from resolution to review**: the median of (finished_at − resolved_at) in
  days over done reviews, to one decimal. A set of communities takes the median over all
  its reviews, not a median of the communities' medians.

A share whose denominator is 0 has no percentage (pages show "—").

Everything is read in a constant number of queries, however many reviews or communities:
one grouped query of conditional counts, and one query for the medians (PostgreSQL's
``PERCENTILE_CONT``; on SQLite, one query of the dates and the medians in Python). As every
read here, it takes the acting user and counts only communities that user may see.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import NotSupportedError, connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Extract

from issues.models import FollowUpReview, Rating
from members.models import Community, User
from members.queries import communities_visible_to

R = FollowUpReview.State
SECONDS_PER_DAY = 86400


class Percentile(Aggregate):
    """The continuous percentile of an expression: ``Percentile(days, 0.9)`` is the 90th.

    PostgreSQL's ordered-set aggregate ``PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY
    expression)``, interpolating between the two nearest values (so ``0.5`` is the median
    as usually defined). SQLite has no such aggregate: use ``percentile_cont`` on the
    values instead, which gives the same result.
    """

    function = "PERCENTILE_CONT"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    window_compatible = False

    def __init__(self, expression, fraction: float, **extra) -> None:
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"a percentile's fraction is between 0 and 1, not {fraction!r}")
        # A float checked above, written into the SQL as a literal: nothing from outside.
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        raise NotSupportedError("SQLite has no PERCENTILE_CONT: use figures.percentile_cont.")


def percentile_cont(values: Iterable[float], fraction: float) -> float | None:
    """What ``PERCENTILE_CONT(fraction)`` gives for these values; None for none."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def days_between(start: str, end: str):
    """The days from one date-time field to another, as PostgreSQL computes them."""
    return (
        Cast(
            Extract(ExpressionWrapper(F(end) - F(start), output_field=DurationField()), "epoch"),
            FloatField(),
        )
        / SECONDS_PER_DAY
    )


# The days from the resolution to the end of its review.
REVIEW_DAYS = days_between("resolved_at", "finished_at")


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``; no percentage when there is no whole."""

    part: int
    whole: int

    @property
    def percent(self) -> int | None:
        if not self.whole:
            return None
        return (200 * self.part + self.whole) // (2 * self.whole)  # rounded half up


@dataclass(frozen=True)
class ReviewFigures:
    """The figures of one community or a set of them (definitions in the module docstring)."""

    resolved: int = 0
    reviewed: int = 0
    reopened: int = 0
    rated: int = 0
    satisfied: int = 0
    rated_by_staff: int = 0
    median_days: float | None = None

    @property
    def reviewed_share(self) -> Share:
        return Share(self.reviewed, self.resolved)

    @property
    def satisfied_share(self) -> Share:
        return Share(self.satisfied, self.rated)

    @property
    def reopened_share(self) -> Share:
        return Share(self.reopened, self.reviewed)


class FiguresByCommunity(dict):
    """Figures by community id; a community with no review has figures of zero."""

    def __missing__(self, community_id: int) -> ReviewFigures:
        return ReviewFigures()


CommunitiesArg = QuerySet[Community] | Iterable[int]
# ReviewFigures' counts, in the order of its fields.
COUNTS = ("resolved", "reviewed", "reopened", "rated", "satisfied", "rated_by_staff")


def _counts() -> dict[str, Count]:
    """ReviewFigures' counts over reviews not cancelled, by name (definitions above)."""
    return {
        "resolved": Count("pk"),
        "reviewed": Count("pk", filter=Q(state=R.DONE)),
        "reopened": Count("pk", filter=Q(state=R.DONE, result=FollowUpReview.Result.REOPENED)),
        "rated": Count("rating"),
        "satisfied": Count("rating", filter=Q(rating__satisfaction__gte=Rating.SATISFIED_FROM)),
        "rated_by_staff": Count("rating", filter=Q(rating__source__in=Rating.RECORDED_BY_STAFF)),
    }


def review_figures(user: User, communities: CommunitiesArg) -> dict[int, ReviewFigures]:
    """Each of these communities' figures, as far as ``user`` may see them: two queries."""
    by_community, _total = _figures(user, communities, with_total=False)
    return by_community


def review_figures_with_total(
    user: User, communities: CommunitiesArg
) -> tuple[dict[int, ReviewFigures], ReviewFigures]:
    """Each community's figures and those of all of them together, in the same two queries."""
    return _figures(user, communities, with_total=True)


def _reviews(user: User, communities: CommunitiesArg) -> QuerySet[FollowUpReview]:
    """The reviews that count (not cancelled) in those of the communities the user may see."""
    visible = communities_visible_to(user)
    if isinstance(communities, QuerySet):
        visible = visible.filter(pk__in=communities.values("pk"))
    else:
        visible = visible.filter(pk__in=list(communities))
    return (
        FollowUpReview.objects.filter(issue__community__in=visible.values("pk"))
        .exclude(state=R.CANCELLED)
        .order_by()
    )


def _figures(
    user: User, communities: CommunitiesArg, *, with_total: bool
) -> tuple[dict[int, ReviewFigures], ReviewFigures]:
    reviews = _reviews(user, communities)
    done = reviews.filter(state=R.DONE)
    counts = (
        reviews.values("issue__community_id")
        .annotate(**_counts())
        .values_list("issue__community_id", *COUNTS)
    )
    medians, total_median = _medians(done, with_total=with_total)
    by_community = FiguresByCommunity()
    sums = [0] * len(COUNTS)
    for community_id, *numbers in counts:
        by_community[community_id] = ReviewFigures(*numbers, median_days=medians.get(community_id))
        sums = [a + b for a, b in zip(sums, numbers, strict=True)]
    return by_community, ReviewFigures(*sums, median_days=total_median)


def _medians(
    done: QuerySet[FollowUpReview], *, with_total: bool
) -> tuple[dict[int, float], float | None]:
    """The median days per community, and over all of them when asked: one query."""
    if connection.vendor == "postgresql":
        rows = done.values(community=F("issue__community_id")).annotate(
            median=Percentile(REVIEW_DAYS, 0.5)
        )
        if with_total:
            # The same aggregate over every row (grouped by a constant, so not grouped at all)
            # as one more row with no community.
            everything = (
                done.annotate(community=Value(None, output_field=IntegerField()))
                .values("community")
                .annotate(median=Percentile(REVIEW_DAYS, 0.5))
            )
            rows = rows.union(everything, all=True)
        medians = {row["community"]: one_decimal(row["median"]) for row in rows}
        return medians, medians.pop(None, None)
    days: dict[int, list[float]] = {}
    for community_id, resolved_at, finished_at in done.values_list(
        "issue__community_id", "resolved_at", "finished_at"
    ):
        days.setdefault(community_id, []).append(_days(finished_at - resolved_at))
    medians = {cid: one_decimal(percentile_cont(values, 0.5)) for cid, values in days.items()}
    total = None
    if with_total:
        total = one_decimal(percentile_cont([d for values in days.values() for d in values], 0.5))
    return medians, total


def _days(duration: dt.timedelta) -> float:
    return duration.total_seconds() / SECONDS_PER_DAY


def one_decimal(days: float | None) -> float | None:
    return None if days is None else round(days, 1)


def community_review_figures(community: Community) -> ReviewFigures:
    """One community's figures for its public transparency page: two queries.

    Not scoped by a user: the page has no reader account, and only numbers leave here.
    The caller decides that the community publishes them.
    """
    reviews = (
        FollowUpReview.objects.filter(issue__community_id=community.pk)
        .exclude(state=R.CANCELLED)
        .order_by()
    )
    counts = reviews.aggregate(**_counts())
    medians, _total = _medians(reviews.filter(state=R.DONE), with_total=False)
    return ReviewFigures(*(counts[name] for name in COUNTS), median_days=medians.get(community.pk))
