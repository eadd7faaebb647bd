"""Builders for volunteer teams, activities and service hours, through the actions."""

from __future__ import annotations

import datetime as dt

from members.models import Community, User
from tests import factories
from tests.helpers.clock import local
from volunteers.actions import activities, ledger, teams
from volunteers.models import Activity, ExchangeRule, Team, Volunteer


def team(community: Community, staff: User, name: str = "萤火虫") -> Team:
    return teams.team_create(community=community, name=name, purpose="治安巡逻", actor=staff)


def volunteer(
    team_: Team, staff: User, name: str, *, account: str = "", leader: bool = False
) -> Volunteer:
    resident = factories.resident(team_.community, name)
    membership = teams.team_add_member(team=team_, resident=resident, actor=staff, as_leader=leader)
    if account:
        return teams.volunteer_enrol(
            resident=resident, user=factories.user(account, display_name=name)
        )
    return membership.volunteer


def activity(team_: Team, staff: User, *, starts: dt.datetime | None = None, hours: int = 2):
    starts = starts or local(2026, 11, 18, 9, 0)
    return activities.activity_create(
        team=team_,
        title="夜间巡逻",
        place="小区东门",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours),
        headcount=5,
        actor=staff,
    )


def served(activity_: Activity, volunteer_: Volunteer, staff: User, *, in_at, out_at):
    """Signed up, in at ``in_at``, out at ``out_at``, confirmed by ``staff``."""
    attendance = activities.activity_sign_up(activity=activity_, volunteer=volunteer_, actor=staff)
    activities.attendance_sign_in(attendance=attendance, actor=staff, at=in_at)
    activities.attendance_sign_out(attendance=attendance, actor=staff, at=out_at)
    return activities.attendance_confirm(attendance=attendance, actor=staff)


def class_rule(community: Community, staff: User) -> ExchangeRule:
    return ledger.rule_create(
        community=community, minutes=40, gives="老年学校课程 1.5 小时", actor=staff
    )


def decided_matter(community: Community, staff: User, outcome: str, *, at: dt.datetime,
                   title: str = "二巷杂物堆积"):  # fmt: skip
    """A matter on the agenda of a meeting starting at ``at``, decided with ``outcome`` by a
    quorum (the clock must allow recording a decision at that meeting)."""
    from deliberation.actions import running
    from deliberation.models import AgendaItem, Meeting
    from issues.actions import handling
    from tests.helpers.meetings import quorum_present

    issue = factories.issue(community, actor=staff, title=title, place="二巷东口")
    issue = handling.issue_transition(issue=issue, actor=staff, name="accept")
    meeting = Meeting.objects.create(
        council=community.council,
        starts_at=at,
        notice_due_at=at - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)
    present = quorum_present(meeting, staff)
    running.decision_record(
        item=item,
        actor=staff,
        outcome=outcome,
        notes="居民自己清理",
        explanation="不属议事范围" if outcome == "not_actionable" else "",
        members=present if outcome == "solve_by_council" else (),
        due_on=(at + dt.timedelta(days=40)).date() if outcome == "solve_by_council" else None,
    )
    issue.refresh_from_db()
    return issue
