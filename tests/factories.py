"""Small builders of valid objects; tests build data through these or through actions."""

from __future__ import annotations

import datetime as dt
import itertools

from members.models import (
    Community,
    Council,
    CouncilMember,
    Department,
    Resident,
    Role,
    Street,
    User,
)

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def street(name: str | None = None) -> Street:
    from issues.categories import seed_categories

    found = Street.objects.get_or_create(name=name or f"街道{next(_counter)}")[0]
    seed_categories(found)
    return found


def category(street_: Street, code: str = "other"):
    from issues.models import Category

    return Category.objects.get(street=street_, code=code)


def issue(community_: Community, *, actor=None, code: str = "other", **fields):
    """An issue reported through the domain action, as any channel would."""
    from issues.actions import intake

    fields.setdefault("title", f"问题{next(_counter)}")
    fields.setdefault("channel", "patrol")
    return intake.issue_report(
        actor=actor,
        community=community_,
        category=category(community_.street, code),
        **fields,
    )


def moved(issue, **fields):
    """Write an issue's columns around the actions (dated back, as an import would), then
    refresh its months in the dashboards' roll-up and its counts per status and per character
    pair as the actions do; the issue re-read."""
    from issues import rollup
    from issues.models import Issue

    before = Issue.objects.get(pk=issue.pk)
    Issue.objects.filter(pk=issue.pk).update(**fields)
    after = Issue.objects.get(pk=issue.pk)
    after.stored_for_rollup = before.stored_for_rollup
    after.stored_for_counts = before.stored_for_counts
    after.stored_for_pairs = before.stored_for_pairs
    rollup.issue_changed(after)
    return after


def escalation(**fields):
    """An escalation written around the actions (in any state, dated as given), with its
    month refreshed in the dashboards' roll-up as the actions do."""
    from issues import rollup
    from issues.models import Escalation

    written = Escalation.objects.create(**fields)
    rollup.escalation_changed(written)
    return written


def community(name: str | None = None, *, street_: Street | None = None) -> Community:
    found, _ = Community.objects.get_or_create(
        street=street_ or street("南恩街道"), name=name or f"社区{next(_counter)}"
    )
    Council.objects.get_or_create(community=found, defaults={"name": f"{found.name}居民议事会"})
    return found


def resident(community_: Community, name: str | None = None, **fields) -> Resident:
    return Resident.objects.create(
        community=community_, name=name or f"居民{next(_counter)}", **fields
    )


def council_member(
    community_: Community, resident_: Resident | None = None, **fields
) -> CouncilMember:
    fields.setdefault("category", CouncilMember.Category.RESIDENT_REPRESENTATIVE)
    fields.setdefault("joined_on", dt.date(2024, 1, 8))
    return CouncilMember.objects.create(
        council=community_.council, resident=resident_ or resident(community_), **fields
    )


def user(username: str, **fields) -> User:
    account = User.objects.create_user(username=username, password=PASSWORD, **fields)
    return account


def role(account: User, kind: str, **scope) -> Role:
    return Role.objects.create(user=account, kind=kind, **scope)


def department(street_: Street, name: str = "城市管理和综合执法局") -> Department:
    return Department.objects.get_or_create(street=street_, name=name)[0]


def schedule(council_community: Community, **fields):
    """A meeting schedule of the community's council (8th, 18th, 28th at 15:00 by default)."""
    from deliberation.models import Schedule

    fields.setdefault("place", "社区居民议事点")
    return Schedule.objects.create(council=council_community.council, **fields)


def meeting(community_: Community, starts_at: dt.datetime, **fields):
    """A scheduled meeting of the community's council, announced three days before."""
    from deliberation.models import Meeting

    fields.setdefault("place", "社区居民议事点")
    return Meeting.objects.create(
        council=community_.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        **fields,
    )


def resolved_issue(community_: Community, *, actor, **fields):
    """An issue reported, taken up and resolved through the domain actions (a review is booked)."""
    from issues.actions import handling

    reported = issue(community_, actor=actor, **fields)
    handling.issue_transition(issue=reported, actor=actor, name="start")
    return handling.issue_transition(issue=reported, actor=actor, name="resolve")
