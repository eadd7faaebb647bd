"""The quarter's concentrated visiting round (集中走访) and the reminders while it is late.

Every quarter each team visits all the households of its compounds, finished by the 10th
of the quarter's first month. The round is opened by a beat task on the quarter's first
working days: one round per street and quarter (a unique constraint, so two beats or two
days make one), with each team's households written in one ``INSERT … SELECT``.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common import holidays
from deliberation.schedules import QUARTER_MONTHS, QUARTER_WINDOW_DAYS
from members import notifications
from members.models import Resident, Street, User
from visits import permissions, queries
from visits.actions import VisitsRefusal
from visits.models import Building, Pairing, Round, Tally, Target, Team

DUE_DAY = 10  # the round is finished in the first ten days of the quarter's first month


def quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


def is_round_day(day: dt.date) -> bool:
    """A working day among the first ten of a quarter's first month.

    China's working days (``common.holidays``): not on New Year's Day nor in the National
    Day week, but on a make-up working Saturday or Sunday. The same days as the councils'
    quarterly meetings (``deliberation.schedules``); a beat that missed the first working
    day opens the round on the next one.
    """
    return (
        day.month in QUARTER_MONTHS
        and day.day in QUARTER_WINDOW_DAYS
        and holidays.is_working_day(day)
    )


@transaction.atomic
def round_open(*, street: Street, year: int, quarter: int, today: dt.date) -> tuple[Round, bool]:
    """The street's round of that quarter, with every team's households; (round, created).

    Called again (a second beat, the next day) it returns the round already there and
    writes nothing.
    """
    if not 1 <= quarter <= 4:
        raise VisitsRefusal(_("A year has four quarters."))
    existing = Round.objects.filter(street=street, year=year, quarter=quarter).first()
    if existing:
        return existing, False
    month = QUARTER_MONTHS[quarter - 1]
    try:
        with transaction.atomic():
            round_ = Round.objects.create(
                street=street,
                year=year,
                quarter=quarter,
                opened_on=today,
                due_on=dt.date(year, month, DUE_DAY),
            )
    except IntegrityError:  # another beat opened it meanwhile
        return Round.objects.get(street=street, year=year, quarter=quarter), False
    targets_write(round_)
    building_targets_write(round_)
    tallies_recount(round_)
    _planner_told_of_targets()
    return round_, True


def _planner_told_of_targets() -> None:
    """A round writes a quarter's households at once. The planner learns of them now, not
    when autovacuum next looks: with statistics that know no row of the new round, a team's
    page read every household of the round to find the team's 50 (100 ms, not 0.5)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Target._meta.db_table)}")


def tallies_recount(round_: Round) -> int:
    """Each team's targets and visited households of the round, counted afresh."""
    counts = (
        Target.objects.filter(round=round_)
        .values("team_id")
        .annotate(n=Count("id"), done=Count("id", filter=Q(visited_on__isnull=False)))
        .order_by()
    )
    Tally.objects.filter(round=round_).delete()
    Tally.objects.bulk_create(
        Tally(round=round_, team_id=row["team_id"], target=row["n"], visited=row["done"])
        for row in counts
    )
    return len(counts)


def target_visited(target: Target, visited_on: dt.date) -> bool:
    """Mark a target visited, once: the team's tally counts it then."""
    marked = Target.objects.filter(pk=target.pk, visited_on__isnull=True).update(
        visited_on=visited_on
    )
    if marked:
        Tally.objects.filter(round_id=target.round_id, team_id=target.team_id).update(
            visited=F("visited") + 1
        )
    return bool(marked)


