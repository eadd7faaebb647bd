"""The standing people every test can call on.

- ``manan_staff``: staff of 马南社区 (南恩街道)
- ``manan_member``: a council member (leader) of 马南社区
- ``xingfu_staff``: staff of 幸福村社区, the outsider to 马南社区
- ``nanen_admin``: admin of 南恩街道, which holds both communities
- ``other_admin``: admin of 城北街道, another street
- ``city_handler``: a handler in a department of 南恩街道

Every test runs on a fixed date (``clock``), except those that start processes of
their own, which cannot share it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import Resolver404, resolve

from members.models import Role
from tests import factories
from tests.helpers.clock import NOW, until_the_day_has_room

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"


@pytest.fixture(autouse=True)
def clock(request):
    """Today is Wednesday 18 November 2026, and it is 10:00 in Asia/Shanghai.

    Time runs on from there (``tick``): timestamps still follow one another, timeouts
    still expire, and the live server's threads share the clock. A test moves it with
    ``clock.shift(delta)`` or ``clock.move_to(moment)``.

    A test with real worker processes (``celery_processes``, ``@pytest.mark.worker``)
    keeps the real clock, which they read too: such a test that depends on the date
    asks for ``room_in_the_day``. A module whose subprocesses read the clock
    overrides this fixture.
    """
    if "celery_processes" in request.fixturenames or request.node.get_closest_marker("worker"):
        yield None
        return
    with time_machine.travel(NOW.astimezone(dt.UTC), tick=True) as traveller:
        yield traveller


def pytest_collection_modifyitems(items):
    """With a read replica configured (DATABASE_REPLICA_URL), tests whose rows are committed
    read the dashboards, exports and period reports from it, so they may use its alias.

    Other tests stay in a transaction on the primary, where every read stays too.
    """
    from django.conf import settings

    if "replica" not in settings.DATABASES:
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        commits = kwargs.get("transaction") or bool(
            {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
        )
        if commits and not kwargs.get("databases"):
            item.add_marker(
                pytest.mark.django_db(**kwargs | {"transaction": True, "databases": "__all__"}),
                append=False,
            )


@pytest.fixture(scope="session", autouse=True)
def replica_of_the_test_database(request):
    """Processes the tests start (workers, servers, benchmarks) read the test database's
    replica too: DATABASE_REPLICA_URL names the test database for them, as DATABASE_URL
    does (tests/processes.py)."""
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings
    from django.db import connections

    url = os.environ.get("DATABASE_REPLICA_URL")
    if not url or "replica" not in settings.DATABASES:
        yield
        return
    request.getfixturevalue("django_db_setup")
    name = connections["replica"].settings_dict["NAME"]
    os.environ["DATABASE_REPLICA_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    yield
    os.environ["DATABASE_REPLICA_URL"] = url


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


@pytest.fixture(autouse=True)
def outsider_answers(request, monkeypatch):
    """Holds a test marked ``outsider(*url_names)`` to its word.

    The test must ask for each URL it names, through a test client, and be answered 404
    at least once there; a test that passes without doing so fails here. The answers
    are kept by URL name: ``{"issues:detail": {404}, ...}``.
    """
    names = [name for mark in request.node.iter_markers("outsider") for name in mark.args]
    if not names:
        yield None
        return
    answers: dict[str, set[int]] = defaultdict(set)
    send = Client.request

    def request_and_note(client, **environ):
        response = send(client, **environ)
        with contextlib.suppress(Resolver404):
            answers[resolve(environ["PATH_INFO"]).view_name].add(response.status_code)
        return response

    monkeypatch.setattr(Client, "request", request_and_note)
    yield answers
    report = request.node.stash.get(CALL_REPORT, None)
    if report is not None and report.passed:
        never = [name for name in names if 404 not in answers.get(name, set())]
        assert not never, f"marked outsider, but no 404 was seen at {never}: {dict(answers)}"


@pytest.fixture
def room_in_the_day():
    """For a test whose real processes read the date: none of it runs across midnight.

    Such a test takes a few minutes at most; closer than five minutes to midnight in
    Asia/Shanghai (16:00 UTC), it waits for the new day before its data is made.
    """
    until_the_day_has_room(dt.timedelta(minutes=5))


@pytest.fixture
def nanen(db):
    return factories.street("南恩街道")


@pytest.fixture
def chengbei(db):
    return factories.street("城北街道")


@pytest.fixture
def manan(nanen):
    return factories.community("马南社区", street_=nanen)


@pytest.fixture
def xingfu(nanen):
    return factories.community("幸福村社区", street_=nanen)


@pytest.fixture
def beishan(chengbei):
    return factories.community("北山社区", street_=chengbei)


@pytest.fixture
def manan_staff(manan):
    account = factories.user("manan_staff", display_name="马南 工作人员")
    factories.role(account, Role.Kind.COMMUNITY_STAFF, community=manan)
    return account


@pytest.fixture
def xingfu_staff(xingfu):
    account = factories.user("xingfu_staff", display_name="幸福村 工作人员")
    factories.role(account, Role.Kind.COMMUNITY_STAFF, community=xingfu)
    return account


@pytest.fixture
def nanen_admin(nanen, manan, xingfu):
    account = factories.user("nanen_admin", display_name="南恩 管理员")
    factories.role(account, Role.Kind.STREET_ADMIN, street=nanen)
    return account


@pytest.fixture
def other_admin(chengbei, beishan):
    account = factories.user("chengbei_admin", display_name="城北 管理员")
    factories.role(account, Role.Kind.STREET_ADMIN, street=chengbei)
    return account


@pytest.fixture
def manan_leader_term(manan):
    from members.models import CouncilMember

    leader = factories.resident(manan, "王建国", phone="13812345678", building="3栋")
    return factories.council_member(manan, leader, role=CouncilMember.Role.LEADER)


@pytest.fixture
def manan_member(manan_leader_term):
    account = factories.user("manan_member", display_name="王建国")
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=manan_leader_term)
    return account


@pytest.fixture
def city_handler(nanen):
    account = factories.user("city_handler", display_name="城管 办理人")
    factories.role(account, Role.Kind.DEPARTMENT_HANDLER, department=factories.department(nanen))
    return account


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_user():
    """``as_user(some_user)`` gives a test client logged in as that user."""
    return client_for


@pytest.fixture
def clear_cache(settings, tmp_path):
    """A cache of this test's own, empty at the start.

    Rate limits live in the cache. The file cache under var/ is shared with any
    other test run on the machine (whose cache.clear() would reset these
    counters midway), so each test gets its own folder; on Redis a key prefix
    of its own does the same without flushing a database others use.
    """
    default = dict(settings.CACHES["default"])
    on_file = default["BACKEND"].endswith("FileBasedCache")
    if on_file:
        default["LOCATION"] = str(tmp_path / "cache")
    default["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": default}
    if on_file:
        cache.clear()
    yield
    if on_file:
        cache.clear()


@pytest.fixture
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


@pytest.fixture
def celery_processes(tmp_path):
    """Starts real workers and beats (``tests.processes``); this process sends to their queue.

    Needs ``@pytest.mark.django_db(transaction=True)``: the processes read committed rows.
    Every process started is stopped afterwards, whatever the test's outcome.
    """
    from deliberation.celery import app as celery_app
    from tests.processes import CeleryProcesses

    processes = CeleryProcesses(tmp_path)
    eager = celery_app.conf.task_always_eager
    queue_before = celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = processes.queue
    try:
        yield processes
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = queue_before
        processes.stop_all()


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS, ``tests.helpers.object_store``) for the session."""
    from tests.helpers import object_store as helper

    with pytest.MonkeyPatch.context() as patch:
        helper.sign_with_the_real_clock(patch)
        store = helper.start(tmp_path_factory.mktemp("seaweedfs"))
        store.bucket = store.new_bucket()
        try:
            yield store
        finally:
            store.stop()


