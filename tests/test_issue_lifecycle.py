"""Every status change goes through the one table in issues/lifecycle.py.

Each (status, transition) pair is tried: the allowed ones move the issue and
write one timeline line; the others are refused with a message in the reader's
language and leave the issue exactly as it was.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone, translation

from issues import actions, lifecycle
from issues.lifecycle import TransitionRefused
from issues.models import Event, Issue
from tests import factories

S = Issue.Status
NOTE = "居民已电话确认"
PAIRS = [(status, name) for status in S.values for name in lifecycle.TRANSITIONS]
ALLOWED = [(s, n) for s, n in PAIRS if s in lifecycle.TRANSITIONS[n].sources]
FORBIDDEN = [(s, n) for s, n in PAIRS if s not in lifecycle.TRANSITIONS[n].sources]
NOTE_IS_PUBLIC = {"not_actionable", "reopen"}


def in_status(community, actor, status: str, *, code: str = "other") -> Issue:
    issue = factories.issue(community, actor=actor, code=code, title="楼道灯坏了")
    # Test setup only: put the issue straight into the status under test.
    Issue.objects.filter(pk=issue.pk).update(status=status)
    issue.refresh_from_db()
    return issue


def snapshot(issue: Issue) -> tuple:
    issue.refresh_from_db()
    return issue.status, issue.version, issue.outcome_note, issue.resolved_at, issue.events.count()


def refused(issue: Issue, actor, name: str, *, language: str, note: str = NOTE) -> str:
    with translation.override(language):
        with pytest.raises(TransitionRefused) as caught:
            actions.issue_transition(issue=issue, actor=actor, name=name, note=note)
        return str(caught.value)  # a lazy message is read in the language it is shown in


def test_the_table_is_complete():
    """The parametrized tests below really do cover every status and transition."""
    assert len(PAIRS) == len(S.values) * len(lifecycle.TRANSITIONS) == 81
    assert len(ALLOWED) + len(FORBIDDEN) == 81
    assert {t.target for t in lifecycle.TRANSITIONS.values()} <= set(S.values)


@pytest.mark.parametrize(("status", "name"), ALLOWED)
def test_allowed_transition_changes_status_and_writes_one_status_event(
    status, name, manan, manan_staff
):
    issue = in_status(manan, manan_staff, status)
    version, events_before = issue.version, set(issue.events.values_list("pk", flat=True))
    transition = lifecycle.TRANSITIONS[name]

    actions.issue_transition(
        issue=issue, actor=manan_staff, name=name, note=NOTE, expected_version=version
    )

    issue.refresh_from_db()
    assert issue.status == transition.target
    assert issue.version == version + 1
    new = list(issue.events.exclude(pk__in=events_before))
    assert len(new) == 1
    event = new[0]
    assert (event.kind, event.actor, event.from_value, event.to_value, event.note) == (
        Event.Kind.STATUS,
        manan_staff,
        status,
        transition.target,
        NOTE,
    )
    assert event.is_public
    assert bool(event.data.get("note_public")) == (name in NOTE_IS_PUBLIC)
    if transition.target == S.RESOLVED:
        assert issue.resolved_at is not None
    if transition.target == S.NOT_ACTIONABLE:
        assert issue.outcome_note == NOTE


@pytest.mark.parametrize(("status", "name"), FORBIDDEN)
def test_forbidden_transition_is_refused_in_the_readers_language_and_changes_nothing(
    status, name, manan, manan_staff
):
    issue = in_status(manan, manan_staff, status)
    before = snapshot(issue)
    transition = lifecycle.TRANSITIONS[name]

    english = refused(issue, manan_staff, name, language="en")
    chinese = refused(issue, manan_staff, name, language="zh-hans")

    with translation.override("en"):
        assert english == (
            f"“{transition.label}” is not possible while the issue is "
            f"“{Issue.Status(status).label}”."
        )
    with translation.override("zh-hans"):
        # The zh-hans catalogue's wording, with the action and status in Chinese too.
        expected = translation.gettext(
            "“%(action)s” is not possible while the issue is “%(status)s”."
        ) % {"action": transition.label, "status": Issue.Status(status).label}
        assert chinese == expected
    assert not re.search(r"[A-Za-z]", chinese), chinese  # no English left in it
    assert snapshot(issue) == before


def test_a_refusal_reads_naturally_in_chinese(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.SUBMITTED)
    assert (
        refused(issue, manan_staff, "close", language="zh-hans")
        == "议题处于“已提交”状态时，不能进行“回头议后办结”。"
    )
    assert (
        refused(issue, manan_staff, "close", language="en")
        == "“Close after review” is not possible while the issue is “submitted”."
    )


@pytest.mark.parametrize(
    "name", sorted(n for n, t in lifecycle.TRANSITIONS.items() if t.needs_note)
)
@pytest.mark.parametrize("note", ["", "   \n"])
def test_reopen_defer_and_not_actionable_need_a_reason(name, note, manan, manan_staff):
    assert name in {"reopen", "defer", "not_actionable"}
    status = sorted(lifecycle.TRANSITIONS[name].sources)[0]
    issue = in_status(manan, manan_staff, status)
    before = snapshot(issue)

    message = refused(issue, manan_staff, name, language="en", note=note)
    chinese = refused(issue, manan_staff, name, language="zh-hans", note=note)

    assert message == "Please give a reason; the reporter will see it."
    assert chinese == "请填写原因，反映人将会看到。"
    assert snapshot(issue) == before


def test_only_the_transitions_that_need_a_reason_ask_for_one():
    assert {n for n, t in lifecycle.TRANSITIONS.items() if t.needs_note} == {
        "reopen",
        "defer",
        "not_actionable",
    }


def test_an_unknown_action_is_refused(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.SUBMITTED)
    before = snapshot(issue)
    assert refused(issue, manan_staff, "archive", language="en") == "Unknown action."
    assert snapshot(issue) == before


MUST_DELIBERATE = [
    (S.IN_PROGRESS, "resolve", S.RESOLVED),
    (S.DECIDED, "resolve", S.RESOLVED),
    (S.RESOLVED, "close", S.CLOSED),
    (S.SUBMITTED, "not_actionable", S.NOT_ACTIONABLE),
    (S.DEFERRED, "not_actionable", S.NOT_ACTIONABLE),
]


@pytest.mark.parametrize(("status", "name", "target"), MUST_DELIBERATE)
def test_must_deliberate_category_needs_a_deliberation_first(
    status, name, target, manan, manan_staff
):
    issue = in_status(manan, manan_staff, status, code="facilities")
    assert issue.category.must_deliberate
    before = snapshot(issue)

    english = refused(issue, manan_staff, name, language="en")
    chinese = refused(issue, manan_staff, name, language="zh-hans")

    assert "“Public facilities” is a must-deliberate category" in english
    assert "deliberated at a council meeting" in english
    assert chinese == (
        "“公共设施”属于十必议类别：议题须经议事会会议商议后，才能标记为已解决或办结。"
    )
    assert snapshot(issue) == before

    actions.issue_record_deliberation(issue=issue, actor=manan_staff, at=timezone.now())
    issue.refresh_from_db()
    assert issue.deliberated_at is not None
    actions.issue_transition(
        issue=issue, actor=manan_staff, name=name, note=NOTE, expected_version=issue.version
    )
    issue.refresh_from_db()
    assert issue.status == target


def test_transitions_without_the_rule_need_no_deliberation_in_a_must_deliberate_category(
    manan, manan_staff
):
    issue = in_status(manan, manan_staff, S.SUBMITTED, code="facilities")
    for name, target in [("accept", S.AWAITING), ("decide", S.DECIDED), ("start", S.IN_PROGRESS)]:
        actions.issue_transition(issue=issue, actor=manan_staff, name=name)
        issue.refresh_from_db()
        assert issue.status == target
    assert issue.deliberated_at is None


def test_other_category_is_resolved_and_closed_without_deliberation(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.IN_PROGRESS, code="other")
    assert not issue.category.must_deliberate
    actions.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    actions.issue_transition(issue=issue, actor=manan_staff, name="close")
    issue.refresh_from_db()
    assert issue.status == S.CLOSED
    assert issue.deliberated_at is None


def test_not_actionable_keeps_the_explanation_for_the_reporter(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.SUBMITTED)
    explanation = "  该路段属于市政道路，已转交12345热线  "

    actions.issue_transition(
        issue=issue, actor=manan_staff, name="not_actionable", note=explanation
    )

    issue.refresh_from_db()
    assert issue.status == S.NOT_ACTIONABLE
    assert issue.outcome_note == explanation.strip()
    event = issue.events.get(kind=Event.Kind.STATUS)
    assert event.is_public and event.data == {"note_public": True}
    assert event.note == explanation.strip()
    assert not issue.is_open


def test_a_plain_status_note_stays_internal(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.SUBMITTED)
    actions.issue_transition(issue=issue, actor=manan_staff, name="defer", note="等下次会议")
    event = issue.events.get(kind=Event.Kind.STATUS)
    assert event.is_public  # the status change itself is public
    assert not event.data.get("note_public")  # but the internal note is not


def test_available_offers_exactly_the_allowed_transitions(manan, manan_staff):
    for status in S.values:
        issue = Issue(status=status)
        assert {t.name for t in lifecycle.available(issue)} == {
            n for s, n in ALLOWED if s == status
        }
    # Terminal statuses only lead back through "reopen".
    assert [t.name for t in lifecycle.available(Issue(status=S.CLOSED))] == ["reopen"]
