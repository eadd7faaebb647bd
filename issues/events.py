"""The record every writer of an issue keeps: lock it, save it, put the change on its
timeline, tell the people concerned.

Every action that changes an issue, in this app or above it (follow-up reviews, meetings),
goes through these four, so a change always bumps the version that stale forms are checked
against, keeps the month figures exact, and leaves an event: who, when, what, why.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from common.refusals import Refusal
from issues import rollup
from issues.models import Event, Issue
from members import notifications
from members.models import User


class IssueActionError(Refusal):
    """A request the domain refuses; the message is shown to the user."""


class StaleIssue(IssueActionError):
    """The form was drawn from an older version of the issue than the one saved now."""


def lock(issue: Issue, expected_version: int | None) -> Issue:
    """The issue re-read under a row lock, refusing a form drawn from an older version."""
    locked = (
        Issue.objects.select_for_update(of=("self",))
        .select_related("category", "community")
        .get(pk=issue.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleIssue(
            _(
                "Someone else changed this issue while you were working on it. "
                "Your input is kept below: check the issue and send it again."
            )
        )
    return locked


def save(issue: Issue, fields: list[str]) -> None:
    """Save the changed fields with a new version, and the month figures that move with them."""
    issue.version += 1
    issue.save(update_fields=[*dict.fromkeys([*fields, "version", "updated"])])
    rollup.issue_changed(issue, fields)


def record(
    issue: Issue,
    actor: User | None,
    kind: str,
    *,
    from_value: str = "",
    to_value: str = "",
    note: str = "",
    public: bool,
    note_public: bool = False,
    data: dict | None = None,
) -> Event:
    """Write what happened to the issue on its timeline: who, what, from and to, and why."""
    payload = dict(data or {})
    if note_public:
        payload["note_public"] = True
    return Event.objects.create(
        issue=issue,
        actor=actor,
        kind=kind,
        from_value=from_value,
        to_value=to_value,
        note=note.strip(),
        data=payload,
        is_public=public,
    )


def notice_context(issue: Issue) -> dict:
    """What a notice about the issue says (its title and community) and links to."""
    return {"title": issue.title, "community": issue.community.name, "issue_id": issue.pk}


def notify(
    users: Iterable[User],
    kind: str,
    issue: Issue,
    *,
    key: str,
    actor: User | None = None,
    **extra: str,
) -> None:
    """Tell the people concerned, except whoever just did it (``extra``: more of what the
    notice's text says, such as a reason)."""
    context = {**notice_context(issue), **extra}
    skip = actor.pk if actor is not None else None
    for user in {u.pk: u for u in users if u is not None and u.pk != skip}.values():
        notifications.notify(user, kind, context, key=f"{key}:{user.pk}")
