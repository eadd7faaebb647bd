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


def test_the_pages_that_read_the_round_run_as_many_statements_for_ten_times_the_data(db):
    """The street's teams, a team's page and the quarter's review: the same number of SQL
    statements for 90 households as for 900."""
    counts = []
    for households in (90, 900):
        rounds.run(teams=3, households=households, out=lambda _: None)
        pages = rounds.pages_data(out=lambda _: None)
        counts.append({page.name: page.queries for page in pages})
        rounds.clear()
    assert counts[0] == counts[1]
    assert all(count > 5 for count in counts[0].values())  # counted, not empty
    assert set(counts[0]) == {"street_teams", "team_page", "quarter_review"}