def targets_write(round_: Round) -> int:
    """Each team's households for the round, in one statement whatever their number.

    A household is an address (community, lane, building, room); a resident with no room
    on the register is a household of their own. Its first resident stands for it.
    """
    target, resident = Target._meta.db_table, Resident._meta.db_table
    pairing, team = Pairing._meta.db_table, Team._meta.db_table
    sql = f"""
        INSERT INTO {target}
            (round_id, team_id, community_id, resident_id, lane, building, room, unregistered,
             visited_on)
        SELECT %s, p.team_id, r.community_id, MIN(r.id), r.lane, r.building, r.room, 0, NULL
        FROM {resident} r
        JOIN {pairing} p
          ON p.community_id = r.community_id AND p.ended_on IS NULL
         AND (p.lane = '' OR p.lane = r.lane)
         AND (p.building = '' OR p.building = r.building)
        JOIN {team} t ON t.id = p.team_id
        WHERE t.street_id = %s AND r.is_active = %s
        GROUP BY p.team_id, r.community_id, r.lane, r.building, r.room,
                 CASE WHEN r.room = '' THEN r.id ELSE 0 END
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [round_.pk, round_.street_id, True])
        return cursor.rowcount


def building_targets_write(round_: Round) -> int:
    """One target per building of the teams' compounds whose register is thin.

    A building's register is thin when it holds fewer households than the building's known
    flats (``Building``), none at all included; a building a team is paired with by name
    and whose flats are not known is thin when the register holds none of its households.
    The target stands for the flats not on the register. The households come from the
    targets the round has just written, grouped once per building.
    """
    pairings = list(Pairing.objects.filter(team__street_id=round_.street_id, ended_on__isnull=True))
    if not pairings:
        return 0
    flats: dict[tuple[int, str, str], int | None] = {
        (b.community_id, b.lane, b.building): b.flats
        for b in Building.objects.filter(community_id__in={p.community_id for p in pairings})
    }
    known_names = {(community_id, building) for community_id, _lane, building in flats}
    for pairing in pairings:
        if pairing.building and (pairing.community_id, pairing.building) not in known_names:
            flats.setdefault((pairing.community_id, pairing.lane, pairing.building), None)
    registered: dict[tuple[int, str, str], int] = {}
    for row in (
        Target.objects.filter(round=round_)
        .exclude(building="")
        .values("community_id", "lane", "building")
        .annotate(n=Count("id"))
        .order_by()
    ):
        key = (row["community_id"], row["lane"], row["building"])
        registered[key] = row["n"]
    rows = []
    for (community_id, lane, building), known in sorted(flats.items()):
        team_id = _team_of(pairings, community_id, lane, building)
        if team_id is None:
            continue
        households = sum(
            n
            for (c, ln, b), n in registered.items()
            if c == community_id and b == building and (ln == lane or not lane)
        )
        thin = households == 0 if known is None else households < known
        if thin:
            rows.append(
                Target(
                    round=round_,
                    team_id=team_id,
                    community_id=community_id,
                    resident=None,
                    lane=lane,
                    building=building,
                    unregistered=0 if known is None else known - households,
                )
            )
    Target.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _team_of(pairings: list[Pairing], community_id: int, lane: str, building: str) -> int | None:
    """The team whose open pairing covers the building (a building named without its lane
    is covered by a pairing of that building, or of the whole community)."""
    for pairing in pairings:
        if pairing.community_id != community_id:
            continue
        if pairing.lane not in ("", lane) or pairing.building not in ("", building):
            continue
        return pairing.team_id
    return None


@transaction.atomic
def building_visited(
    *, actor: User, target: Target, visited_on: dt.date, today: dt.date | None = None
) -> Target:
    """A team member walked a thin building of the round: its target is visited."""
    today = today or timezone.localdate()
    if not permissions.may_record_visit(actor, target.team):
        raise VisitsRefusal(_("Only the team's members record its visits."))
    if not target.is_building:
        raise VisitsRefusal(_("Record a household's visit from the household's page."))
    if visited_on > today:
        raise VisitsRefusal(_("A visit cannot be dated in the future."))
    target_visited(target, visited_on)
    target.refresh_from_db(fields=["visited_on"])
    return target


def rounds_open_due(*, today: dt.date | None = None) -> list[Round]:
    """On a round day, the quarter's round of every street with a paired team."""
    today = today or timezone.localdate()
    if not is_round_day(today):
        return []
    streets = Street.objects.filter(visit_teams__pairings__ended_on__isnull=True).distinct()
    opened = []
    for street in streets:
        round_, created = round_open(
            street=street, year=today.year, quarter=quarter_of(today), today=today
        )
        if created:
            opened.append(round_)
    return opened


def overdue_remind(*, today: dt.date | None = None) -> int:
    """Tell the leader of each team with households left in a round past due; once a day
    (the notice's key names the day)."""
    today = today or timezone.localdate()
    pairs = queries.overdue_team_rounds(today)
    if not pairs:
        return 0
    team_ids = {team_id for team_id, _ in pairs}
    round_ids = {round_id for _, round_id in pairs}
    counts = {
        (row["team_id"], row["round_id"]): row
        for row in Target.objects.filter(team_id__in=team_ids, round_id__in=round_ids)
        .values("team_id", "round_id")
        .annotate(total=Count("id"), visited=Count("id", filter=Q(visited_on__isnull=False)))
        .order_by()
    }
    teams = Team.objects.in_bulk(team_ids)
    rounds = Round.objects.in_bulk(round_ids)
    sent = 0
    for team_id, round_id in pairs:
        team, round_ = teams[team_id], rounds[round_id]
        figures = counts[(team_id, round_id)]
        created = notifications.notify(
            team.leader,
            "round_overdue",
            {
                "team_id": team.pk,
                "round_id": round_.pk,
                "team": team.name,
                "visited": figures["visited"],
                "target": figures["total"],
                "due": round_.due_on.isoformat(),
            },
            key=f"round_overdue:{team.pk}:{round_.pk}:{today.isoformat()}",
        )
        sent += bool(created)
    return sent
