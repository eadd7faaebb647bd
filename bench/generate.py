"""A realistic data set for the benchmark, written straight into the configured database.

Everything lives under one street, 基准街道 ("benchmark street"), and accounts
whose names start with ``bench_``. Issues are written in chunks of
``CHUNK`` issues; each chunk (its issues with their events, photos, assigned
members and escalations) is one transaction, generated from a random stream
seeded by the chunk's number. So an interrupted run leaves whole chunks, and
running again continues where it stopped with exactly the data it would have
written; running again when every issue is there writes nothing.

On PostgreSQL rows go in with ``COPY`` (psycopg's ``cursor.copy``), elsewhere
with ``executemany``. Only one chunk is held in memory at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from bench import vocabulary as words
from issues import rollup, search
from issues.actions import upkeep
from issues.actions.intake import TRACKING_ALPHABET
from issues.categories import seed_categories
from issues.models import Category, Escalation, Event, Issue, Photo
from members.models import (
    Community,
    Council,
    CouncilMember,
    Department,
    Notice,
    Resident,
    Role,
    Street,
    User,
)

STREET = "基准街道"
USER_PREFIX = "bench_"
CHUNK = 10_000
SEED = 20261125
SPAN = dt.timedelta(days=3 * 365)
COUNCIL_SIZE = 12
MEMBER_ACCOUNTS = 3  # council members per community who have an account
# Contact details of matters closed this long ago have been erased (PIPL art. 19).
CONTACT_RETENTION = getattr(upkeep, "CONTACT_RETENTION", dt.timedelta(days=183))
PLACEHOLDERS = [f"bench/placeholder-{n}.jpg" for n in range(1, 5)]

Out = Callable[[str], None]


def store_placeholders() -> None:
    """The placeholder photos the data set's rows point at, in the storage the pages read
    (an issue page leaves out a photo missing from it), written when they are not there."""
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    for n, name in enumerate(PLACEHOLDERS):
        if not default_storage.exists(name):
            buffer = io.BytesIO()
            Image.new("RGB", (1280, 960), (60 * n, 120, 180)).save(buffer, "JPEG", quality=70)
            default_storage.save(name, ContentFile(buffer.getvalue()))


class BenchRefused(Exception):
    """The database holds data that is not the benchmark's."""


# --- The database must be the benchmark's own -----------------------------------------


def foreign_data() -> list[str]:
    """What in the database is not benchmark data (empty when it is safe to write)."""
    found = []
    streets = Street.objects.exclude(name=STREET).count()
    if streets:
        found.append(f"{streets} street(s) other than {STREET}")
    users = User.objects.exclude(username__startswith=USER_PREFIX).count()
    if users:
        found.append(f"{users} account(s) not named {USER_PREFIX}*")
    return found


def check_database(*, force: bool = False) -> None:
    found = foreign_data()
    if found and not force:
        raise BenchRefused(
            "The database already holds data that is not the benchmark's ("
            + "; ".join(found)
            + "). Point DATABASE_URL at a database of its own, or pass --force."
        )


# --- The street, its communities and people -------------------------------------------


@dataclass
class Place:
    """One community and the people issues there refer to (ids only)."""

    community_id: int
    staff_ids: list[int]
    member_ids: list[int]
    member_user_ids: list[int]
    resident_ids: list[int]


@dataclass
class World:
    street: Street
    places: list[Place]
    category_ids: dict[str, int]
    department_ids: list[int]
    staff: User  # community staff of every benchmark community: the measuring account
    admin: User  # admin of the benchmark street
    member: User  # council member of the first community: the phone report form
    all_category_ids: list[int] = field(default_factory=list)


def _name(rng: random.Random) -> str:
    return rng.choice(words.SURNAMES) + "".join(
        rng.choice(words.GIVEN) for _ in range(rng.choice((1, 2, 2)))
    )


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def _account(username: str, display_name: str) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display_name}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _role(user: User, kind: str, **scope) -> None:
    Role.objects.get_or_create(user=user, kind=kind, **scope)


