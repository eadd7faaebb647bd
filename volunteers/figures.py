"""Volunteer figures for the community and street dashboards, in three queries however
many teams, activities or months:

- **hours per team and month**: the minutes confirmed for the activities that started in
  the period, by team and by the month (local time) they started in, with how many
  volunteers served;
- **active volunteers**: volunteers of these communities credited for service in the 90
  days up to today (whatever the period: who serves now);
- **exchanges**: the exchanges approved in the period, and the minutes they spent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from common.periods import Period, local_midnight
from volunteers.models import Attendance, Exchange, HoursEntry

ACTIVE_DAYS = 90


@dataclass(frozen=True)
class TeamMonth:
    team: str
    community: str
    month: dt.date
    minutes: int
    volunteers: int


@dataclass
class VolunteerFigures:
    active: int = 0
    exchanges: int = 0
    exchanged_minutes: int = 0
    rows: list[TeamMonth] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(row.minutes for row in self.rows)


def figures_of(
    community_ids: list[int], period: Period, *, today: dt.date | None = None
) -> VolunteerFigures:
    today = today or timezone.localdate()
    zone = timezone.get_current_timezone()
    served = (
        Attendance.objects.filter(
            activity__team__community_id__in=community_ids,
            activity__starts_at__gte=period.start,
            activity__starts_at__lt=period.end,
            confirmed_at__isnull=False,
            credited_minutes__gt=0,
        )
        .annotate(month=TruncMonth("activity__starts_at", tzinfo=zone))
        .order_by()
        .values_list("activity__team__name", "activity__team__community__name", "month")
        .annotate(minutes=Sum("credited_minutes"), volunteers=Count("volunteer", distinct=True))
    )
    rows = sorted(
        (
            TeamMonth(
                team=team,
                community=community,
                month=timezone.localtime(month, zone).date() if isinstance(month, dt.datetime)
                else month,
                minutes=minutes,
                volunteers=volunteers,
            )
            for team, community, month, minutes, volunteers in served
        ),
        key=lambda row: (row.month, row.community, row.team),
    )  # fmt: skip
    since = local_midnight(today - dt.timedelta(days=ACTIVE_DAYS - 1))
    active = (
        HoursEntry.objects.filter(
            volunteer__resident__community_id__in=community_ids,
            kind=HoursEntry.Kind.CREDIT,
            created__gte=since,
            created__lt=local_midnight(today + dt.timedelta(days=1)),
        )
        .order_by()
        .aggregate(n=Count("volunteer", distinct=True))["n"]
    )
    exchanged = (
        Exchange.objects.filter(
            volunteer__resident__community_id__in=community_ids,
            created__gte=period.start,
            created__lt=period.end,
        )
        .order_by()
        .aggregate(n=Count("pk"), minutes=Sum("minutes"))
    )
    return VolunteerFigures(
        active=active,
        exchanges=exchanged["n"],
        exchanged_minutes=exchanged["minutes"] or 0,
        rows=rows,
    )
