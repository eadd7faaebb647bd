"""``python -m bench.rounds`` opens one round for a generated street, its households each
once; asked again it writes nothing. Nothing here asserts a time."""

from __future__ import annotations

from bench import rounds
from visits.models import Round, Target


def test_the_round_benchmark_writes_each_household_once(db):
    result = rounds.run(teams=3, households=90, out=lambda _: None)
    assert (result.teams, result.households, result.targets, result.rounds) == (3, 90, 3, 1)
    assert Target.objects.count() == 90 and Round.objects.count() == 1
    rounds.clear()
    assert not Target.objects.exists()