def residents_per_community(issues: int, communities: int) -> int:
    return max(30, min(2000, issues // max(communities, 1) // 25))


def build_world(*, issues: int, communities: int) -> World:
    """The street and everything issues point at; creates only what is missing."""
    rng = random.Random(f"{SEED}:world")
    street, _ = Street.objects.get_or_create(name=STREET)
    seed_categories(street)
    staff = _account(f"{USER_PREFIX}staff", "基准 工作人员")
    admin = _account(f"{USER_PREFIX}admin", "基准 街道管理员")
    _role(admin, Role.Kind.STREET_ADMIN, street=street)
    departments = []
    for name in words.DEPARTMENTS:
        department, _ = Department.objects.get_or_create(street=street, name=name)
        departments.append(department)
        handler = _account(f"{USER_PREFIX}handler_{department.pk}", f"{name[:4]} 办理人")
        _role(handler, Role.Kind.DEPARTMENT_HANDLER, department=department)
    per_community = residents_per_community(issues, communities)
    places = []
    for number in range(1, communities + 1):
        base = words.COMMUNITIES[(number - 1) % len(words.COMMUNITIES)]
        suffix = "" if number <= len(words.COMMUNITIES) else str(number)
        community, _ = Community.objects.get_or_create(street=street, name=f"{base}{suffix}社区")
        council, _ = Council.objects.get_or_create(
            community=community, defaults={"name": f"{community.name}居民议事会"}
        )
        _role(staff, Role.Kind.COMMUNITY_STAFF, community=community)
        local_staff = []
        for k in (1, 2):
            user = _account(f"{USER_PREFIX}s{number:02d}_{k}", f"{community.name[:2]} 工作人员{k}")
            _role(user, Role.Kind.COMMUNITY_STAFF, community=community)
            local_staff.append(user.pk)
        have = Resident.objects.filter(community=community).count()
        if have < per_community:
            Resident.objects.bulk_create(
                (
                    Resident(
                        community=community,
                        name=_name(rng),
                        phone=_phone(rng),
                        lane=f"{rng.choice(words.LANES)}{rng.randint(1, 60)}巷",
                        building=f"{rng.randint(1, 30)}栋",
                        room=f"{rng.randint(1, 6)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}",
                    )
                    for _ in range(per_community - have)
                ),
                batch_size=1000,
            )
        resident_ids = list(
            Resident.objects.filter(community=community).order_by("pk").values_list("pk", flat=True)
        )
        members = list(CouncilMember.objects.filter(council=council).order_by("pk"))
        for position in range(len(members), COUNCIL_SIZE):
            members.append(
                CouncilMember.objects.create(
                    council=council,
                    resident_id=resident_ids[position],
                    role=CouncilMember.Role.LEADER
                    if position == 0
                    else CouncilMember.Role.DEPUTY
                    if position == 1
                    else CouncilMember.Role.MEMBER,
                    category=rng.choice(CouncilMember.Category.values),
                    joined_on=dt.date(2024, 1, 8),
                )
            )
        member_users = []
        for k, term in enumerate(members[:MEMBER_ACCOUNTS], start=1):
            user = _account(f"{USER_PREFIX}m{number:02d}_{k}", term.resident.name)
            _role(user, Role.Kind.COUNCIL_MEMBER, council_member=term)
            member_users.append(user.pk)
        places.append(
            Place(
                community_id=community.pk,
                staff_ids=local_staff,
                member_ids=[m.pk for m in members],
                member_user_ids=member_users,
                resident_ids=resident_ids,
            )
        )
    # The measuring account has notices like anyone who works with the app.
    Notice.objects.bulk_create(
        (
            Notice(
                recipient=staff,
                kind="issue_reported",
                channel=Notice.Channel.INAPP,
                status=Notice.Status.SENT,
                key=f"bench:{staff.pk}:{n}",
                context={"title": "电梯经常停运"},
                read_at=None if n % 10 == 0 else timezone.now(),
            )
            for n in range(300)
        ),
        ignore_conflicts=True,
    )
    categories = dict(Category.objects.filter(street=street).values_list("code", "pk"))
    member = User.objects.get(username=f"{USER_PREFIX}m01_1")
    return World(
        street=street,
        places=places,
        category_ids=categories,
        department_ids=[d.pk for d in departments],
        staff=staff,
        admin=admin,
        member=member,
        all_category_ids=sorted(categories.values()),
    )


# --- Writing rows fast ----------------------------------------------------------------


class Table:
    """Rows of one model as dicts keyed by attname, written by COPY or executemany.

    Fields a row leaves out take their model default, so a column added to a
    model later with a default does not break the benchmark.
    """

    def __init__(self, model, *, with_pk: bool = False) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        self.json = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}
        self.postgres = connection.vendor == "postgresql"

    def _values(self, row: dict) -> tuple:
        values = []
        for f in self.fields:
            value = row.get(f.attname, self.defaults[f.attname])
            if self.postgres:
                if f.attname in self.json and value is not None:
                    value = json.dumps(value, ensure_ascii=False)
            else:
                value = f.get_db_prep_save(value, connection)
            values.append(value)
        return tuple(values)

    def write(self, rows: Iterable[dict]) -> int:
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        count = 0
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(self._values(row))
                        count += 1
            else:
                batch = [self._values(row) for row in rows]
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
                count = len(batch)
        return count


def reserve_issue_ids(count: int) -> list[int]:
    """Ids for the next ``count`` issues, taken from the table's own sequence."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Issue._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]
    start = (Issue.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    return list(range(start, start + count))


def tracking_code(index: int) -> str:
    """A unique 8-character code per issue number, looking like the app's random ones."""
    base = len(TRACKING_ALPHABET)
    value = (index * 3**18 + 123_456_789) % base**8  # 3**18 is prime to 31: a bijection
    chars = []
    for _ in range(8):
        value, digit = divmod(value, base)
        chars.append(TRACKING_ALPHABET[digit])
    return "".join(chars)


# --- One issue and its history -----------------------------------------------------------

S = Issue.Status
OPEN = set(Issue.OPEN_STATUSES)
TOPIC_WEIGHTS = [t[0] for t in words.TOPICS]
# How often each channel brings a matter in; a channel added later must be given a share.
CHANNEL_SHARES = {
    Issue.Channel.PATROL: 30,
    Issue.Channel.SUGGESTION_BOX: 8,
    Issue.Channel.CHAT_GROUP: 20,
    Issue.Channel.HOME_VISIT: 12,
    Issue.Channel.DELIBERATION_POINT: 10,
    Issue.Channel.PUBLIC_FORM: 12,
    Issue.Channel.HOTLINE: 8,
    Issue.Channel.VISIT: 6,
}
CHANNELS = list(CHANNEL_SHARES)
CHANNEL_WEIGHTS = list(CHANNEL_SHARES.values())
TIERS = [Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY, Issue.Tier.STREET, Issue.Tier.DEPARTMENT]
TIER_WEIGHTS = [55, 28, 10, 7]
STATUSES = [S.SUBMITTED, S.AWAITING, S.DECIDED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED,
            S.REOPENED, S.DEFERRED, S.NOT_ACTIONABLE]  # fmt: skip
STATUS_WEIGHTS = {  # by age: recent issues are mostly open, old ones mostly closed
    "new": [35, 20, 10, 20, 8, 0, 2, 3, 2],
    "recent": [8, 10, 10, 25, 25, 12, 2, 4, 4],
    "old": [1, 1, 1, 3, 20, 64, 1, 3, 6],
}
PATHS = {
    S.SUBMITTED: [],
    S.AWAITING: [S.AWAITING],
    S.DECIDED: [S.AWAITING, S.DECIDED],
    S.IN_PROGRESS: [S.AWAITING, S.IN_PROGRESS],
    S.RESOLVED: [S.AWAITING, S.DECIDED, S.IN_PROGRESS, S.RESOLVED],
    S.CLOSED: [S.AWAITING, S.DECIDED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.IN_PROGRESS, S.RESOLVED, S.REOPENED],
    S.DEFERRED: [S.DEFERRED],
    S.NOT_ACTIONABLE: [S.NOT_ACTIONABLE],
}
LAT, LNG = Decimal("24.450000"), Decimal("118.080000")
MICRO = Decimal("0.000001")


@dataclass
class Chunk:
    issues: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    photos: list[dict] = field(default_factory=list)
    members: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)


