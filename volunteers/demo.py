"""Demo data: 马南社区's six volunteer teams, a few months of their activities, hours and
exchanges, and a volunteer's account. Run by ``seed_demo`` after the rest of the demo;
idempotent like it (a second run finds the teams and creates nothing)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from deliberation.management.commands.seed_demo import DEMO_PASSWORD
from members.models import Community, CouncilMember, Street, User
from volunteers.actions import activities, ledger, teams
from volunteers.models import Attendance, ExchangeRule, Team

TEAMS = [
    ("萤火虫", "治安巡逻：夜间巡查楼道、车棚和小区出入口", "小区东门"),
    ("指南针", "文明劝导：劝导乱停车、乱扔垃圾和不文明养犬", "社区广场"),
    ("小号手", "政策宣传：入户和在宣传栏讲解惠民政策", "社区宣传栏"),
    ("向日葵", "关爱老人：陪伴独居和高龄老人，聊天读报", "社区日间照料中心"),
    ("小蜜蜂", "环境清洁：清理楼道杂物和公共区域卫生", "各楼栋"),
    ("红色代跑", "代办跑腿：替行动不便的居民买药、缴费、取件", "社区服务站"),
]
RULES = [
    (40, "老年学校课程 1.5 小时"),
    (120, "洗衣液一瓶"),
    (300, "大米一袋（5 公斤）"),
]
VOLUNTEER_ACCOUNT = "manan_volunteer"
WEEKS_BACK = 12


def seed_street(street: Street, other: Street) -> list[tuple[str, str, str]]:
    """``deliberation.extensions.demo_seed``: the teams of the street's 马南社区."""
    return seed(Community.objects.get(street=street, name="马南社区"), password=DEMO_PASSWORD)


def seed(community: Community, *, password: str) -> list[tuple[str, str, str]]:
    """The teams, their history and the demo volunteer's account; the accounts to print."""
    staff = User.objects.get(username="manan_staff")
    if not Team.objects.filter(community=community).exists():
        _teams(community, staff)
    leader = Team.objects.get(community=community, name="萤火虫").leader
    account, _ = User.objects.get_or_create(
        username=VOLUNTEER_ACCOUNT, defaults={"display_name": leader.resident.name}
    )
    account.set_password(password)
    account.save(update_fields=["password"])
    teams.volunteer_enrol(resident=leader.resident, user=account)
    return [(VOLUNTEER_ACCOUNT, "志愿者（萤火虫队长）", community.name)]


def _teams(community: Community, staff: User) -> None:
    rng = random.Random("volunteers")
    residents = list(community.residents.filter(is_active=True).order_by("id"))
    council_leader = CouncilMember.objects.get(
        council__community=community, role=CouncilMember.Role.LEADER, left_on__isnull=True
    ).resident
    pool = residents[len(residents) // 2 :]  # mostly not on the council
    for minutes, gives in RULES:
        ExchangeRule.objects.get_or_create(community=community, minutes=minutes, gives=gives)
    made = []
    for index, (name, purpose, place) in enumerate(TEAMS):
        team = teams.team_create(community=community, name=name, purpose=purpose, actor=staff)
        joined = dt.date(2026, 6, 1) + dt.timedelta(days=index)
        people = rng.sample(pool, 6)
        if name == "向日葵":  # the council's leader volunteers too: the tile on their home
            people[0] = council_leader
        for position, resident in enumerate(people):
            teams.team_add_member(
                team=team, resident=resident, as_leader=position == 0, actor=staff, on=joined
            )
        made.append((team, place))
    now = timezone.now()
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    for index, (team, place) in enumerate(made):
        members = [m.volunteer for m in team.memberships.select_related("volunteer__resident")]
        leader_account = staff
        for week in range(WEEKS_BACK, -2, -1):
            day = today - dt.timedelta(days=7 * week - index)
            starts = dt.datetime.combine(day, dt.time(9 if index % 2 else 15, 0), tzinfo=zone)
            activity = activities.activity_create(
                team=team,
                title=f"{team.name}第{WEEKS_BACK - week + 1}次活动",
                place=place,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=2),
                headcount=5,
                actor=leader_account,
            )
            coming = rng.sample(members, 4)
            if activity.ends_at > now:
                for volunteer in coming[:2]:
                    activities.activity_sign_up(activity=activity, volunteer=volunteer, actor=staff)
                continue
            for volunteer in coming:
                attendance = Attendance.objects.create(activity=activity, volunteer=volunteer)
                signed_in = starts + dt.timedelta(minutes=rng.choice([-10, 0, 5, 15]))
                attendance = activities.attendance_sign_in(
                    attendance=attendance, actor=staff, at=signed_in
                )
                signed_out = starts + dt.timedelta(minutes=rng.choice([60, 90, 115, 130]))
                attendance = activities.attendance_sign_out(
                    attendance=attendance, actor=staff, at=signed_out
                )
                activities.attendance_confirm(attendance=attendance, actor=staff)
    _thanks(made, staff)
    class_rule = ExchangeRule.objects.get(community=community, minutes=40)
    for team, _place in made:
        for membership in team.memberships.select_related("volunteer__balance")[:2]:
            volunteer = membership.volunteer
            volunteer.balance.refresh_from_db()
            if volunteer.balance.minutes >= 80:
                ledger.exchange_make(
                    volunteer=volunteer, rule=class_rule, quantity=2, actor=staff,
                    note="老年学校书法班",
                )  # fmt: skip


def _thanks(made: list[tuple[Team, str]], staff: User) -> None:
    """Two members of each team agreed to be thanked in public, by a name of their choice."""
    for team, _place in made:
        for number, membership in enumerate(
            team.memberships.select_related("volunteer__resident").order_by("id")[:2]
        ):
            surname = membership.volunteer.resident.name[:1]
            teams.membership_thanks_set(
                membership=membership,
                consent=True,
                name=f"{surname}阿姨" if number == 0 else f"{surname}师傅",
                actor=staff,
            )
