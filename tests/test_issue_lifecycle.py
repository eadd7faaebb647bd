"""Every status change goes through the one table in issues/lifecycle.py.

The expected table is typed out below, status by status: what each transition
leads to where it is allowed, and which transitions each status refuses. The
code's table is compared with it, and every (status, transition) pair is tried:
the allowed ones move the issue and write one timeline line; the others are
refused with a message in the reader's language and leave the issue exactly as
it was. A change to the lifecycle is a change to this file too.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone, translation

from issues import lifecycle
from issues.actions import handling
from issues.lifecycle import TransitionRefused
from issues.models import Event, Issue
from tests import factories

S = Issue.Status
NOTE = "居民已电话确认"
NOTE_IS_PUBLIC = {"not_actionable", "reopen"}

STATUSES = [
    "submitted",
    "awaiting",
    "decided",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "deferred",
    "not_actionable",
]
TRANSITION_NAMES = [
    "accept",
    "decide",
    "start",
    "resolve",
    "close",
    "reopen",
    "defer",
    "resume",
    "not_actionable",
]

# status → {transition allowed from it: the status it leads to}
ALLOWED_FROM = {
    "submitted": {
        "accept": "awaiting",
        "start": "in_progress",
        "defer": "deferred",
        "not_actionable": "not_actionable",
    },
    "awaiting": {
        "decide": "decided",
        "start": "in_progress",
        "defer": "deferred",
        "not_actionable": "not_actionable",
    },
    "decided": {
        "start": "in_progress",
        "resolve": "resolved",
        "defer": "deferred",
        "not_actionable": "not_actionable",
    },
    "in_progress": {
        "resolve": "resolved",
    },
    "resolved": {
        "close": "closed",
        "reopen": "reopened",
    },
    "closed": {
        "reopen": "reopened",
    },
    "reopened": {
        "accept": "awaiting",
        "decide": "decided",
        "start": "in_progress",
        "defer": "deferred",
        "not_actionable": "not_actionable",
    },
    "deferred": {
        "resume": "awaiting",
        "not_actionable": "not_actionable",
    },
    "not_actionable": {
        "reopen": "reopened",
    },
}

# status → the transitions it refuses
FORBIDDEN_FROM = {
    "submitted": ["decide", "resolve", "close", "reopen", "resume"],
    "awaiting": ["accept", "resolve", "close", "reopen", "resume"],
    "decided": ["accept", "decide", "close", "reopen", "resume"],
    "in_progress": [
        "accept",
        "decide",
        "start",
        "close",
        "reopen",
        "defer",
        "resume",
        "not_actionable",
    ],
    "resolved": ["accept", "decide", "start", "resolve", "defer", "resume", "not_actionable"],
    "closed": [
        "accept",
        "decide",
        "start",
        "resolve",
        "close",
        "defer",
        "resume",
        "not_actionable",
    ],
    "reopened": ["resolve", "close", "reopen", "resume"],
    "deferred": ["accept", "decide", "start", "resolve", "close", "reopen", "defer"],
    "not_actionable": [
        "accept",
        "decide",
        "start",
        "resolve",
        "close",
        "defer",
        "resume",
        "not_actionable",
    ],
}

LABELS = {
    "accept": "Put on the deliberation list",
    "decide": "Record a decision",
    "start": "Start handling",
    "resolve": "Mark resolved",
    "close": "Close after review",
    "reopen": "Reopen",
    "defer": "Defer",
    "resume": "Resume",
    "not_actionable": "Not actionable",
}
NEEDS_NOTE = {"reopen", "defer", "not_actionable"}
NEEDS_DELIBERATION = {"resolve", "close", "not_actionable"}

ALLOWED = [
    (status, name, target)
    for status, allowed in ALLOWED_FROM.items()
    for name, target in allowed.items()
]
FORBIDDEN = [(status, name) for status, names in FORBIDDEN_FROM.items() for name in names]


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
            handling.issue_transition(issue=issue, actor=actor, name=name, note=note)
        return str(caught.value)  # a lazy message is read in the language it is shown in


def test_the_expected_table_covers_every_status_and_transition_once():
    """Every one of the 9 × 9 pairs is written above, either allowed or forbidden."""
    assert len(ALLOWED) == 24
    assert len(FORBIDDEN) == 57
    for status in STATUSES:
        allowed, forbidden = set(ALLOWED_FROM[status]), set(FORBIDDEN_FROM[status])
        assert not allowed & forbidden, status
        assert allowed | forbidden == set(TRANSITION_NAMES), status
        assert len(FORBIDDEN_FROM[status]) == len(forbidden), status
    assert {target for _, _, target in ALLOWED} <= set(STATUSES)


def test_the_statuses_and_transitions_are_the_expected_ones():
    assert list(S.values) == STATUSES
    assert list(lifecycle.TRANSITIONS) == TRANSITION_NAMES


def test_the_code_table_is_the_expected_table():
    in_code = {
        (status, name): transition.target
        for name, transition in lifecycle.TRANSITIONS.items()
        for status in transition.sources
    }
    assert in_code == {(status, name): target for status, name, target in ALLOWED}


def test_the_code_table_asks_for_notes_deliberations_and_labels_as_expected():
    transitions = lifecycle.TRANSITIONS.values()
    assert {t.name for t in transitions if t.needs_note} == NEEDS_NOTE
    assert {t.name for t in transitions if t.needs_deliberation} == NEEDS_DELIBERATION
    with translation.override("en"):
        assert {t.name: str(t.label) for t in transitions} == LABELS


@pytest.mark.parametrize(("status", "name", "target"), ALLOWED)
def test_allowed_transition_changes_status_and_writes_one_status_event(
    status, name, target, manan, manan_staff
):
    issue = in_status(manan, manan_staff, status)
    version, events_before = issue.version, set(issue.events.values_list("pk", flat=True))

    handling.issue_transition(
        issue=issue, actor=manan_staff, name=name, note=NOTE, expected_version=version
    )

    issue.refresh_from_db()
    assert issue.status == target
    assert issue.version == version + 1
    new = list(issue.events.exclude(pk__in=events_before))
    assert len(new) == 1
    event = new[0]
    assert (event.kind, event.actor, event.from_value, event.to_value, event.note) == (
        Event.Kind.STATUS,
        manan_staff,
        status,
        target,
        NOTE,
    )
    assert event.is_public
    assert bool(event.data.get("note_public")) == (name in NOTE_IS_PUBLIC)
    if target == "resolved":
        assert issue.resolved_at is not None
    if target == "not_actionable":
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
            f"“{LABELS[name]}” is not possible while the issue is “{Issue.Status(status).label}”."
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
    ("name", "status"),
    [("reopen", "closed"), ("defer", "awaiting"), ("not_actionable", "submitted")],
)
@pytest.mark.parametrize("note", ["", "   \n"])
def test_reopen_defer_and_not_actionable_need_a_reason(name, status, note, manan, manan_staff):
    issue = in_status(manan, manan_staff, status)
    before = snapshot(issue)

    message = refused(issue, manan_staff, name, language="en", note=note)
    chinese = refused(issue, manan_staff, name, language="zh-hans", note=note)

    assert message == "Please give a reason; the reporter will see it."
    assert chinese == "请填写原因，反映人将会看到。"
    assert snapshot(issue) == before


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

    handling.issue_record_deliberation(issue=issue, actor=manan_staff, at=timezone.now())
    issue.refresh_from_db()
    assert issue.deliberated_at is not None
    handling.issue_transition(
        issue=issue, actor=manan_staff, name=name, note=NOTE, expected_version=issue.version
    )
    issue.refresh_from_db()
    assert issue.status == target


def test_transitions_without_the_rule_need_no_deliberation_in_a_must_deliberate_category(
    manan, manan_staff
):
    issue = in_status(manan, manan_staff, S.SUBMITTED, code="facilities")
    for name, target in [("accept", S.AWAITING), ("decide", S.DECIDED), ("start", S.IN_PROGRESS)]:
        handling.issue_transition(issue=issue, actor=manan_staff, name=name)
        issue.refresh_from_db()
        assert issue.status == target
    assert issue.deliberated_at is None


def test_other_category_is_resolved_and_closed_without_deliberation(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.IN_PROGRESS, code="other")
    assert not issue.category.must_deliberate
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    handling.issue_transition(issue=issue, actor=manan_staff, name="close")
    issue.refresh_from_db()
    assert issue.status == S.CLOSED
    assert issue.deliberated_at is None


def test_not_actionable_keeps_the_explanation_for_the_reporter(manan, manan_staff):
    issue = in_status(manan, manan_staff, S.SUBMITTED)
    explanation = "  该路段属于市政道路，已转交12345热线  "

    handling.issue_transition(
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
    handling.issue_transition(issue=issue, actor=manan_staff, name="defer", note="等下次会议")
    event = issue.events.get(kind=Event.Kind.STATUS)
    assert event.is_public  # the status change itself is public
    assert not event.data.get("note_public")  # but the internal note is not


@pytest.mark.parametrize("status", STATUSES)
def test_available_offers_exactly_the_allowed_transitions(status):
    assert [t.name for t in lifecycle.available(Issue(status=status))] == [
        name for name in TRANSITION_NAMES if name in ALLOWED_FROM[status]
    ]


@pytest.mark.parametrize("status", ["closed", "not_actionable"])
def test_terminal_statuses_only_lead_back_through_reopen(status):
    assert [t.name for t in lifecycle.available(Issue(status=status))] == ["reopen"]