@pytest.fixture
def s3_storage(object_store):
    """This test's files go to a folder of its own in the object store's bucket.

    Yields ``(bucket, location)``; ``object_store.keys(*s3_storage)`` lists what was written.
    """
    from tests.helpers import object_store as helper

    place = (object_store.bucket, f"test-{uuid.uuid4().hex[:12]}")
    with helper.storage_on(object_store, *place):
        yield place


@pytest.fixture
def store_unreachable(object_store):
    """The object store's address answers nothing (the store is down or cut off)."""
    from django.conf import settings
    from django.test import override_settings

    from tests.helpers import object_store as helper

    (closed,) = helper.free_ports(1)
    options = object_store.storage_options(object_store.bucket, "unreachable")
    options["OPTIONS"] = {
        **options["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{closed}"
    }  # fmt: skip
    with override_settings(STORAGES={**settings.STORAGES, "default": options}):
        yield


@pytest.fixture(params=["disk", "s3"])
def file_store(request, settings, tmp_path):
    """Where this test's files go: the local disk, then (as a second run) the object store.

    Key tests take it, so the same upload, read, tenancy and report checks run on both; it
    yields ``(bucket, location)`` on the object store, None on the disk.
    """
    if request.param == "disk":
        settings.MEDIA_ROOT = tmp_path / "media"
        yield None
    else:
        yield request.getfixturevalue("s3_storage")
