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
