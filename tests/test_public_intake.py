"""The public intake: the QR-code report form, its spam checks and limits, tracking, posters.

Residents have no account. What they send must be written once or not at all,
and what anyone can read by tracking code must never carry personal data or
internal notes.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image

from common import throttle
from issues.actions import escalations, handling, intake
from issues.models import Category, Event, Issue, Photo
from public import forms as public_forms
from public import views as public_views
from tests import factories

STAMP = re.compile(r'name="rendered" value="([^"]+)"')


pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test


@pytest.fixture(autouse=True)
def no_minimum_age(monkeypatch):
    """Tests post at once; the one that checks the minimum age sets it again."""
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def form_url(manan):
    return reverse("public:report", args=[public_views.public_form_token(manan)])


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def draw(client: Client, url: str) -> str:
    """Open the form as a resident would; the signed stamp it was drawn with."""
    response = client.get(url)
    assert response.status_code == 200
    return STAMP.search(response.content.decode())[1]


def fields(community, **overrides) -> dict:
    data = {
        "title": "楼道堆放杂物",
        "category": factories.category(community.street, "environment").pk,
        "description": "三栋二单元楼道堆满纸箱，挡住了消防通道。",
        "place": "3栋2单元",
        "contact_name": "李阿姨",
        "contact_phone": "",
        "homepage": "",
    }
    data.update(overrides)
    return data


def send(client: Client, url: str, community, *, files=(), **overrides):
    data = fields(community, **overrides)
    data.setdefault("rendered", draw(client, url))
    if files:
        data["photos"] = list(files)
    return client.post(url, data)


def nothing_written() -> bool:
    return not (Issue.objects.exists() or Event.objects.exists() or Photo.objects.exists())


# --- Reporting ---------------------------------------------------------------------------


def test_a_report_creates_a_public_form_issue_and_shows_its_tracking_code(
    client, manan, form_url, media
):
    response = send(client, form_url, manan, contact_phone="+86 138-1234-5678", files=[jpeg()])
    issue = Issue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("public:reported", args=[issue.tracking_code])
    assert issue.community == manan
    assert issue.channel == Issue.Channel.PUBLIC_FORM
    assert issue.entered_by is None and issue.reporter is None
    assert issue.contact_phone == "13812345678"
    assert issue.contact_name == "李阿姨"
    assert issue.category.code == "environment"
    assert issue.photos.count() == 1
    created = issue.events.get(kind=Event.Kind.CREATED)
    assert created.is_public and created.actor is None

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert f'<p class="tracking-code">{issue.tracking_code}</p>' in body
    assert reverse("public:track_issue", args=[issue.tracking_code]) in body
    assert page["Cache-Control"].count("no-store") == 1


@pytest.mark.object_store
def test_a_report_whose_photo_the_store_cannot_take_is_kept_and_the_resident_told(
    client, manan, form_url, store_unreachable
):
    response = send(client, form_url, manan, files=[jpeg()])
    issue = Issue.objects.get()
    assert response.status_code == 302
    assert issue.description == "三栋二单元楼道堆满纸箱，挡住了消防通道。"
    assert not Photo.objects.exists()
    with translation.override("zh-hans"):
        page = client.get(response["Location"]).content.decode()
    assert issue.tracking_code in page
    assert "您的反映已经收到，但照片暂时无法保存。如照片重要，请拿给社区工作人员看。" in page


def test_the_form_says_why_the_phone_is_asked_and_how_long_it_is_kept(client, form_url):
    with translation.override("en"):
        body = client.get(form_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    notice = body.index("used only to contact you about this")
    assert "deleted six months after the matter is closed" in body
    send = body.index('type="submit"', body.index('<main id="main">'))  # not the header's
    assert notice < body.index('name="contact_phone"') < send


def test_the_form_offers_only_the_active_categories_of_the_communitys_street(
    client, manan, beishan, form_url
):
    retired = factories.category(manan.street, "policy")
    Category.objects.filter(pk=retired.pk).update(is_active=False)
    body = client.get(form_url).content.decode()
    assert f'value="{factories.category(manan.street, "environment").pk}"' in body
    assert f'value="{retired.pk}"' not in body
    assert f'value="{factories.category(beishan.street, "environment").pk}"' not in body


def test_a_double_tap_sends_the_report_once(client, manan, form_url):
    stamp = draw(client, form_url)
    first = send(client, form_url, manan, rendered=stamp)
    second = send(client, form_url, manan, rendered=stamp)
    assert Issue.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


def test_a_copy_sent_while_the_first_is_stuck_is_refused_with_a_fresh_form(
    client, manan, form_url, monkeypatch
):
    monkeypatch.setattr(public_views, "DUPLICATE_WAIT_SECONDS", 0)
    stamp = draw(client, form_url)
    nonce = public_forms.stamp_nonce(stamp, manan)
    assert throttle.claim(f"submission:{nonce}", 60)  # a first copy that never finished
    response = send(client, form_url, manan, rendered=stamp)
    assert response.status_code == 422
    assert nothing_written()
    fresh = STAMP.search(response.content.decode())[1]
    assert fresh != stamp
    assert send(client, form_url, manan, rendered=fresh).status_code == 302


@pytest.mark.parametrize(
    "forge",
    [
        lambda c, other: f"{c.pk}-0000000000",
        lambda c, other: f"{other.pk}-{public_views.public_form_token(c).split('-')[1]}",
        lambda c, other: f"{c.pk}",
        lambda c, other: public_views.public_form_token(c).upper(),
        lambda c, other: f"0{public_views.public_form_token(c)}",
        lambda c, other: f"999999-{public_views._token_digest(999999, 'x' * 50)}",
    ],
    ids=["digest", "other-pk", "bare-pk", "upper", "leading-zero", "wrong-key"],
)
@pytest.mark.outsider("public:report")
def test_a_wrong_or_forged_token_is_404_and_writes_nothing(client, manan, xingfu, forge):
    url = reverse("public:report", args=[forge(manan, xingfu)])
    assert client.get(url).status_code == 404
    response = client.post(url, {**fields(manan), "rendered": "x"})
    assert response.status_code == 404
    assert nothing_written()


@pytest.mark.outsider("public:report")
def test_a_token_of_a_community_that_does_not_exist_is_404(client, settings, db):
    token = f"987654-{public_views._token_digest(987654, settings.SECRET_KEY)}"
    assert client.get(reverse("public:report", args=[token])).status_code == 404


def test_tokens_are_stable_and_survive_a_key_rotation(client, manan, settings):
    token = public_views.public_form_token(manan)
    assert token == public_views.public_form_token(manan)
    assert re.fullmatch(rf"{manan.pk}-[0-9a-f]{{10}}", token)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "z" * 50
    assert public_views.public_form_token(manan) != token
    assert public_views.community_from_token(token) == manan
    assert client.get(reverse("public:report", args=[token])).status_code == 200


# --- Spam checks -----------------------------------------------------------------------------


def test_a_filled_honeypot_writes_nothing_and_says_nothing_specific(client, manan, form_url):
    response = send(client, form_url, manan, homepage="http://spam.example")
    assert response.status_code == 422
    assert nothing_written()
    body = response.content.decode()
    assert str(public_forms.REJECTED) in body
    assert "楼道堆放杂物" in body  # a person caught by autofill loses nothing
    assert 'name="homepage" id="id_homepage" value=""' in body


def test_a_post_sooner_than_the_minimum_age_writes_nothing(client, manan, form_url, monkeypatch):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 3)
    stamp = draw(client, form_url)
    response = send(client, form_url, manan, rendered=stamp)
    assert response.status_code == 422
    assert str(public_forms.REJECTED) in response.content.decode()
    assert nothing_written()

    # The same form, three seconds later, goes through.
    real_time = time.time
    monkeypatch.setattr(public_forms.time, "time", lambda: real_time() + 3.5)
    assert send(client, form_url, manan, rendered=stamp).status_code == 302
    assert Issue.objects.count() == 1


def test_a_form_older_than_two_hours_writes_nothing(client, manan, form_url, monkeypatch):
    old = signing.b62_encode(int(time.time()) - public_forms.MAX_FORM_AGE_SECONDS - 60)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: old)
    stamp = public_forms.form_stamp(manan)
    monkeypatch.undo()
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    response = send(client, form_url, manan, rendered=stamp)
    assert response.status_code == 422
    assert nothing_written()
    # The form comes back with a fresh stamp, so a person can simply send it again.
    fresh = STAMP.search(response.content.decode())[1]
    assert fresh != stamp
    assert send(client, form_url, manan, rendered=fresh).status_code == 302


@pytest.mark.parametrize(
    "stamp",
    [
        "",
        "forged:stamp:value",
        lambda other: public_forms.form_stamp(other),
    ],
    ids=["missing", "forged", "other-community"],
)
def test_a_missing_forged_or_borrowed_stamp_writes_nothing(client, manan, xingfu, form_url, stamp):
    value = stamp(xingfu) if callable(stamp) else stamp
    response = send(client, form_url, manan, rendered=value)
    assert response.status_code == 422
    assert nothing_written()


def test_the_sixth_report_in_an_hour_from_one_address_is_429_and_writes_nothing(
    client, manan, form_url
):
    for number in range(public_views.REPORTS_PER_HOUR):
        assert send(client, form_url, manan, title=f"问题{number}").status_code == 302
    response = send(client, form_url, manan, title="第六个问题")
    assert response.status_code == 429
    assert Issue.objects.count() == 5
    assert not Issue.objects.filter(title="第六个问题").exists()
    body = response.content.decode()
    assert "第六个问题" in body
    with translation.override("zh-hans"):
        assert translation.gettext("Several reports were sent from this connection") not in body
    assert "小时" in body  # the message is in the resident's language

    other = Client(REMOTE_ADDR="10.1.2.3")
    assert send(other, form_url, manan).status_code == 302


def test_reports_refused_for_a_bad_photo_do_not_use_up_the_limit(client, manan, form_url, media):
    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    for _ in range(public_views.REPORTS_PER_HOUR + 1):
        fake.seek(0)
        assert send(client, form_url, manan, files=[fake]).status_code == 422
    assert send(client, form_url, manan).status_code == 302


# --- Bad input ---------------------------------------------------------------------------------


def fake_jpeg() -> list:
    return [SimpleUploadedFile("photo.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")]


def four_photos() -> list:
    return [jpeg(f"p{i}.jpg") for i in range(4)]


@pytest.mark.parametrize(
    ("overrides", "files", "message", "kept"),
    [
        ({"title": "  "}, list, "请用几句话说明是什么问题", "三栋二单元楼道堆满纸箱"),
        ({"description": "长" * 10_000}, list, "2000", "楼道堆放杂物"),
        ({"category": "other-street"}, list, "请从列表中选择问题类型", "楼道堆放杂物"),
        ({"contact_phone": "12345"}, list, "11 位手机号码", "李阿姨"),
        ({}, fake_jpeg, "不是可以读取的照片", "楼道堆放杂物"),
        ({}, four_photos, "最多选择 3 张照片", "楼道堆放杂物"),
    ],
    ids=["empty-title", "long-description", "foreign-category", "bad-phone", "fake-jpg", "4"],
)
def test_bad_input_is_422_with_a_message_keeps_what_was_typed_and_writes_nothing(
    client, manan, beishan, form_url, media, overrides, files, message, kept
):
    if overrides.get("category") == "other-street":
        overrides = {"category": factories.category(beishan.street, "environment").pk}
    response = send(client, form_url, manan, files=files(), **overrides)
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert kept in body
    assert nothing_written()


def test_the_form_never_says_whether_a_phone_number_is_known(client, manan, form_url):
    factories.resident(manan, "王建国", phone="13812345678")
    known = send(client, form_url, manan, contact_phone="13812345678")
    unknown = send(client, form_url, manan, contact_phone="13900009999")
    assert known.status_code == unknown.status_code == 302

    def page(response) -> str:
        code = response["Location"].split("/")[2]
        body = client.get(response["Location"]).content.decode().replace(code, "CODE")
        return re.sub(r'(X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', "", body)

    assert page(known) == page(unknown)


# --- Tracking ------------------------------------------------------------------------------------


@pytest.fixture
def tracked(client, manan, manan_staff, manan_member, manan_leader_term, form_url, media):
    """A matter reported on the public form, then handled, with internal notes on the way."""
    send(client, form_url, manan, contact_phone="13812345678", files=[jpeg()])
    issue = Issue.objects.get()
    intake.issue_comment(issue=issue, actor=manan_staff, text="内部意见：先别告诉居民")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    handling.issue_assign(issue=issue, actor=manan_staff, members=[manan_leader_term])
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="内部理由：物业不配合")
    return Issue.objects.get()


def test_the_tracking_page_shows_status_and_public_events_and_nothing_personal(client, tracked):
    with translation.override("zh-hans"):
        response = client.get(reverse("public:track_issue", args=[tracked.tracking_code]))
        assert response.status_code == 200
        body = response.content.decode()
        assert tracked.get_status_display() in body
        assert str(Event.Kind.CREATED.label) in body
        assert str(Event.Kind.ESCALATED.label) in body
        assert str(Issue.Tier.COMMUNITY.label) in body
        assert str(Issue.Status.AWAITING.label) in body
    assert tracked.title in body and "马南社区" in body
    assert "环境卫生" in body  # the category
    for secret in (
        "13812345678",
        "5678",
        "李阿姨",  # contact name
        "内部意见",  # internal comment
        "内部理由",  # the escalation's reason
        "马南 工作人员",  # the actor
        "王建国",  # the assigned member
        "三栋二单元楼道堆满纸箱",  # the description may hold anything
    ):
        assert secret not in body, secret
    assert "<img" not in body and "/media/" not in body and ".jpg" not in body
    assert "no-store" in response["Cache-Control"]


def test_the_tracking_page_explains_a_matter_that_is_not_actionable(
    client, manan, manan_staff, form_url
):
    send(client, form_url, manan, category=factories.category(manan.street, "other").pk)
    issue = Issue.objects.get()
    explanation = "这属于供电公司的职责，请拨打95598。"
    handling.issue_transition(issue=issue, actor=manan_staff, name="defer", note="内部：等预算")
    handling.issue_transition(
        issue=Issue.objects.get(), actor=manan_staff, name="not_actionable", note=explanation
    )
    body = client.get(reverse("public:track_issue", args=[issue.tracking_code])).content.decode()
    assert explanation in body
    assert "内部：等预算" not in body


@pytest.mark.outsider("public:track_issue", "public:reported")
def test_an_unknown_code_is_404(client, manan):
    factories.issue(manan)
    for code in ("ZZZZZZZZ", "NOT-A-CODE-AT-ALL", "%3Cscript%3E"):
        response = client.get(f"/t/{code}/")
        assert response.status_code == 404
        assert 'name="code"' in response.content.decode()
    assert client.get(reverse("public:reported", args=["ZZZZZZZZ"])).status_code == 404


def test_codes_are_found_in_any_case_with_spaces_and_in_full_width(client, manan):
    issue = factories.issue(manan, channel="public_form")
    code = issue.tracking_code
    assert client.get(f"/t/{code.lower()}/").status_code == 200
    typed = f" {code[:4].lower()} {code[4:]} "
    response = client.get(reverse("public:track"), {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("public:track_issue", args=[code])
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    response = client.get(reverse("public:track"), {"code": full_width})
    assert response["Location"] == reverse("public:track_issue", args=[code])


def test_the_lookup_form_asks_again_for_an_empty_code(client):
    assert client.get(reverse("public:track")).status_code == 200
    response = client.get(reverse("public:track"), {"code": "  "})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()


def test_lookups_are_limited_per_address(client, manan):
    issue = factories.issue(manan)
    url = reverse("public:track_issue", args=[issue.tracking_code])
    for _ in range(public_views.LOOKUPS_PER_HOUR):
        client.get("/t/ZZZZZZZZ/")
    response = client.get(url)
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert issue.title not in response.content.decode()
    assert Client(REMOTE_ADDR="10.9.9.9").get(url).status_code == 200


# --- The throttle itself ---------------------------------------------------------------------


def test_the_throttle_counts_refuses_and_takes_back():
    assert all(throttle.hit("t", 3, 60) for _ in range(3))
    assert not throttle.hit("t", 3, 60)
    assert not throttle.hit("t", 3, 60)  # refused hits are not counted
    throttle.undo("t", 60)
    assert throttle.hit("t", 3, 60)
    assert not throttle.hit("t", 3, 60)
    assert throttle.hit("other", 3, 60)


def test_ipv6_clients_are_counted_per_64_prefix(rf):
    one = rf.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    two = rf.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9")
    three = rf.get("/", REMOTE_ADDR="2001:db8:1:3::1")
    assert throttle.client_ip(one) == throttle.client_ip(two) != throttle.client_ip(three)
    assert throttle.client_ip(rf.get("/", REMOTE_ADDR="::ffff:10.0.0.1")) == "10.0.0.1"


# --- The poster --------------------------------------------------------------------------------


def test_staff_get_a_printable_poster_with_an_inline_qr_code(as_user, manan_staff, manan):
    response = as_user(manan_staff).get(reverse("public:poster", args=[manan.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body
    assert not re.search(r"\sstyle\s*=", body, re.IGNORECASE)
    assert "<script>" not in body
    token = public_views.public_form_token(manan)
    assert f"http://testserver/r/{token}/" in body
    assert "马南社区" in body


def test_the_street_admin_may_print_the_poster_and_a_council_member_may_not(
    as_user, nanen_admin, manan_member, manan
):
    url = reverse("public:poster", args=[manan.pk])
    assert as_user(nanen_admin).get(url).status_code == 200
    assert as_user(manan_member).get(url).status_code == 403


@pytest.mark.outsider("public:poster", "public:poster_svg")
def test_outsiders_get_404_for_the_poster(as_user, xingfu_staff, other_admin, manan):
    for name in ("public:poster", "public:poster_svg"):
        url = reverse(name, args=[manan.pk])
        assert as_user(xingfu_staff).get(url).status_code == 404
        assert as_user(other_admin).get(url).status_code == 404
        assert as_user(xingfu_staff).get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in_for_the_poster(client, manan):
    for name in ("poster", "poster_svg"):
        url = reverse(f"public:{name}", args=[manan.pk])
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_qr_code_downloads_as_an_svg_file(as_user, manan_staff, manan):
    response = as_user(manan_staff).get(reverse("public:poster_svg", args=[manan.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"<?xml")
    assert b"<svg" in response.content and b"<script" not in response.content


# --- Query counts ----------------------------------------------------------------------------


def test_the_public_form_runs_two_queries(client, form_url, django_assert_num_queries):
    # The community with its street, and the street's categories.
    with django_assert_num_queries(2):
        assert client.get(form_url).status_code == 200


@pytest.mark.parametrize("events", [3, 30])
def test_the_tracking_page_runs_three_queries_whatever_the_timeline(
    client, manan, manan_staff, events, django_assert_num_queries
):
    issue = factories.issue(manan, channel="public_form")
    for _ in range(events - 1):
        handling.issue_record_deliberation(
            issue=issue, actor=manan_staff, at=issue.created, note="内部纪要"
        )
    assert issue.events.filter(is_public=True).count() == events
    # The issue with its community and category, the public events, and its latest
    # follow-up review (for the rating link).
    with django_assert_num_queries(3):
        response = client.get(reverse("public:track_issue", args=[issue.tracking_code]))
    assert response.status_code == 200
    assert response.content.decode().count("<li>") == events
