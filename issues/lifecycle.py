"""The one table of how an issue's status may change.

submitted → awaiting deliberation → decided → in progress → resolved → closed,
with reopened, deferred and not actionable beside it. Every status change in
Yishi goes through ``check``; anything not in the table is refused with a
message the user can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from common.refusals import Refusal
from issues.models import Issue

S = Issue.Status


class TransitionRefused(Refusal):
    """The issue's status does not allow this; the message says why."""


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    label: Promise
    needs_note: bool = False
    needs_deliberation: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "accept",
            frozenset({S.SUBMITTED, S.REOPENED}),
            S.AWAITING,
            _("Put on the deliberation list"),
        ),
        Transition(
            "decide", frozenset({S.AWAITING, S.REOPENED}), S.DECIDED, _("Record a decision")
        ),
        Transition(
            "start",
            frozenset({S.SUBMITTED, S.AWAITING, S.DECIDED, S.REOPENED}),
            S.IN_PROGRESS,
            _("Start handling"),
        ),
        Transition(
            "resolve",
            frozenset({S.DECIDED, S.IN_PROGRESS}),
            S.RESOLVED,
            _("Mark resolved"),
            needs_deliberation=True,
        ),
        Transition(
            "close",
            frozenset({S.RESOLVED}),
            S.CLOSED,
            _("Close after review"),
            needs_deliberation=True,
        ),
        Transition(
            "reopen",
            frozenset({S.RESOLVED, S.CLOSED, S.NOT_ACTIONABLE}),
            S.REOPENED,
            _("Reopen"),
            needs_note=True,
        ),
        Transition(
            "defer",
            frozenset({S.SUBMITTED, S.AWAITING, S.DECIDED, S.REOPENED}),
            S.DEFERRED,
            _("Defer"),
            needs_note=True,
        ),
        Transition("resume", frozenset({S.DEFERRED}), S.AWAITING, _("Resume")),
        Transition(
            "not_actionable",
            frozenset({S.SUBMITTED, S.AWAITING, S.DECIDED, S.DEFERRED, S.REOPENED}),
            S.NOT_ACTIONABLE,
            _("Not actionable"),
            needs_note=True,
            needs_deliberation=True,
        ),
    ]
}


def check(issue: Issue, name: str, *, note: str = "") -> Transition:
    """The transition ``name`` for ``issue``, or TransitionRefused saying why not."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionRefused(_("Unknown action."))
    if issue.status not in transition.sources:
        raise TransitionRefused(
            _("“%(action)s” is not possible while the issue is “%(status)s”.")
            % {"action": transition.label, "status": issue.get_status_display()}
        )
    if transition.needs_note and not note.strip():
        raise TransitionRefused(_("Please give a reason; the reporter will see it."))
    if (
        transition.needs_deliberation
        and issue.category.must_deliberate
        and not issue.deliberated_at
    ):
        raise TransitionRefused(
            _(
                "“%(category)s” is a must-deliberate category: the issue has to be "
                "deliberated at a council meeting before it can be resolved or closed."
            )
            % {"category": issue.category.label}
        )
    return transition


def available(issue: Issue) -> list[Transition]:
    """Transitions the issue's status allows now (buttons to offer)."""
    return [t for t in TRANSITIONS.values() if issue.status in t.sources]
