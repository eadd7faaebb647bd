"""The demo street's visiting teams, this quarter's round and some visits (``seed_demo``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from deliberation.management.commands.seed_demo import DEMO_PASSWORD
from issues.actions import handling
from issues.models import Category
from members import notifications
from members.models import Community, Department, Street, User
from visits.actions import asked, rounds, teams, visiting
from visits.models import Team, TeamMember, Visit

TEAMS = [
    ("马南片区走访工作团队", ["马南社区", "新华社区", "东风社区"]),
    ("幸福村片区走访工作团队", ["幸福村社区", "城西社区", "石湾社区"]),
]


def seed(street: Street, other: Street) -> list[tuple[str, str, str]]:
    """Two teams of 南恩街道 (one led by a cadre sent down from a department, with an
    account of no other role), this quarter's round, visits and the matters raised."""
    admin = User.objects.get(username="nanen_admin")
    cadre, _ = User.objects.get_or_create(
        username="nanen_cadre", defaults={"display_name": "李下沉 (城管局)"}
    )
    cadre.set_password(DEMO_PASSWORD)
    cadre.save(update_fields=["password"])
    colleague, _ = User.objects.get_or_create(
        username="nanen_visitor", defaults={"display_name": "街道 走访队员"}
    )
    colleague.set_password(DEMO_PASSWORD)
    colleague.save(update_fields=["password"])
    communities = {c.name: c for c in Community.objects.filter(street=street)}
    today = timezone.localdate()
    start = today - dt.timedelta(days=60)
    first = Team.objects.filter(street=street, name=TEAMS[0][0]).first()
    if first is None:
        first = teams.team_create(
            actor=admin,
            street=street,
            name=TEAMS[0][0],
            leader=cadre,
            members=[colleague],
            communities=[communities[name] for name in TEAMS[0][1]],
            today=start,
        )
        # The register knows nobody in 马南社区's new 9栋 yet: the round gives the team the
        # building itself to walk.
        teams.building_set(actor=admin, team=first, community=communities["马南社区"],
                           lane="", building="9栋", flats=24)  # fmt: skip
        department = Department.objects.get(street=street, name="城市管理和综合执法局")
        TeamMember.objects.filter(team=first, user=cadre).update(
            kind=TeamMember.Kind.SENT_DOWN, department=department
        )
        teams.team_create(
            actor=admin,
            street=street,
            name=TEAMS[1][0],
            leader=colleague,
            members=[],
            communities=[communities[name] for name in TEAMS[1][1]],
            today=start,
        )
        notifications.notify(
            cadre,
            "welcome",
            {"name": cadre.display_name, "place": first.name},
            channels=["inapp"],
            key=f"welcome:{cadre.pk}",
        )
    quarter_start = dt.date(today.year, (rounds.quarter_of(today) - 1) * 3 + 1, 1)
    round_, created = rounds.round_open(
        street=street,
        year=today.year,
        quarter=rounds.quarter_of(today),
        today=quarter_start,
    )
    if created:
        _visits(first, cadre, colleague, round_.opened_on, today)
        second = Team.objects.get(street=street, name=TEAMS[1][0])
        _round_done(second, colleague, round_.opened_on, today)
        _asked_and_returned(first, cadre, admin, today)
    return [
        ("nanen_cadre", "走访工作团队队长 (下沉干部)", first.name),
        ("nanen_visitor", "走访工作团队队员", street.name),
    ]


def _visits(team: Team, cadre: User, colleague: User, opened: dt.date, today: dt.date) -> None:
    targets = list(
        team.targets.filter(resident__isnull=False)
        .select_related("resident__community")
        .order_by("id")[:12]
    )
    category = Category.objects.filter(street=team.street, is_active=True).order_by("id")
    said = ["家中老人身体不错，希望楼道灯早点修好。", "反映楼下商铺油烟大。", "一切正常。"]
    for index, target in enumerate(targets):
        concerns = []
        if index % 4 == 1:
            concerns = [
                {"title": "楼道灯坏了", "category": category.first(), "description": "三楼到五楼"},
                {"title": "商铺油烟扰民", "category": category.last(), "description": ""},
            ]
        visiting.visit_record(
            actor=cadre if index % 2 else colleague,
            team=team,
            resident=target.resident,
            kind=Visit.Kind.CONCENTRATED,
            visited_on=min(today, opened + dt.timedelta(days=index % 8)),
            visitors=[cadre, colleague],
            notes=said[index % len(said)],
            concerns=concerns,
            today=today,
        )


def _round_done(team: Team, leader: User, opened: dt.date, today: dt.date) -> None:
    """Every household of the team's round visited in time: beside the first team, which
    lags, the quarter's review flags one team and not the other."""
    for index, target in enumerate(
        team.targets.filter(resident__isnull=False).select_related("resident").order_by("id")
    ):
        visiting.visit_record(
            actor=leader,
            team=team,
            resident=target.resident,
            kind=Visit.Kind.CONCENTRATED,
            visited_on=min(today, opened + dt.timedelta(days=index % 8)),
            visitors=[leader],
            notes="一切正常。",
            today=today,
        )


def _asked_and_returned(team: Team, cadre: User, admin: User, today: dt.date) -> None:
    """Two visits residents asked for from the public page (one already given a date) and a
    matter raised on a visit, since resolved, that waits for its return visit."""
    resident = (
        team.targets.filter(resident__isnull=False)
        .select_related("resident__community")
        .order_by("-id")
        .first()
        .resident
    )
    waiting = asked.asked_visit_create(
        community=resident.community,
        name="周阿婆",
        topic="想了解老旧小区加装电梯的政策",
        phone="13800138021",
        phone_consent=True,
        address="五巷 2栋 301",
        preferred_times="工作日下午",
    )
    asked.asked_visit_create(
        community=resident.community,
        name="钱先生",
        topic="小区停车位不够，想当面聊聊",
        address="六巷 1栋 102",
        preferred_times="周末",
    )
    when = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=3), dt.time(15, 0)))
    asked.asked_visit_schedule(actor=cadre, asked=waiting, when=when)
    other = Category.objects.get(street=team.street, code="other")
    visit = visiting.visit_record(
        actor=cadre,
        team=team,
        resident=resident,
        kind=Visit.Kind.THEMATIC,
        visited_on=today - dt.timedelta(days=20),
        visitors=[cadre],
        notes="反映单元门禁坏了。",
        concerns=[{"title": "单元门禁坏了", "category": other, "description": "刷卡没反应"}],
        today=today,
    )
    issue = visit.concerns.get().issue
    handling.issue_transition(issue=issue, actor=admin, name="start")
    handling.issue_transition(issue=issue, actor=admin, name="resolve", note="已更换门禁读卡器")
