"""Minutes: who chaired and who kept the record, approving only after a confirmation, and a
printout without a last page of footer alone or boxes for characters the CJK font lacks."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import minutes_pdf, minutes_text
from deliberation.actions import minutes as minutes_actions
from deliberation.actions.base import ActionError
from deliberation.models import Minutes
from members.models import CouncilMember, Role
from tests import factories

TZ = timezone.get_default_timezone()
STARTS = dt.datetime(2026, 3, 18, 15, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def meeting(manan):
    return factories.meeting(manan, STARTS)


@pytest.fixture
def people(manan, manan_leader_term):
    """A second member and a second staff member beside the leader and 马南社区's staff."""
    li = factories.council_member(manan, factories.resident(manan, "李秀英"))
    staff = factories.user("manan_recorder", display_name="陈晓燕")
    factories.role(staff, Role.Kind.COMMUNITY_STAFF, community=manan)
    return li, staff


@pytest.fixture
def draft(meeting, people, manan_staff, manan_member):
    manan_staff.display_name = "马南 工作人员"
    manan_staff.save(update_fields=["display_name"])
    return minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)


def snapshot() -> list[tuple]:
    return list(
        Minutes.objects.order_by("pk").values_list(
            "pk", "state", "title", "text", "chair", "recorder", "updated"
        )
    )


# --- Chair and recorder ------------------------------------------------------------------


def test_the_draft_names_the_leader_as_chair_and_the_drafter_as_recorder(draft):
    assert (draft.chair, draft.recorder) == ("王建国", "马南 工作人员")
    lines = draft.text.splitlines()
    assert "Chair: 王建国" in lines and "Recorder: 马南 工作人员" in lines
    assert lines.index("Chair: 王建国") < lines.index("Attendance")


def test_staff_choose_the_chair_and_recorder_among_members_and_staff(
    draft, people, manan_staff, as_user
):
    client = in_english(as_user(manan_staff))
    url = reverse("minutes:edit", args=[draft.pk])
    form = client.get(url).content.decode()
    for name in ("王建国", "李秀英", "马南 工作人员", "陈晓燕"):
        assert f'<option value="{name}"' in form
    assert '<optgroup label="Council members">' in form
    assert '<optgroup label="Community staff">' in form

    response = client.post(
        url,
        {
            "title": draft.title,
            "chair": "李秀英",
            "recorder": "陈晓燕",
            "text": draft.text,
            "stamp": minutes_text.stamp_of(draft),
        },
    )
    assert response.status_code == 302
    saved = Minutes.objects.get(pk=draft.pk)
    assert (saved.chair, saved.recorder) == ("李秀英", "陈晓燕")
    # The draft's own lines follow the choice.
    assert "Chair: 李秀英" in saved.text.splitlines()
    assert "Recorder: 陈晓燕" in saved.text.splitlines()
    assert "王建国" not in saved.text.split("Attendance")[0]

    page = client.get(reverse("minutes:detail", args=[draft.pk])).content.decode()
    assert "<dt>Chair</dt><dd>李秀英</dd>" in page
    assert "<dt>Recorder</dt><dd>陈晓燕</dd>" in page


def test_a_chair_from_outside_the_council_is_refused_and_nothing_changes(
    draft, manan_staff, xingfu, as_user
):
    outsider = factories.council_member(xingfu, factories.resident(xingfu, "外人甲"))
    before = snapshot()
    with pytest.raises(ActionError, match="Choose the chair among"):
        minutes_actions.minutes_edit(
            minutes=draft,
            actor=manan_staff,
            title=draft.title,
            text="改过的内容",
            stamp=minutes_text.stamp_of(draft),
            chair=outsider.resident.name,
        )
    response = in_english(as_user(manan_staff)).post(
        reverse("minutes:edit", args=[draft.pk]),
        {
            "title": draft.title,
            "chair": "外人甲",
            "recorder": "陈晓燕",
            "text": "改过的内容",
            "stamp": minutes_text.stamp_of(draft),
        },
    )
    assert response.status_code == 422
    assert "改过的内容</textarea>" in response.content.decode()
    assert snapshot() == before


def test_a_correction_keeps_the_chair_and_recorder(draft, manan_staff, manan_member):
    minutes_actions.minutes_approve(minutes=draft, actor=manan_member)
    correction = minutes_actions.minutes_correct(minutes=draft, actor=manan_staff, reason="更正")
    assert (correction.chair, correction.recorder) == ("王建国", "马南 工作人员")


def test_a_former_chair_stays_choosable_on_a_later_version(
    draft, manan_staff, manan_member, manan_leader_term, as_user
):
    CouncilMember.objects.filter(pk=manan_leader_term.pk).update(left_on=dt.date(2026, 4, 1))
    form = in_english(as_user(manan_staff)).get(reverse("minutes:edit", args=[draft.pk]))
    html = form.content.decode()
    assert '<optgroup label="Named earlier">' in html
    assert '<option value="王建国" selected>' in html