def _place_text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(words.FACILITY_PLACES)
    return f"{rng.choice(words.LANES)}{rng.randint(1, 60)}巷{rng.randint(1, 30)}栋"


def _add_issue(
    chunk: Chunk, world: World, rng: random.Random, index: int, total: int, anchor: dt.datetime,
    issue_id: int,
) -> None:  # fmt: skip
    place = rng.choice(world.places)
    _weight, category_code, titles, sentences = rng.choices(words.TOPICS, TOPIC_WEIGHTS)[0]
    created = anchor - SPAN + SPAN * ((index + rng.random()) / total)
    age = (anchor - created).days
    status = rng.choices(
        STATUSES, STATUS_WEIGHTS["new" if age < 14 else "recent" if age < 90 else "old"]
    )[0]
    tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    where = _place_text(rng)
    title = rng.choice(titles)
    if rng.random() < 0.3:
        title = where.split("巷")[-1] + title if "巷" in where else where + title
    text = rng.sample(sentences, rng.randint(1, min(3, len(sentences))))
    text += rng.sample(words.GENERIC, rng.randint(0, 2))
    description = "".join(text)
    category_id = (
        world.category_ids.get(category_code, world.all_category_ids[0])
        if rng.random() < 0.8
        else rng.choice(world.all_category_ids)
    )
    staff_id = rng.choice(place.staff_ids)
    if channel == Issue.Channel.PUBLIC_FORM:
        entered_by = None
    elif channel == Issue.Channel.PATROL and place.member_user_ids:
        entered_by = rng.choice(place.member_user_ids)
    else:
        entered_by = staff_id
    reporter_id, contact_name, contact_phone = None, "", ""
    roll = rng.random()
    if roll < 0.45:
        reporter_id = rng.choice(place.resident_ids)
    elif roll < 0.7:
        contact_name = _name(rng)
        contact_phone = _phone(rng)
    is_open = status in OPEN

    # The timeline: reported, some assignments, dates and comments, then the status path
    # (with the council meeting that deliberated it before a decision).
    path = PATHS[status]
    fillers = max(0, rng.randint(3, 6) - 1 - len(path))
    events = [dict(kind=Event.Kind.CREATED, to_value=S.SUBMITTED, actor_id=entered_by,
                   is_public=True, data={})]  # fmt: skip
    assigned_staff = staff_id if rng.random() < 0.35 else None
    members = rng.sample(place.member_ids, rng.randint(1, 2)) if rng.random() < 0.3 else []
    due_on = None
    if (is_open and rng.random() < 0.6) or (not is_open and rng.random() < 0.3):
        due_on = (created + dt.timedelta(days=rng.randint(7, 45))).date()
    filler_kinds = [Event.Kind.COMMENT, Event.Kind.ASSIGNED, Event.Kind.DUE, Event.Kind.PHOTO]
    for _ in range(fillers):
        kind = rng.choice(filler_kinds)
        if kind == Event.Kind.ASSIGNED:
            events.append(dict(kind=kind, actor_id=staff_id, note="、".join(
                "议事会成员" for _ in members) or "工作人员", is_public=False,
                data={"members": members, "staff": assigned_staff}))  # fmt: skip
        elif kind == Event.Kind.DUE:
            events.append(dict(kind=kind, actor_id=staff_id, is_public=False,
                               to_value=due_on.isoformat() if due_on else "", data={}))  # fmt: skip
        elif kind == Event.Kind.PHOTO:
            events.append(dict(kind=kind, actor_id=staff_id, to_value=Photo.Kind.REPORT,
                               is_public=False, data={}))  # fmt: skip
        else:
            events.append(dict(kind=kind, actor_id=staff_id, note=rng.choice(words.COMMENTS),
                               is_public=False, data={}))  # fmt: skip
    before = S.SUBMITTED
    deliberation = resolution = closing = None
    for target in path:
        note = ""
        if target == S.DECIDED:
            deliberation = dict(kind=Event.Kind.DELIBERATED, actor_id=staff_id, is_public=True,
                                note="议事会讨论通过。", data={})  # fmt: skip
            events.append(deliberation)
        elif target in (S.NOT_ACTIONABLE, S.DEFERRED, S.REOPENED):
            note = rng.choice(["不属于议事范围。", "等待改造工程统一处理。", "问题仍未解决。"])
        shown = bool(note) and target != S.DEFERRED  # the reporter sees why
        event = dict(kind=Event.Kind.STATUS, actor_id=staff_id, from_value=before,
                     to_value=target, note=note, is_public=True,
                     data={"note_public": True} if shown else {})  # fmt: skip
        events.append(event)
        if target == S.RESOLVED:
            resolution = event
        elif target in (S.CLOSED, S.NOT_ACTIONABLE):
            closing = event
        elif target == S.REOPENED:
            resolution = None
        before = target
    t = created
    for n, event in enumerate(events):
        if n:
            t = min(t + dt.timedelta(hours=rng.uniform(1, 120)), anchor)
        event["issue_id"] = issue_id
        event["created"] = t
    deliberated_at = resolved_at = closed_at = None
    if deliberation:
        deliberated_at = deliberation["created"]
        deliberation["to_value"] = timezone.localtime(deliberated_at).date().isoformat()
    if resolution and status in (S.RESOLVED, S.CLOSED):
        resolved_at = resolution["created"]
    if closing:
        closed_at = closing["created"]
        erased_at = closed_at + CONTACT_RETENTION + dt.timedelta(hours=rng.uniform(8, 32))
        if erased_at < anchor and (contact_name or contact_phone):
            contact_name = contact_phone = ""
            events.append(dict(kind=Event.Kind.CONTACT_ERASED, actor_id=None, is_public=False,
                               data={}, issue_id=issue_id, created=erased_at))  # fmt: skip
    updated = events[-1]["created"]
    chunk.events.extend(events)

    department_id = None
    if tier in (Issue.Tier.STREET, Issue.Tier.DEPARTMENT):
        if tier == Issue.Tier.DEPARTMENT:
            department_id = rng.choice(world.department_ids)
        state = (
            (Escalation.State.PENDING if tier == Issue.Tier.STREET else
             rng.choice([Escalation.State.ACCEPTED, Escalation.State.HANDLED]))
            if is_open else Escalation.State.CONFIRMED
        )  # fmt: skip
        escalated = created + dt.timedelta(hours=rng.uniform(1, 72))
        chunk.escalations.append(dict(
            issue_id=issue_id, street_id=world.street.pk, raised_by_id=staff_id, state=state,
            reason="社区层面无法解决，需要街道协调相关部门。",
            department_id=department_id or (rng.choice(world.department_ids)
                                             if state != Escalation.State.PENDING else None),
            deadline=(escalated + dt.timedelta(days=15)).date() if state != "pending" else None,
            decided_by_id=world.admin.pk if state != Escalation.State.PENDING else None,
            decided_at=escalated + dt.timedelta(days=1) if state != "pending" else None,
            created=escalated,
        ))  # fmt: skip
    photo_count = rng.choices((0, 1, 2, 3), (40, 30, 20, 10))[0]
    for n in range(photo_count):
        chunk.photos.append(dict(
            issue_id=issue_id, image=rng.choice(PLACEHOLDERS), width=1280, height=960,
            size=rng.randint(120_000, 480_000), kind=Photo.Kind.REPORT, uploaded_by_id=entered_by,
            created=created + dt.timedelta(seconds=n + 1),
        ))  # fmt: skip
    if status in (S.RESOLVED, S.CLOSED) and rng.random() < 0.3:
        chunk.photos.append(dict(
            issue_id=issue_id, image=rng.choice(PLACEHOLDERS), width=1280, height=960,
            size=rng.randint(120_000, 480_000), kind=Photo.Kind.COMPLETION,
            uploaded_by_id=staff_id, created=resolved_at or updated,
        ))  # fmt: skip
    for member_id in members:
        chunk.members.append({"issue_id": issue_id, "councilmember_id": member_id})
    latitude = longitude = None
    if rng.random() < 0.6:
        latitude = (LAT + Decimal(rng.uniform(-0.02, 0.02))).quantize(MICRO)
        longitude = (LNG + Decimal(rng.uniform(-0.02, 0.02))).quantize(MICRO)
    chunk.issues.append(dict(
        id=issue_id, community_id=place.community_id, title=title[:100], description=description,
        category_id=category_id, place=where, latitude=latitude, longitude=longitude,
        is_urgent=rng.random() < 0.04, channel=channel, status=status, tier=tier,
        reporter_id=reporter_id, contact_name=contact_name, contact_phone=contact_phone,
        entered_by_id=entered_by, assigned_staff_id=assigned_staff,
        assigned_department_id=department_id, due_on=due_on, deliberated_at=deliberated_at,
        outcome_note="不属于议事范围，已向居民解释。" if status == S.NOT_ACTIONABLE else "",
        tracking_code=tracking_code(index),
        search_bigrams=search.document(title[:100], description, where),
        version=len(events), created=created, updated=updated, resolved_at=resolved_at,
        closed_at=closed_at,
    ))  # fmt: skip


