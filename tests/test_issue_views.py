"""The issue pages: who may reach them, what they show, what bad input gets."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from issues.actions import escalations, handling, intake
from issues.models import Category, Escalation, Event, Issue, Photo
from members.models import Notice, Resident
from tests import factories
from tests.helpers.issues import accept, to_street


def jpeg(name: str = "photo.jpg", size=(800, 600)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def manan_issue(manan, manan_staff, media):
    issue = factories.issue(
        manan, actor=manan_staff, title="三栋电梯停运", uploads=[jpeg()], place="3栋"
    )
    intake.issue_comment(issue=issue, actor=manan_staff, text="内部备注")
    return issue


def issue_urls(issue: Issue) -> list[tuple[str, str, dict]]:
    pk = issue.pk
    photo = issue.photos.first()
    return [
        ("get", reverse("issues:detail", args=[pk]), {}),
        ("get", reverse("issues:edit", args=[pk]), {}),
        ("post", reverse("issues:edit", args=[pk]), {"title": "改", "version": issue.version}),
        ("post", reverse("issues:transition", args=[pk]), {"name": "accept", "version": 1}),
        ("get", reverse("issues:assign", args=[pk]), {}),
        ("post", reverse("issues:assign", args=[pk]), {"version": 1, "due_on": "2030-01-01"}),
        ("post", reverse("issues:escalate", args=[pk]), {"reason": "x", "version": 1}),
        ("post", reverse("issues:comment", args=[pk]), {"text": "闯入"}),
        ("post", reverse("issues:add_photos", args=[pk]), {}),
        ("get", reverse("issues:photo", args=[pk, photo.pk]), {}),
    ]


def snapshot() -> tuple:
    return (
        list(Issue.objects.values_list("pk", "title", "status", "tier", "version", "due_on")),
        Event.objects.count(),
        Photo.objects.count(),
    )


@pytest.mark.outsider(
    "issues:detail",
    "issues:edit",
    "issues:transition",
    "issues:assign",
    "issues:escalate",
    "issues:comment",
    "issues:add_photos",
    "issues:photo",
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "city_handler"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_every_issue_url(request, outsider, htmx, manan_issue, as_user):
    client = as_user(request.getfixturevalue(outsider))
    before = snapshot()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url, payload in issue_urls(manan_issue):
        response = getattr(client, method)(url, payload, **headers)
        assert response.status_code == 404, (outsider, method, url, response.status_code)
    assert snapshot() == before


def test_an_unknown_issue_is_404_like_another_communitys(manan_staff, as_user, db):
    assert as_user(manan_staff).get(reverse("issues:detail", args=[999999])).status_code == 404


def test_anonymous_is_sent_to_login(manan_issue, client):
    for method, url, payload in issue_urls(manan_issue):
        response = getattr(client, method)(url, payload)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_council_member_and_street_admin_may_read_but_not_run_the_issue(
    manan_issue, manan_member, nanen_admin, as_user
):
    before = snapshot()
    for user in (manan_member, nanen_admin):
        client = as_user(user)
        page = client.get(reverse("issues:detail", args=[manan_issue.pk]))
        assert page.status_code == 200
        assert "transition_form" not in page.context
        assert (
            client.get(
                reverse("issues:photo", args=[manan_issue.pk, manan_issue.photos.first().pk])
            ).status_code
            == 200
        )
        for name in ("transition", "assign", "escalate", "edit"):
            response = client.post(
                reverse(f"issues:{name}", args=[manan_issue.pk]),
                {"version": 1, "name": "accept", "reason": "x"},
            )
            assert response.status_code == 403, (user, name)
    assert snapshot() == before


def test_department_handler_sees_the_issue_once_assigned(
    manan_issue, manan_staff, nanen_admin, nanen, city_handler, as_user
):
    escalations.issue_escalate(issue=manan_issue, actor=manan_staff, reason="社区")
    escalations.issue_escalate(issue=manan_issue, actor=manan_staff, reason="街道")
    escalation = Escalation.objects.get()
    client = as_user(city_handler)
    assert client.get(reverse("issues:detail", args=[manan_issue.pk])).status_code == 404
    assert client.get(reverse("issues:reply", args=[escalation.pk])).status_code == 404
    escalations.escalation_accept(
        escalation=escalation, actor=nanen_admin, department=factories.department(nanen),
        deadline=timezone.localdate() + dt.timedelta(days=5),
    )  # fmt: skip
    assert client.get(reverse("issues:detail", args=[manan_issue.pk])).status_code == 200
    assert client.get(reverse("issues:reply", args=[escalation.pk])).status_code == 200
    assert manan_issue.title in client.get(reverse("issues:work")).content.decode()


def escalation_snapshot() -> tuple:
    return (
        list(Escalation.objects.order_by("pk").values_list("pk", "state", "department", "reply")),
        list(Issue.objects.order_by("pk").values_list("pk", "status", "tier", "version")),
        list(Category.objects.order_by("pk").values_list("pk", "name", "is_active")),
        Event.objects.count(),
        Photo.objects.count(),
        Notice.objects.count(),
    )


@pytest.mark.outsider("issues:street_queue", "issues:escalation", "issues:categories")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_cannot_reach_a_streets_queue_escalations_or_categories(
    request, outsider, htmx, manan_issue, manan_staff, nanen, as_user
):
    escalations.issue_escalate(issue=manan_issue, actor=manan_staff, reason="社区")
    escalations.issue_escalate(issue=manan_issue, actor=manan_staff, reason="街道")
    escalation = Escalation.objects.get()
    category = factories.category(nanen, "other")
    client = as_user(request.getfixturevalue(outsider))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = escalation_snapshot()
    for method, url, payload in [
        ("get", reverse("issues:street_queue", args=[nanen.pk]), {}),
        ("get", reverse("issues:escalation", args=[escalation.pk]), {}),
        (
            "post",
            reverse("issues:escalation", args=[escalation.pk]),
            {"decision": "return", "reason": "x"},
        ),
        ("get", reverse("issues:categories", args=[nanen.pk]), {}),
        (
            "post",
            reverse("issues:categories", args=[nanen.pk]),
            {"category": category.pk, "name": "改名", "is_active": ""},
        ),
    ]:
        response = getattr(client, method)(url, payload, **headers)
        assert response.status_code == 404, (outsider, method, url, response.status_code)
    assert escalation_snapshot() == before
    assert Escalation.objects.get().state == "pending"


@pytest.mark.outsider("issues:reply")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "nanen_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_only_the_departments_handlers_reach_its_reply_page(
    request, outsider, htmx, manan_issue, manan_staff, nanen_admin, city_handler, as_user
):
    """Outsiders, and the street's own admin too: the reply is the department's to give."""
    escalation = accept(to_street(manan_issue, manan_staff), nanen_admin)
    url = reverse("issues:reply", args=[escalation.pk])
    client = as_user(request.getfixturevalue(outsider))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = escalation_snapshot()

    assert client.get(url, **headers).status_code == 404
    response = client.post(url, {"reply": "已清理", "photos": [jpeg("done.jpg")]}, **headers)
    assert response.status_code == 404

    assert escalation_snapshot() == before
    assert Escalation.objects.get().state == "accepted"
    assert as_user(city_handler).get(url, **headers).status_code == 200


@pytest.mark.outsider("issues:report")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_cannot_report_an_issue_for_another_community(
    request, outsider, htmx, manan, media, as_user
):
    client = as_user(request.getfixturevalue(outsider))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("issues:report", args=[manan.pk])
    category = factories.category(manan.street, "other")
    form = {"title": "闯入的问题", "category": category.pk, "channel": "patrol", "uploads": jpeg()}

    assert client.get(url, **headers).status_code == 404
    assert client.post(url, form, **headers).status_code == 404

    assert not Issue.objects.exists()
    assert not Photo.objects.exists() and not Event.objects.exists()
    assert not Notice.objects.exists()


# --- The issue page ------------------------------------------------------------------------


def test_issue_page_shows_timeline_masked_phone_and_photos(manan, manan_staff, as_user, media):
    reporter = factories.resident(manan, "李秀英", phone="13812345678")
    issue = factories.issue(manan, actor=manan_staff, reporter=reporter, uploads=[jpeg()])
    html = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk])).content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert reverse("issues:photo", args=[issue.pk, issue.photos.get().pk]) in html
    assert issue.tracking_code in html


def test_stale_form_is_refused_and_keeps_what_was_typed(manan_issue, manan_staff, as_user):
    client = as_user(manan_staff)
    version = manan_issue.version
    client.post(
        reverse("issues:transition", args=[manan_issue.pk]), {"name": "accept", "version": version}
    )
    response = client.post(
        reverse("issues:transition", args=[manan_issue.pk]),
        {"name": "defer", "note": "等下次议事会", "version": version},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "等下次议事会" in html
    assert "Someone else changed this issue" in html or "其他人" in html
    manan_issue.refresh_from_db()
    assert manan_issue.status == "awaiting"
    assert response.context["transition_form"].data["version"] == str(manan_issue.version)


def test_forbidden_transition_gets_a_message_and_changes_nothing(manan_issue, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("issues:transition", args=[manan_issue.pk]),
        {"name": "close", "version": manan_issue.version},
    )
    assert response.status_code == 422
    assert "not possible" in response.content.decode() or "不能" in response.content.decode()
    manan_issue.refresh_from_db()
    assert manan_issue.status == "submitted"


def test_assign_with_a_past_due_date_is_refused(manan_issue, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("issues:assign", args=[manan_issue.pk]),
        {"version": manan_issue.version, "due_on": "2000-01-01"},
    )
    assert response.status_code == 422
    assert Issue.objects.get().due_on is None


# --- Intake and the phone form ------------------------------------------------------------


def test_staff_intake_registers_a_new_reporter_in_the_same_step(manan, nanen, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]),
        {
            "channel": "home_visit", "reporter_mode": "new", "new_name": "赵大爷",
            "new_building": "6栋", "contact_phone": "139 0000 1111", "title": "楼道杂物",
            "category": factories.category(nanen, "environment").pk,
        },
    )  # fmt: skip
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert issue.reporter.name == "赵大爷" and issue.reporter.phone == "13900001111"
    assert issue.channel == "home_visit" and issue.entered_by == manan_staff
    assert issue.events.get().kind == "created"


def test_bad_intake_writes_nothing_and_keeps_the_typing(
    manan, nanen, xingfu, manan_staff, as_user, media
):
    chengbei = factories.street("城北街道")
    cases = [
        {"title": ""},
        {"description": "长" * 10_000},
        {"category": factories.category(chengbei, "other").pk},
        {"reporter_mode": "existing"},
    ]
    base = {
        "channel": "hotline", "reporter_mode": "anonymous", "title": "路灯不亮",
        "description": "巷口路灯坏了三天", "category": factories.category(nanen, "other").pk,
    }  # fmt: skip
    client = as_user(manan_staff)
    for change in cases:
        response = client.post(reverse("issues:report", args=[manan.pk]), {**base, **change})
        assert response.status_code == 422, change
        html = response.content.decode()
        if "description" not in change:
            assert "巷口路灯坏了三天" in html
    disguised = SimpleUploadedFile(
        "photo.jpg", b"MZ this is not a picture", content_type="image/jpeg"
    )
    response = client.post(
        reverse("issues:report", args=[manan.pk]), {**base, "photos": [disguised]}
    )
    assert response.status_code == 422
    assert "photo.jpg" in response.content.decode()
    seven = [jpeg(f"p{i}.jpg", (40, 30)) for i in range(7)]
    response = client.post(reverse("issues:report", args=[manan.pk]), {**base, "photos": seven})
    assert response.status_code == 422
    assert Issue.objects.count() == 0 and Photo.objects.count() == 0
    assert not Resident.objects.exists()
    assert not any(media.rglob("*.jpg")) if media.exists() else True


def test_council_member_reports_from_the_phone_form(manan, nanen, manan_member, as_user, media):
    response = as_user(manan_member).post(
        reverse("issues:report", args=[manan.pk]),
        {
            "title": "化粪池堵塞", "category": factories.category(nanen, "neighbours").pk,
            "place": "2栋一楼", "is_urgent": "on",
            "latitude": "21.857000", "longitude": "111.982000",
            "photos": [jpeg(size=(3000, 2000))],
        },
    )  # fmt: skip
    assert response.status_code == 302 and "reported=1" in response["Location"]
    issue = Issue.objects.get()
    assert issue.channel == "patrol" and issue.is_urgent and issue.entered_by == manan_member
    assert issue.reporter.name == "王建国"  # the member raised it, not an anonymous resident
    assert float(issue.latitude) == pytest.approx(21.857)
    photo = issue.photos.get()
    assert max(photo.width, photo.height) == 1600
    mine = as_user(manan_member).get(reverse("issues:mine"))
    assert issue in mine.context["page"].rows


@pytest.mark.outsider("issues:report")
def test_council_member_of_another_community_cannot_report_here(xingfu, manan_member, as_user):
    assert as_user(manan_member).get(reverse("issues:report", args=[xingfu.pk])).status_code == 404


# --- Inbox --------------------------------------------------------------------------------


def test_inbox_filters_counts_and_search(manan, xingfu, nanen, manan_staff, nanen_admin, as_user):
    lift = factories.issue(
        manan, actor=manan_staff, title="电梯异响", code="facilities", channel="hotline"
    )
    noise = factories.issue(
        manan, actor=manan_staff, title="夜间噪音", code="neighbours", is_urgent=True
    )
    handling.issue_transition(issue=noise, actor=manan_staff, name="accept")
    other = factories.issue(xingfu, title="停车难", code="management")
    staff, admin = as_user(manan_staff), as_user(nanen_admin)
    url = reverse("issues:inbox")

    def rows(client, **params):
        return set(client.get(url, params).context["page"].rows)

    assert rows(staff) == {lift, noise}
    assert rows(admin) == {lift, noise, other}
    assert rows(admin, community=xingfu.pk) == {other}
    assert rows(staff, q="电梯") == {lift}
    assert rows(staff, status="awaiting") == {noise}
    assert rows(staff, channel="hotline") == {lift}
    assert rows(staff, category=factories.category(nanen, "neighbours").pk) == {noise}
    assert rows(staff, mine="on") == {lift, noise}
    assert rows(admin, mine="on") == set()
    page = staff.get(url, {"status": "awaiting"})
    counts = {value: n for value, _label, n in page.context["counts"]}
    assert counts["submitted"] == 1 and counts["awaiting"] == 1 and page.context["total"] == 2


def test_inbox_overdue_filter_and_flag(manan, manan_staff, as_user):
    late = factories.issue(manan, actor=manan_staff, title="逾期")
    Issue.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    factories.issue(manan, actor=manan_staff, title="未逾期")
    response = as_user(manan_staff).get(reverse("issues:inbox"), {"overdue": "on"})
    assert [i.title for i in response.context["page"].rows] == ["逾期"]
    assert 'class="overdue"' in response.content.decode()


def test_inbox_date_range_end_before_start_is_explained(manan_staff, as_user, manan):
    response = as_user(manan_staff).get(
        reverse("issues:inbox"), {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["until"]


def test_inbox_htmx_renders_only_results_and_pages_by_key(manan, manan_staff, as_user):
    for i in range(65):
        factories.issue(manan, actor=manan_staff, title=f"问题{i:03d}")
    client = as_user(manan_staff)
    first = client.get(reverse("issues:inbox"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = first.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html

    # What the page shows: the rows' titles and the "Show more" link's cursor.
    def titles_and_cursor(page: str) -> tuple[list[str], str | None]:
        cursor = re.search(r'hx-get="\?(?:[^"]*&amp;)?after=([^"&]+)"', page)
        return re.findall(r"<bdi>(问题\d+)</bdi>", page), cursor and cursor.group(1)

    titles, cursor = titles_and_cursor(html)
    assert titles == [f"问题{i:03d}" for i in range(64, 34, -1)]
    seen = list(titles)
    while cursor:
        more = client.get(reverse("issues:inbox"), {"after": cursor})
        titles, cursor = titles_and_cursor(more.content.decode())
        seen += titles
    assert seen == [f"问题{i:03d}" for i in range(64, -1, -1)]


# --- Query counts ----------------------------------------------------------------------------


def queries_for(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def grow(manan, staff, count):
    for i in range(count):
        issue = factories.issue(manan, actor=staff, title=f"批量{count}-{i}")
        intake.issue_comment(issue=issue, actor=staff, text="备注")


@pytest.mark.parametrize(
    ("person", "page", "pinned"),
    [
        # session, user with its unread count, roles; the filter form's communities (which give the
        # street ids too) and categories, read once without server-side cursors; the page
        # of issues; counts per status (from the kept counts)
        ("manan_staff", "inbox", 7),
        ("nanen_admin", "inbox", 7),
        ("manan_member", "mine", 5),
        ("nanen_admin", "queue", 5),
    ],
)
def test_list_pages_query_count_does_not_grow(
    request, manan, nanen, manan_staff, person, page, pinned, as_user
):
    user = request.getfixturevalue(person)
    client = as_user(user)
    url = {
        "inbox": reverse("issues:inbox"),
        "mine": reverse("issues:mine"),
        "queue": reverse("issues:street_queue", args=[nanen.pk]),
    }[page]

    def escalate_all():
        for issue in Issue.objects.filter(tier="council"):
            escalations.issue_escalate(issue=issue, actor=manan_staff, reason="a")
            escalations.issue_escalate(issue=issue, actor=manan_staff, reason="b")

    grow(manan, user if person == "manan_member" else manan_staff, 3)
    escalate_all()
    few = queries_for(client, url)
    grow(manan, user if person == "manan_member" else manan_staff, 40)
    escalate_all()
    many = queries_for(client, url)
    assert few == many == pinned


def test_issue_page_query_count_does_not_grow_with_its_timeline(manan, manan_staff, as_user, media):
    issue = factories.issue(manan, actor=manan_staff, uploads=[jpeg()])
    client = as_user(manan_staff)
    url = reverse("issues:detail", args=[issue.pk])
    few = queries_for(client, url)
    for i in range(30):
        intake.issue_comment(issue=issue, actor=manan_staff, text=f"第{i}条")
    intake.issue_add_photos(
        issue=issue, actor=manan_staff, uploads=[jpeg(f"{i}.jpg", (40, 30)) for i in range(5)]
    )
    many = queries_for(client, url)
    assert few == many


def test_street_admin_edits_and_adds_categories(nanen, nanen_admin, manan_staff, as_user):
    from issues.models import Category

    client = as_user(nanen_admin)
    url = reverse("issues:categories", args=[nanen.pk])
    page = client.get(url)
    assert len(page.context["categories"]) == 11
    lift = factories.category(nanen, "facilities")
    response = client.post(
        url,
        {"category": lift.pk, "name": "公共设施", "name_en": "Public facilities and lifts",
         "must_deliberate": "on", "position": 2, "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    lift.refresh_from_db()
    assert lift.name_en == "Public facilities and lifts"
    response = client.post(url, {"name": "加装电梯", "name_en": "Lift retrofits", "position": 20})
    assert response.status_code == 302
    added = Category.objects.get(street=nanen, name="加装电梯")
    assert not added.is_active and not added.must_deliberate  # unchecked boxes
    response = client.post(url, {"name": "", "position": 1})
    assert response.status_code == 422
    assert as_user(manan_staff).get(url).status_code == 404


def test_category_labels_follow_the_language(nanen):
    from django.utils import translation

    category = factories.category(nanen, "environment")
    with translation.override("en"):
        assert category.label == "Environment and sanitation"
    with translation.override("zh-hans"):
        assert category.label == "环境卫生"
