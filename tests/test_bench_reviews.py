"""``python -m bench.reviews`` sweeps 60 due reviews with two processes, each exactly once.

The sweeping processes are real ones on the test database (``tests.processes.database_url``),
so the test data must be committed: ``transaction=True``. Nothing here asserts a time.
"""

from __future__ import annotations

import pytest

from bench import reviews
from bench.generate import BenchRefused
from deliberation.models import AgendaItem, Meeting
from issues.models import Event, FollowUpReview
from members.models import Notice, Street
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

COUNTED = (
    "reviews in state sent", "claimed by the workers (sum)", "review_invite notices (SMS)",
    "distinct notice keys", "notices handed to Celery on commit", "review_sent events",
    "issues with a review_sent event", "review agenda items", "issues with a review agenda item",
    "reviews marked put on the agenda",
)  # fmt: skip


@pytest.fixture
def clock():
    """The real clock: the sweeping processes read it, and the reviews come due by it."""
    return None


def quiet(_: str) -> None:
    pass


def sweep(count: int, **options):
    # Batches of 7 give both processes several transactions to contend over.
    return reviews.run(
        reviews=count, workers=2, communities=3, batch=7, database_url=database_url(),
        out=quiet, **options,
    )  # fmt: skip


def test_two_processes_send_each_due_review_once():
    result = sweep(60)

    assert result.exactly_once, result.text
    checks = {check.label: check.found for check in result.checks}
    assert {label: checks[label] for label in COUNTED} == dict.fromkeys(COUNTED, 60)
    assert checks["reviews still pending"] == 0
    assert len(result.workers) == 2
    assert sum(worker.claimed for worker in result.workers) == 60
    assert all(worker.statements > 0 for worker in result.workers)
    # A review whose meeting the other process held is placed by the catch-up pass.
    assert result.placed_by_sweep + result.placed_after == 60
    assert result.placed_by_sweep > 0

    # The database agrees with the report, row by row.
    ours = FollowUpReview.objects.filter(issue__community__street__name=reviews.STREET)
    assert ours.filter(state=FollowUpReview.State.SENT).count() == 60
    keys = {f"review_invite:{pk}:sms" for pk in ours.values_list("pk", flat=True)}
    assert set(Notice.objects.filter(kind="review_invite").values_list("key", flat=True)) == keys
    assert Event.objects.filter(kind=Event.Kind.REVIEW_SENT).count() == 60
    items = AgendaItem.objects.filter(kind=AgendaItem.Kind.REVIEW)
    assert items.values("issue").distinct().count() == items.count() == 60
    assert Meeting.objects.count() == 3
    # Each meeting's review items are numbered on from one another, none twice.
    for meeting in Meeting.objects.all():
        positions = list(items.filter(meeting=meeting).values_list("position", flat=True))
        assert sorted(positions) == list(range(len(positions)))

    text = result.text
    assert "exactly once: yes" in text
    assert "reviews_per_min" in text and "_enqueue_on_commit" in text
    assert "SELECT members_notice" in text or "INSERT members_notice" in text


def test_running_again_starts_from_a_fresh_street():
    assert sweep(20).exactly_once
    again = sweep(30)
    assert again.exactly_once, again.text
    assert FollowUpReview.objects.count() == 30
    assert Notice.objects.filter(kind="review_invite").count() == 30
    assert AgendaItem.objects.count() == 30
    assert Street.objects.filter(name=reviews.STREET).count() == 1


def test_a_database_with_other_streets_is_refused():
    Street.objects.create(name="南恩街道")
    with pytest.raises(BenchRefused, match="other than"):
        sweep(10)
    assert not FollowUpReview.objects.exists()
