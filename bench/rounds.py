"""``python -m bench.rounds``: opening a quarter's visiting round for a large street.

Makes one street (基准街道-走访) of ``--teams`` visiting teams, each paired with one
community of ``--households`` / ``--teams`` households (one resident each, every tenth
household two), then times ``visits.actions.rounds.round_open``, which writes every team's
households in one ``INSERT … SELECT``, and a second call, which finds the round and writes
nothing. Prints the households written and the seconds each call took.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-走访"
BATCH = 10_000
TEAMS = 50
HOUSEHOLDS = 200_000
OPENED = dt.date(2027, 1, 4)  # a Monday, the first working day of 2027's first quarter


@dataclass(frozen=True)
class Result:
    teams: int
    households: int
    targets: int
    seconds: float
    again_seconds: float
    rounds: int


def clear() -> None:
    from members.models import Resident, Street
    from visits.models import Pairing, Round, Team, TeamMember

    street = Street.objects.filter(name=STREET).first()
    if street is None:
        return
    Round.objects.filter(street=street).delete()
    Pairing.objects.filter(team__street=street).delete()
    TeamMember.objects.filter(team__street=street).delete()
    Team.objects.filter(street=street).delete()
    Resident.objects.filter(community__street=street).delete()
    street.communities.all().delete()


def generate(*, teams: int, households: int, out: Out = say) -> None:
    from django.db import transaction

    from members.models import Community, Resident, Street, User
    from visits.models import Pairing, Team, TeamMember

    clear()
    street, _ = Street.objects.get_or_create(name=STREET)
    leader, _ = User.objects.get_or_create(username="bench_rounds_leader")
    per_team = max(1, households // teams)
    started = time.perf_counter()
    for index in range(teams):
        with transaction.atomic():
            community = Community.objects.create(street=street, name=f"走访社区{index:03d}")
            team = Team.objects.create(street=street, name=f"走访团队{index:03d}", leader=leader)
            TeamMember.objects.create(team=team, user=leader, joined_on=OPENED)
            Pairing.objects.create(team=team, community=community, started_on=OPENED)
            rows = []
            for house in range(per_team):
                address = {"building": f"{house // 100 + 1}栋", "room": f"{house % 100 + 101}"}
                rows.append(Resident(community=community, name=f"住户{house}", **address))
                if house % 10 == 0:
                    rows.append(Resident(community=community, name=f"家人{house}", **address))
            Resident.objects.bulk_create(rows, batch_size=BATCH)
    out(f"wrote {teams} teams and {teams * per_team:,} households "
        f"in {time.perf_counter() - started:.1f} s")  # fmt: skip


def run(*, teams: int = TEAMS, households: int = HOUSEHOLDS, out: Out = say) -> Result:
    from members.models import Street
    from visits.actions import rounds
    from visits.models import Round, Target

    generate(teams=teams, households=households, out=out)
    street = Street.objects.get(name=STREET)
    started = time.perf_counter()
    round_, created = rounds.round_open(street=street, year=2027, quarter=1, today=OPENED)
    seconds = time.perf_counter() - started
    assert created
    started = time.perf_counter()
    _, created_again = rounds.round_open(street=street, year=2027, quarter=1, today=OPENED)
    again_seconds = time.perf_counter() - started
    assert not created_again
    result = Result(
        teams=teams,
        households=Target.objects.filter(round=round_).count(),
        targets=Target.objects.filter(round=round_).values("team").distinct().count(),
        seconds=seconds,
        again_seconds=again_seconds,
        rounds=Round.objects.filter(street=street).count(),
    )
    out(f"round opened: {result.households:,} households of {result.targets} teams "
        f"in {seconds:.2f} s; asked again: {again_seconds * 1000:.1f} ms, "
        f"{result.rounds} round")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    setup_django(migrate=not args.no_migrate)
    run(teams=args.teams, households=args.households)
    clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