# --- The whole data set -------------------------------------------------------------------


@dataclass
class Generated:
    issues: int  # issues in the data set afterwards
    written: int  # issues written by this run
    seconds: float


def bench_issue_count(street: Street | None = None) -> int:
    street = street or Street.objects.filter(name=STREET).first()
    if street is None:
        return 0
    return Issue.objects.filter(community__street=street).count()


def generate(*, issues: int, communities: int, out: Out = print) -> Generated:
    """Make the data set hold ``issues`` benchmark issues, writing only what is missing."""
    started = time.perf_counter()
    world = build_world(issues=issues, communities=communities)
    have = bench_issue_count(world.street)
    if have > issues:
        raise BenchRefused(
            f"The database already holds {have:,} benchmark issues, more than --issues "
            f"{issues:,}. Use a fresh database, or --issues {have:,} (or --keep)."
        )
    if have == issues:
        out(f"Data set present: {have:,} issues; nothing to write.")
        return Generated(issues=have, written=0, seconds=time.perf_counter() - started)
    if have % CHUNK and have:
        raise BenchRefused(
            f"The benchmark data holds {have:,} issues, not a whole number of chunks of "
            f"{CHUNK:,}: it was not written by this command. Use a fresh database."
        )
    out(f"Writing issues {have:,} → {issues:,} in chunks of {CHUNK:,} ({connection.vendor}).")
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    tables = {
        "issues": Table(Issue, with_pk=True),
        "members": Table(Issue.assigned_members.through),
        "events": Table(Event),
        "photos": Table(Photo),
        "escalations": Table(Escalation),
    }
    written = 0
    for start in range(have, issues, CHUNK):
        size = min(CHUNK, issues - start)
        rng = random.Random(f"{SEED}:{start // CHUNK}")
        chunk = Chunk()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            ids = reserve_issue_ids(size)
            for offset, issue_id in enumerate(ids):
                _add_issue(chunk, world, rng, start + offset, issues, anchor, issue_id)
            for name, table in tables.items():
                table.write(getattr(chunk, name))
            # The inbox's counts per community and status, kept as the actions keep them.
            rollup.add_counts(Counter((row["community_id"], row["status"]) for row in chunk.issues))
        written += size
        elapsed = time.perf_counter() - started
        out(
            f"  {start + size:>10,} issues  {len(chunk.events):>7,} events in the last chunk  "
            f"{written / elapsed:>7,.0f} issues/s  {elapsed:>6.0f} s"
        )
    # The counts per character pair, recounted once rather than upserted chunk by chunk.
    pairs_started = time.perf_counter()
    rollup.repair_pair_counts(log=False)
    out(f"  counts per character pair: {time.perf_counter() - pairs_started:.0f} s")
    analyse(out)
    return Generated(issues=issues, written=written, seconds=time.perf_counter() - started)


def analyse(out: Out = print) -> None:
    """Fresh planner statistics for every table (small ones matter too: the communities a
    user sees come from a subquery), and on PostgreSQL the visibility map that lets
    index-only scans skip the table."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
    out(f"  statistics refreshed in {time.perf_counter() - started:.1f} s")
