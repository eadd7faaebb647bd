"""``python -m bench.similar`` writes its issues once and serves the hint from gunicorn beside
the floor view. Nothing here asserts a time."""

from __future__ import annotations

import pytest

from bench import similar
from issues.models import Issue


@pytest.fixture(autouse=True)
def clock():
    """The real clock: gunicorn's workers read it."""
    return None


@pytest.mark.django_db(transaction=True)
def test_the_hint_benchmark_writes_its_issues_once_and_serves_hints():
    result = similar.run(
        issues=600, communities=3, clients=2, repeat=2, workers=1, out=lambda _: None
    )
    assert result.issues == 600 and Issue.objects.count() == 600
    assert result.statements == 1 and result.open_recent > 0
    assert (result.hint.requests, result.floor.requests) == (4, 4)
    newest = Issue.objects.filter(status__in=Issue.OPEN_STATUSES).order_by("-created")
    assert newest.filter(community__name="相似001社区").first().title in result.hinted
    similar.generate(issues=600, communities=3, out=lambda _: None)
    assert Issue.objects.count() == 600