# --- Approving asks first ----------------------------------------------------------------


def test_approving_asks_for_a_confirmation_that_says_it_locks(draft, manan_member, as_user):
    client = as_user(manan_member)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    url = reverse("minutes:approve", args=[draft.pk])
    with translation.override("zh-hans"):
        page = client.get(reverse("minutes:detail", args=[draft.pk])).content.decode()
        assert f'<a class="button primary" href="{url}">' in page
        assert f'action="{url}"' not in page  # no form that approves on one tap
        confirm = client.get(url).content.decode()
    assert "审定后纪要将锁定，不能再修改。" in confirm
    assert "主持人" in confirm and "王建国" in confirm
    assert Minutes.objects.get().state == "draft"
    client.post(url, {"stamp": minutes_text.stamp_of(draft), "confirmed": "yes"})
    assert Minutes.objects.get().state == "approved"


def test_the_edit_and_confirmation_pages_run_a_fixed_number_of_queries(
    draft, manan, manan_staff, manan_member, as_user
):
    def count(client, url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    edit = reverse("minutes:edit", args=[draft.pk])
    approve = reverse("minutes:approve", args=[draft.pk])
    staff, leader = as_user(manan_staff), as_user(manan_member)
    few = (count(staff, edit), count(leader, approve))
    for index in range(30):
        factories.council_member(manan, factories.resident(manan, f"成员{index:02d}"))
        account = factories.user(f"staff_{index:02d}", display_name=f"工作人员{index:02d}")
        factories.role(account, Role.Kind.COMMUNITY_STAFF, community=manan)
    # edit: session, user, roles; version (scoped); members; staff; unread notices.
    # approve: session, user, roles; version (scoped); whether the reader leads; notices.
    assert few == (count(staff, edit), count(leader, approve)) == (6, 5)


# --- The PDF -----------------------------------------------------------------------------


def page_texts(html: str) -> list[str]:
    """The text laid out on each page of the PDF WeasyPrint makes of ``html``."""
    from common.pdf import document_from_html

    def texts(box):
        if hasattr(box, "text"):
            yield box.text
        for child in getattr(box, "children", ()):
            yield from texts(child)

    document = document_from_html(html)
    return ["".join(texts(page._page_box)) for page in document.pages]


def test_the_last_page_of_the_pdf_always_holds_text_of_the_minutes(draft, manan_member):
    """Just past a full first page, the printed-at line or the signatures made a page of
    their own, with nothing of the minutes on it."""
    minutes_actions.minutes_approve(minutes=draft, actor=manan_member)
    approved = Minutes.objects.get(pk=draft.pk)
    lines = [f"{n}. 第{n}项，由楼组长牵头清理。" for n in range(1, 60)]

    def pages(count: int) -> list[str]:
        approved.text = "\n".join(lines[:count]) + "\n"
        return page_texts(minutes_pdf.render_html(approved))

    one_page = 18
    while len(pages(one_page + 1)) == 1:  # find where a second page begins
        one_page += 1
    for count in range(one_page + 1, one_page + 6):
        printed = pages(count)
        assert len(printed) == 2, count
        assert "由楼组长牵头清理" in printed[-1], (count, printed[-1])
        assert "Approved by the council's leader" in printed[-1]
    assert "Printed from Yishi on" in printed[0] and "Printed from Yishi on" in printed[-1]


def test_characters_outside_the_cjk_font_print_in_a_fallback_font(draft, manan_staff, as_user):
    from pypdf import PdfReader

    minutes_actions.minutes_edit(
        minutes=draft,
        actor=manan_staff,
        title="马南社区会议纪要👍",
        text="居民吉野𠮷子说：“很好👍”。王𪚥记录。",
        stamp=minutes_text.stamp_of(draft),
    )
    response = as_user(manan_staff).get(reverse("minutes:pdf", args=[draft.pk]))
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Noto-Color-Emoji" in name for name in fonts), fonts
    assert any("HanaMin" in name for name in fonts), fonts  # 𪚥 is in no Noto CJK font
    text = "".join(page.extract_text() for page in reader.pages)
    assert "👍" in text and "𠮷" in text and "𪚥" in text


def test_the_deployments_install_the_fallback_fonts():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for setup in (root / "Dockerfile", root / ".ci" / "run"):
        text = setup.read_text()
        assert "fonts-noto-color-emoji" in text and "fonts-hanazono" in text, setup
    stack = (root / "deliberation/templates/meetings/minutes_pdf.html").read_text()
    assert '"HanaMinB", "Noto Color Emoji", "DejaVu Sans"' in stack
