"""Demo data: 南恩街道 with 16 communities, their councils and residents, one account per role.

Idempotent: running it again finds what exists and creates nothing twice; the
demo accounts' passwords are reset to the printed ones.
"""

from __future__ import annotations

import datetime as dt
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from deliberation.actions import review_items
from members import notifications
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

DEMO_PASSWORD = "yishi-demo-2026"

MAIN_STREET = "南恩街道"
MAIN_COMMUNITIES = [
    "马南社区",
    "幸福村社区",
    "新华社区",
    "东风社区",
    "城西社区",
    "石湾社区",
    "金山社区",
    "南华社区",
    "建设社区",
    "红星社区",
    "北环社区",
    "平冈社区",
    "沿江社区",
    "紫荆社区",
    "鸿运社区",
    "西平社区",
]
OTHER_STREET = "城北街道"
OTHER_COMMUNITIES = ["北山社区", "龙塘社区"]
DEPARTMENTS = [
    "住房和城乡建设局",
    "城市管理和综合执法局",
    "南恩派出所",
    "市场监督管理局",
    "生态环境局",
    "供电局南恩供电所",
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾"
GIVEN = "建国秀英桂兰志强丽华文明淑珍德明玉梅海燕国华红梅伟民金凤振华春花永强美玲家宝少芳"
DEMO_ISSUES = [
    ("三栋电梯经常停运", "facilities", "3栋"),
    ("老旧小区没有晾衣的地方", "interests", "一巷空地"),
    ("小公园想加一个饮水机", "facilities", "社区小公园"),
    ("化粪池堵塞，楼上楼下起纠纷", "neighbours", "5栋一楼"),
    ("楼道堆放杂物", "environment", "2栋楼道"),
    ("夜里狗叫扰民", "neighbours", "和平巷"),
    ("车辆占用消防通道", "security", "东园巷口"),
    ("垃圾清运不及时", "environment", "新风巷垃圾点"),
    ("路灯坏了好几天", "other", "二巷"),
    ("加装电梯需要政策支持", "policy", "7栋"),
]
DEMO_CHANNELS = [
    "patrol",
    "suggestion_box",
    "chat_group",
    "home_visit",
    "deliberation_point",
    "hotline",
]
LANES = ["一巷", "二巷", "三巷", "新风巷", "和平巷", "东园巷"]


DEMO_REPLIES = [
    (
        "已受理",
        "{称呼}您好，您反映的问题已受理（查询码 {查询码}），我们将在{期限}前处理，请留意短信。",
    ),
    (
        "已转交街道",
        "{称呼}您好，您反映的问题需要街道协调，已于{日期}转交，进展可用查询码 {查询码} 查看。",
    ),
    (
        "需要补充信息",
        "{称呼}您好，为尽快处理，请告诉我们具体楼栋和时间，可回复短信或到社区办公室。",
    ),
]


class Command(BaseCommand):
    help = "Create or refresh the demo street, communities, councils, residents and accounts."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        from issues.categories import seed_categories

        street, _ = Street.objects.get_or_create(name=MAIN_STREET)
        other, _ = Street.objects.get_or_create(name=OTHER_STREET)
        seed_categories(street)
        seed_categories(other)
        self._reply_rules(street)
        for name in DEPARTMENTS:
            Department.objects.get_or_create(street=street, name=name)
        Department.objects.get_or_create(street=other, name="城北街道城管中队")

        communities = {
            name: self._community(street, name, size=40 if name == "马南社区" else 22)
            for name in MAIN_COMMUNITIES
        }
        for name in OTHER_COMMUNITIES:
            self._community(other, name, size=22)

        accounts = self._accounts(street, other, communities)
        accounts.append(self._cadre(communities["马南社区"]))
        self._issues(street, communities)
        self._meetings(communities)
        self._reviews(communities)
        self._history(communities)
        from deliberation import extensions

        for app in sorted(extensions.demo_seed.keys()):
            accounts += extensions.demo_seed(app, street, other)
        # The seed dates matters back around the actions: their months are rebuilt, as after
        # any import.
        from issues import rollup

        rollup.rebuild()
        self._print(accounts)

    @staticmethod
    def _reply_rules(street: Street) -> None:
        """First-reply deadlines for the urgent kinds, and the replies staff use most."""
        from issues.models import Category, ReplyTemplate

        Category.objects.filter(street=street, code="security").update(first_reply_days=1)
        Category.objects.filter(street=street, code="facilities").update(first_reply_days=3)
        for title, body in DEMO_REPLIES:
            ReplyTemplate.objects.get_or_create(
                street=street, title=title, is_active=True, defaults={"body": body}
            )

    def _community(self, street: Street, name: str, *, size: int) -> Community:
        community, _ = Community.objects.get_or_create(street=street, name=name)
        council, _ = Council.objects.get_or_create(
            community=community, defaults={"name": f"{name}居民议事会"}
        )
        if community.residents.exists():
            return community
        rng = random.Random(name)
        names = self._unique_names(rng, size)
        residents = []
        for index, person in enumerate(names):
            lane = rng.choice(LANES)
            residents.append(
                Resident(
                    community=community,
                    name=person,
                    phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if index % 5 else "",
                    lane=lane,
                    building=f"{rng.randint(1, 12)}栋",
                    room=f"{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                )
            )
        Resident.objects.bulk_create(residents)
        residents = list(community.residents.order_by("id"))
        member_count = rng.randint(12, min(18, len(residents) - 4))
        categories = list(CouncilMember.Category.values)
        terms = []
        for index, resident in enumerate(residents[:member_count]):
            role = (
                CouncilMember.Role.LEADER
                if index == 0
                else CouncilMember.Role.DEPUTY
                if index == 1
                else CouncilMember.Role.MEMBER
            )
            terms.append(
                CouncilMember(
                    council=council,
                    resident=resident,
                    role=role,
                    category=categories[index % len(categories)],
                    is_lane_leader=index % 4 == 2,
                    covers_lane=resident.lane if index % 4 == 2 else "",
                    is_building_leader=index % 4 == 3,
                    covers_building=resident.building if index % 4 == 3 else "",
                    is_party_household=index % 3 == 1,
                    joined_on=dt.date(2023, 1, 8) + dt.timedelta(days=30 * index),
                )
            )
        CouncilMember.objects.bulk_create(terms)
        # One former member, so the history view has something to show.
        former = residents[member_count]
        CouncilMember.objects.create(
            council=council,
            resident=former,
            role=CouncilMember.Role.MEMBER,
            category=CouncilMember.Category.OLD_TEACHER,
            joined_on=dt.date(2021, 3, 18),
            left_on=dt.date(2023, 6, 28),
            leave_reason="搬离本社区后又回迁",
        )
        return community

    @staticmethod
    def _unique_names(rng: random.Random, count: int) -> list[str]:
        names: list[str] = []
        while len(names) < count:
            given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            name = rng.choice(SURNAMES) + given
            if name not in names:
                names.append(name)
        return names

    def _accounts(
        self, street: Street, other: Street, communities: dict[str, Community]
    ) -> list[tuple[str, str, str]]:
        manan, xingfu = communities["马南社区"], communities["幸福村社区"]
        leader = CouncilMember.objects.get(
            council__community=manan, role=CouncilMember.Role.LEADER, left_on__isnull=True
        )
        department = Department.objects.get(street=street, name="城市管理和综合执法局")
        plan = [
            (
                "manan_staff",
                "马南社区 工作人员",
                "community_staff",
                {"community": manan},
                manan.name,
            ),
            (
                "xingfu_staff",
                "幸福村社区 工作人员",
                "community_staff",
                {"community": xingfu},
                xingfu.name,
            ),
            ("nanen_admin", "南恩街道 管理员", "street_admin", {"street": street}, street.name),
            ("chengbei_admin", "城北街道 管理员", "street_admin", {"street": other}, other.name),
            (
                "manan_member",
                leader.resident.name,
                "council_member",
                {"council_member": leader},
                manan.name,
            ),
            (
                "city_handler",
                "城管局 办理人",
                "department_handler",
                {"department": department},
                department.name,
            ),
        ]
        printed = []
        for username, display_name, kind, scope, place in plan:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"display_name": display_name}
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            Role.objects.get_or_create(user=user, kind=kind, **scope)
            notifications.notify(
                user,
                "welcome",
                {"name": display_name, "place": place},
                channels=["inapp"],
                key=f"welcome:{user.pk}",
            )
            printed.append((username, str(Role.Kind(kind).label), place))
        return printed

    def _issues(self, street: Street, communities: dict[str, Community]) -> None:
        """A realistic inbox: typical matters in every state, one escalated to the street."""
        from issues.actions import intake, supporters
        from issues.models import Category, Issue

        staff = {
            c.name: User.objects.filter(roles__community=c).first() for c in communities.values()
        }
        admin = User.objects.get(username="nanen_admin")
        handler = User.objects.get(username="city_handler")
        categories = {c.code: c for c in Category.objects.filter(street=street)}
        for position, name in enumerate(MAIN_COMMUNITIES):
            community = communities[name]
            if Issue.objects.filter(community=community).exists():
                continue
            actor = staff.get(name) or admin
            rng = random.Random(f"issues-{name}")
            residents = list(community.residents.filter(is_active=True)[:20])
            count = 14 if name == "马南社区" else 4 + position % 5
            first_of: dict[str, Issue] = {}
            for index in range(count):
                title, code, place = DEMO_ISSUES[(index + position) % len(DEMO_ISSUES)]
                earlier = first_of.get(title)
                if earlier is not None:
                    earlier.refresh_from_db(fields=["status"])
                if earlier is not None and earlier.is_open:
                    # The same matter again: the hint led the resident to "me too" on it.
                    supporters.issue_me_too(
                        issue=earlier,
                        actor=actor,
                        channel=rng.choice(DEMO_CHANNELS),
                        resident=rng.choice(residents) if residents else None,
                        phone="" if residents else f"1390000{index:04d}",
                    )
                    continue
                issue = first_of[title] = intake.issue_report(
                    actor=actor,
                    community=community,
                    title=title,
                    category=categories[code],
                    channel=rng.choice(DEMO_CHANNELS),
                    description=f"{title}，居民反映已有一段时间，希望尽快处理。",
                    place=place,
                    is_urgent=index % 7 == 3,
                    reporter=rng.choice(residents) if residents and index % 3 else None,
                )
                self._advance(issue, actor, admin, handler, street, index)

    @staticmethod
    def _advance(issue, actor, admin, handler, street, index) -> None:
        from issues.actions import escalations, handling

        steps = index % 6
        if steps >= 1:
            issue = handling.issue_transition(issue=issue, actor=actor, name="accept")
        if steps == 2:
            handling.issue_assign(
                issue=issue,
                actor=actor,
                members=list(issue.community.council.members.filter(left_on__isnull=True)[:2]),
                due_on=dt.date.today() + dt.timedelta(days=10),
            )
        if steps in (3, 4):
            escalations.issue_escalate(
                issue=issue, actor=actor, reason="议事会无法解决，需社区协调"
            )
            issue = escalations.issue_escalate(
                issue=issue, actor=actor, reason="涉及市政设施，超出社区职权，请街道协调职能部门"
            )
        if steps == 4:
            escalation = issue.escalations.get()
            escalations.escalation_accept(
                escalation=escalation,
                actor=admin,
                department=Department.objects.get(street=street, name="城市管理和综合执法局"),
                deadline=dt.date.today() + dt.timedelta(days=7),
            )
        if steps == 5 and not issue.category.must_deliberate:
            issue = handling.issue_transition(issue=issue, actor=actor, name="start")
            handling.issue_transition(issue=issue, actor=actor, name="resolve")

    @staticmethod
    def _meetings(communities: dict[str, Community]) -> None:
        """Every council meets on the 8th, 18th and 28th; the next weeks' meetings exist."""
        from django.utils import timezone

        from deliberation.actions import materialise
        from deliberation.models import Schedule

        for community in communities.values():
            Schedule.objects.get_or_create(
                council=community.council,
                defaults={"place": f"{community.name}居民议事点"},
            )
        materialise.meetings_materialise(today=timezone.localdate())
        Command._held_meeting(communities["马南社区"])
        Command._next_joint_meeting(communities["马南社区"])

    @staticmethod
    def _next_joint_meeting(manan: Community) -> None:
        """The power supply office and the cadre are invited to 马南社区's next meeting too, and
        the street makes it a joint meeting with 幸福村社区's council."""
        from django.utils import timezone

        from deliberation.actions import joint
        from deliberation.models import Meeting, MeetingGuest
        from members.models import Council

        following = (
            Meeting.objects.filter(
                council=manan.council, state=Meeting.State.SCHEDULED, starts_at__gt=timezone.now()
            )
            .order_by("starts_at", "id")
            .first()
        )
        if following is None:
            return
        if not MeetingGuest.objects.filter(meeting=following).exists():
            Command._invite_guests(following, manan, User.objects.get(username="manan_staff"))
        # A joint meeting (联席会议): the street joins 幸福村社区's council to it.
        if not following.joined_councils.exists():
            xingfu = Council.objects.filter(
                community__street_id=manan.street_id, community__name="幸福村社区"
            ).first()
            if xingfu is not None:
                joint.joined_councils_set(
                    meeting=following,
                    actor=User.objects.get(username="nanen_admin"),
                    councils=[xingfu],
                )

    @staticmethod
    def _held_meeting(manan: Community) -> None:
        """A meeting 马南社区 held a week ago, with its decision and approved minutes."""
        from django.utils import timezone

        from deliberation.actions import agenda, closing, guests, minutes, running
        from deliberation.models import Meeting

        council = manan.council
        if Meeting.objects.filter(council=council, state=Meeting.State.HELD).exists():
            return
        day = timezone.localdate() - dt.timedelta(days=7)
        starts = dt.datetime.combine(day, dt.time(15), tzinfo=timezone.get_current_timezone())
        meeting, _ = Meeting.objects.get_or_create(
            council=council,
            starts_at=starts,
            defaults={
                "place": f"{manan.name}居民议事点",
                "notice_due_at": starts - dt.timedelta(days=3),
                "notice_sent_at": starts - dt.timedelta(days=3),
                "reminder_sent_at": starts - dt.timedelta(hours=8),
            },
        )
        staff = User.objects.get(username="manan_staff")
        leader = User.objects.get(username="manan_member")
        terms = list(CouncilMember.objects.filter(council=council, left_on__isnull=True))
        present = terms[: len(terms) * 3 // 4]
        for term in present:
            running.attendance_sign_in(meeting=meeting, member=term, actor=staff, how="staff")
        # A joint meeting (联建联动): the power supply office and a cadre sent down attend
        # without a vote.
        for guest in Command._invite_guests(meeting, manan, staff):
            guests.guest_sign_in(guest=guest, actor=staff, how="staff")
        item = agenda.agenda_topic_add(
            meeting=meeting, actor=staff, topic="小区东侧空地改建停车位的方案"
        )
        running.decision_record(
            item=item,
            actor=staff,
            outcome="solve_by_council",
            notes="先征求3栋、5栋住户意见，下次会议前由楼栋长汇总。",
            tally=running.Tally(len(present) - 1, 0, 1),
        )
        closing.meeting_close(meeting=meeting, actor=staff)
        draft = minutes.minutes_draft(meeting=meeting, actor=staff)
        minutes.minutes_approve(minutes=draft, actor=leader)

    def _cadre(self, manan: Community) -> tuple[str, str, str]:
        """A cadre sent down to 马南社区 (下沉干部): an account with no role, which sees the
        meetings it is invited to and the matters on their agendas."""
        from django.utils.translation import gettext

        from members.models import OutsideUnit

        cadre, _created = User.objects.get_or_create(
            username="manan_cadre", defaults={"display_name": "区住建局 下沉干部 赵明"}
        )
        cadre.set_password(DEMO_PASSWORD)
        cadre.save(update_fields=["password"])
        for name, contact, phone in (
            ("区供电所", "周建国", "13900001111"),
            ("马南小学", "王丽", "13900002222"),
        ):
            OutsideUnit.objects.get_or_create(
                community=manan, name=name, defaults={"contact_name": contact, "phone": phone}
            )
        return ("manan_cadre", gettext("cadre sent down"), manan.name)

    @staticmethod
    def _invite_guests(meeting, manan: Community, staff: User) -> list:
        """Invite the power supply office and the cadre to ``meeting``, without a vote."""
        from deliberation.actions import guests
        from members.models import OutsideUnit

        unit = OutsideUnit.objects.get(community=manan, name="区供电所")
        cadre = User.objects.get(username="manan_cadre")
        return [
            guests.guest_invite(meeting=meeting, actor=staff, unit=unit),
            guests.guest_invite(meeting=meeting, actor=staff, cadre=cadre),
        ]

    @staticmethod
    def _reviews(communities: dict[str, Community]) -> None:
        """Matters resolved over the past weeks, at every stage of their follow-up review.

        Some rated and closed by the council, one reopened by a resident's "no", one on the
        council's next agenda: the figures on the home pages have something to count.
        """
        from django.utils import timezone

        from issues import reviews
        from issues.actions import handling, intake
        from issues.models import Category, FollowUpReview, Issue

        now = timezone.now()
        admin = User.objects.get(username="nanen_admin")
        for position, name in enumerate(MAIN_COMMUNITIES):
            community = communities[name]
            if FollowUpReview.objects.filter(issue__community=community, state="done").exists():
                continue
            actor = User.objects.filter(roles__community=community).first() or admin
            categories = {c.code: c for c in Category.objects.filter(street=community.street)}
            resolved = []
            for index in range(8 if name == "马南社区" else 3 + position % 4):
                title, code, place = DEMO_ISSUES[(index * 3 + position) % len(DEMO_ISSUES)]
                at = now - dt.timedelta(days=12 + 4 * index)
                issue = intake.issue_report(
                    actor=actor,
                    community=community,
                    title=title,
                    category=categories[code],
                    channel=DEMO_CHANNELS[index % len(DEMO_CHANNELS)],
                    place=place,
                    contact_name="居民",
                    contact_phone=f"139{position:02d}{index:06d}",
                )
                issue = handling.issue_record_deliberation(
                    issue=issue, actor=actor, at=at - dt.timedelta(days=3)
                )
                issue = handling.issue_transition(issue=issue, actor=actor, name="start")
                issue = handling.issue_transition(issue=issue, actor=actor, name="resolve")
                # As if reported some days before and resolved ``at``: the review came due a
                # week later.
                Issue.objects.filter(pk=issue.pk).update(
                    created=at - dt.timedelta(days=4 + index % 5), resolved_at=at
                )
                FollowUpReview.objects.filter(issue=issue, state="pending").update(
                    resolved_at=at, due_at=at + dt.timedelta(days=7)
                )
                resolved.append((index, issue, at))
            review_items.reviews_sweep(now=now)
            for index, issue, at in resolved:
                review = issue.reviews.get(state="sent")
                settled = at + dt.timedelta(days=8 + index % 5)
                if index % 4 in (0, 1):
                    reviews.review_rate(
                        review=review, actor=None, fixed="yes", satisfaction=5 - index % 2
                    )
                    reviews.review_council_record(
                        issue=issue, actor=actor, outcome="effective", now=settled
                    )
                elif index % 4 == 2:
                    reviews.review_rate(
                        review=review, actor=None, fixed="no", satisfaction=2, now=settled,
                        comment="下雨天还是一样",
                    )  # fmt: skip

    @staticmethod
    @transaction.atomic  # one commit, not one per action: seconds on SQLite
    def _history(communities: dict[str, Community]) -> None:
        """A year of matters collected and resolved, so the dashboards have months to show.

        Each goes through the actions (report, deliberate, resolve, the council's review),
        then its dates are moved back to when it happened.
        """
        from issues import reviews
        from issues.actions import handling, intake
        from issues.models import Category, Event, FollowUpReview, Issue

        now = timezone.now()
        admin = User.objects.get(username="nanen_admin")
        for position, name in enumerate(MAIN_COMMUNITIES):
            community = communities[name]
            if Issue.objects.filter(community=community, created__lt=now - dt.timedelta(days=60)):
                continue
            rng = random.Random(f"history-{name}")
            actor = User.objects.filter(roles__community=community).first() or admin
            categories = {c.code: c for c in Category.objects.filter(street=community.street)}
            settled = []
            for months_back in range(11, 0, -1):
                for index in range(rng.randint(0, 2) if position else rng.randint(2, 4)):
                    title, code, place = DEMO_ISSUES[rng.randrange(len(DEMO_ISSUES))]
                    created = now - dt.timedelta(days=30 * months_back + rng.randint(0, 27))
                    issue = intake.issue_report(
                        actor=actor, community=community, title=title,
                        category=categories[code], channel=rng.choice(DEMO_CHANNELS), place=place,
                    )  # fmt: skip
                    issue = handling.issue_record_deliberation(
                        issue=issue, actor=actor, at=created + dt.timedelta(days=1)
                    )
                    issue = handling.issue_transition(issue=issue, actor=actor, name="start")
                    issue = handling.issue_transition(issue=issue, actor=actor, name="resolve")
                    resolved = created + dt.timedelta(days=rng.choice([2, 3, 5, 6, 9, 12, 20]))
                    Issue.objects.filter(pk=issue.pk).update(created=created, resolved_at=resolved)
                    Event.objects.filter(issue=issue).update(created=resolved)
                    Event.objects.filter(issue=issue, kind=Event.Kind.CREATED).update(
                        created=created
                    )
                    FollowUpReview.objects.filter(issue=issue, state="pending").update(
                        resolved_at=resolved, due_at=resolved + dt.timedelta(days=7)
                    )
                    settled.append((issue, resolved + dt.timedelta(days=8 + index)))
            review_items.reviews_sweep(now=now)
            for issue, at in settled:
                reviews.review_council_record(issue=issue, actor=actor, outcome="effective", now=at)

    def _print(self, accounts: list[tuple[str, str, str]]) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\nDemo accounts (password for all: {DEMO_PASSWORD})")
        )
        for username, role, place in accounts:
            self.stdout.write(f"  {username:<16} {role} · {place}")
        self.stdout.write("")
