"""Reporting, editing, assigning and commenting on issues, as the domain actions do them."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import ExifTags, Image

from issues import search
from issues.actions import escalations, handling, intake
from issues.events import IssueActionError, StaleIssue
from issues.models import Event, Issue, Photo
from members.models import Notice
from tests import factories
from tests.helpers.photos import jpeg, png, png_claiming, text_as_jpeg, truncated_jpeg


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def report(community, actor, **fields) -> Issue:
    fields.setdefault("title", "3栋电梯坏了")
    fields.setdefault("channel", Issue.Channel.PATROL)
    fields.setdefault("category", factories.category(community.street))
    return intake.issue_report(actor=actor, community=community, **fields)


def nothing_written(media: Path | None = None) -> None:
    assert not Issue.objects.exists()
    assert not Event.objects.exists()
    assert not Photo.objects.exists()
    assert not Notice.objects.exists()
    if media is not None:
        assert stored_files(media) == []


def refused_message(error_type, call, *args, **kwargs) -> str:
    with translation.override("en"):
        with pytest.raises(error_type) as caught:
            call(*args, **kwargs)
        return str(caught.value)  # in English: a message may be lazily translated


# --- issue_report ---------------------------------------------------------------------------


def test_report_records_a_public_created_event_and_tells_the_community_staff(
    manan, manan_staff, manan_member
):
    # A council member reports from their phone; the community staff hear of it.
    issue = report(manan, manan_member, description="  门口的灯也不亮  ", place=" 3栋 ")

    assert issue.status == Issue.Status.SUBMITTED and issue.tier == Issue.Tier.COUNCIL
    assert (issue.description, issue.place, issue.entered_by) == (
        "门口的灯也不亮",
        "3栋",
        manan_member,
    )
    [event] = issue.events.all()
    assert (event.kind, event.actor, event.to_value, event.is_public) == (
        Event.Kind.CREATED,
        manan_member,
        Issue.Status.SUBMITTED,
        True,
    )
    notice = Notice.objects.get()
    assert (notice.recipient, notice.kind, notice.channel) == (
        manan_staff,
        "issue_reported",
        Notice.Channel.INAPP,
    )
    assert notice.context["title"] == "3栋电梯坏了"


def test_staff_entering_a_report_are_not_told_of_it(manan, manan_staff):
    report(manan, manan_staff)
    assert not Notice.objects.exists()


def test_public_form_report_has_no_actor(manan, manan_staff):
    issue = report(manan, None, channel=Issue.Channel.PUBLIC_FORM, contact_name=" 李阿姨 ")
    assert issue.entered_by is None and issue.contact_name == "李阿姨"
    assert issue.events.get().actor is None


def test_tracking_codes_are_eight_unambiguous_characters_and_unique(manan, manan_staff):
    codes = [report(manan, manan_staff).tracking_code for _ in range(25)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", code), code
        assert not set(code) & set("01OIL")


def test_a_tracking_code_already_in_use_is_drawn_again(manan, manan_staff, monkeypatch):
    first = report(manan, manan_staff)
    drawn = iter([first.tracking_code, first.tracking_code, "ABCD2345"])
    monkeypatch.setattr(intake, "new_tracking_code", lambda: next(drawn))
    assert report(manan, manan_staff).tracking_code == "ABCD2345"


def test_category_of_another_street_is_refused_and_nothing_written(manan, chengbei, manan_staff):
    message = refused_message(
        IssueActionError, report, manan, manan_staff, category=factories.category(chengbei)
    )
    assert message == "Choose a category of this street."
    nothing_written()


def test_category_no_longer_in_use_is_refused(manan, manan_staff):
    category = factories.category(manan.street, "policy")
    category.is_active = False
    category.save()
    message = refused_message(IssueActionError, report, manan, manan_staff, category=category)
    assert message == "Choose a category of this street."
    nothing_written()


def test_reporter_from_another_community_is_refused(manan, xingfu, manan_staff):
    neighbour = factories.resident(xingfu, "赵大妈")
    message = refused_message(IssueActionError, report, manan, manan_staff, reporter=neighbour)
    assert message == "The reporting resident must live in this community."
    nothing_written()


def test_reporter_of_the_community_is_kept(manan, manan_staff):
    resident = factories.resident(manan, "钱师傅")
    assert report(manan, manan_staff, reporter=resident).reporter == resident


def test_seven_photos_are_refused_and_nothing_written(manan, manan_staff, media):
    uploads = [jpeg(name=f"p{i}.jpg") for i in range(7)]
    message = refused_message(IssueActionError, report, manan, manan_staff, uploads=uploads)
    assert message == "At most 6 photos per issue."
    nothing_written(media)


def test_six_photos_are_stored_each_with_a_timeline_line(manan, manan_staff, media):
    issue = report(manan, manan_staff, uploads=[jpeg(name=f"p{i}.jpg") for i in range(6)])
    assert issue.photos.count() == 6
    assert len(stored_files(media)) == 6
    assert issue.events.filter(kind=Event.Kind.PHOTO, is_public=False).count() == 6


def test_large_photo_is_shrunk_and_its_gps_position_removed(manan, manan_staff, media):
    upload = jpeg((3000, 2000), gps=True)
    with Image.open(io.BytesIO(upload.read())) as original:  # the test photo really has GPS
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    upload.seek(0)

    issue = report(manan, manan_staff, uploads=[upload])

    photo = issue.photos.get()
    assert photo.kind == Photo.Kind.REPORT and photo.uploaded_by == manan_staff
    assert (photo.width, photo.height) == (1600, 1067)
    assert photo.size == Path(photo.image.path).stat().st_size
    assert Path(photo.image.path).is_relative_to(media)
    assert photo.image.name.endswith(".jpg") and "photo" not in photo.image.name
    with Image.open(photo.image.path) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) <= 1600 and stored.size == (1600, 1067)
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info


def test_camera_orientation_is_applied(manan, manan_staff, media):
    # Stored 300 wide and 200 high, to be shown turned 90° clockwise (EXIF orientation 6).
    issue = report(manan, manan_staff, uploads=[jpeg((300, 200), orientation=6, halves=True)])
    with Image.open(issue.photos.get().image.path) as stored:
        assert stored.size == (200, 300)
        red, _green, blue = stored.convert("RGB").getpixel((100, 10))
        assert red > 200 and blue < 60  # the left (red) half is now on top
        red, _green, blue = stored.convert("RGB").getpixel((100, 290))
        assert blue > 200 and red < 60


def test_transparent_png_is_stored_as_jpeg_on_white(manan, manan_staff, media):
    issue = report(manan, manan_staff, uploads=[png()])
    with Image.open(issue.photos.get().image.path) as stored:
        assert stored.format == "JPEG"
        assert stored.convert("RGB").getpixel((5, 5)) >= (250, 250, 250)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            text_as_jpeg,
            "“notes.jpg” is not a photo we can read. Please choose a JPEG or PNG image.",
        ),
        (
            truncated_jpeg,
            "“cut.jpg” is not a photo we can read. Please choose a JPEG or PNG image.",
        ),
        (lambda: png_claiming(20000, 20000), "“bomb.png” has too many pixels to be a photo."),
    ],
    ids=["text-renamed-jpg", "truncated-jpeg", "decompression-bomb"],
)
def test_unreadable_upload_is_refused_and_nothing_written(make, message, manan, manan_staff, media):
    # A good photo alongside: it must not be stored either.
    uploads = [jpeg(name="good.jpg"), make()]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        report(manan, manan_staff, uploads=uploads)
    assert caught.value.messages == [message]
    nothing_written(media)


def test_more_pixels_than_allowed_is_refused(manan, manan_staff, media, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        report(manan, manan_staff, uploads=[jpeg((100, 100), name="big.jpg")])
    assert caught.value.code == "too_many_pixels"
    assert caught.value.messages == ["“big.jpg” has too many pixels to be a photo."]
    nothing_written(media)


def test_upload_over_15_mb_is_refused_without_decoding(manan, manan_staff, media):
    upload = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"\0" * (15 * 1024 * 1024))
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        report(manan, manan_staff, uploads=[upload])
    assert caught.value.messages == [
        "“huge.jpg” is larger than 15 MB. Please choose a smaller photo."
    ]
    nothing_written(media)


# --- issue_edit ------------------------------------------------------------------------------


def test_edit_records_what_changed_and_refreshes_the_search_text(manan, manan_staff):
    issue = report(manan, manan_staff, title="楼道灯坏了", place="5栋")
    version = issue.version

    intake.issue_edit(
        issue=issue,
        actor=manan_staff,
        expected_version=version,
        title="电梯坏了",
        place="5栋",  # unchanged: not listed
        is_urgent=True,
    )

    issue.refresh_from_db()
    assert (issue.title, issue.is_urgent, issue.version) == ("电梯坏了", True, version + 1)
    event = issue.events.get(kind=Event.Kind.EDITED)
    assert (event.actor, event.note, event.is_public) == (manan_staff, "title, is_urgent", False)
    pairs = issue.search_bigrams.split()
    assert "电梯" in pairs and "梯坏" in pairs and "5栋" in pairs
    assert "楼道" not in pairs and "道灯" not in pairs
    assert issue.search_bigrams == search.document("电梯坏了", "", "5栋")


def test_edit_with_nothing_changed_writes_nothing(manan, manan_staff):
    issue = report(manan, manan_staff, title="楼道灯坏了")
    intake.issue_edit(
        issue=issue, actor=manan_staff, expected_version=issue.version, title="楼道灯坏了"
    )
    issue.refresh_from_db()
    assert issue.version == 1
    assert not issue.events.filter(kind=Event.Kind.EDITED).exists()


def test_edit_from_a_stale_form_is_refused_and_changes_nothing(manan, manan_staff):
    issue = report(manan, manan_staff, title="楼道灯坏了")
    stale = issue.version
    intake.issue_edit(issue=issue, actor=manan_staff, expected_version=stale, place="5栋")

    message = refused_message(
        StaleIssue,
        intake.issue_edit,
        issue=issue,
        actor=manan_staff,
        expected_version=stale,
        title="别的标题",
    )

    assert message.startswith("Someone else changed this issue while you were working on it.")
    issue.refresh_from_db()
    assert (issue.title, issue.place, issue.version) == ("楼道灯坏了", "5栋", stale + 1)
    assert issue.events.filter(kind=Event.Kind.EDITED).count() == 1


def test_edit_to_a_category_of_another_street_is_refused(manan, chengbei, manan_staff):
    issue = report(manan, manan_staff)
    message = refused_message(
        IssueActionError,
        intake.issue_edit,
        issue=issue,
        actor=manan_staff,
        expected_version=issue.version,
        category=factories.category(chengbei, "facilities"),
    )
    assert message == "Choose a category of this street."
    issue.refresh_from_db()
    assert issue.category.street == manan.street and issue.version == 1


def test_edit_refuses_fields_it_does_not_own(manan, manan_staff):
    issue = report(manan, manan_staff)
    with pytest.raises(TypeError):
        intake.issue_edit(
            issue=issue, actor=manan_staff, expected_version=1, status=Issue.Status.CLOSED
        )
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SUBMITTED


# --- issue_assign ----------------------------------------------------------------------------


def test_assign_records_members_and_due_date_and_notifies_their_accounts(
    manan, manan_staff, manan_member, manan_leader_term
):
    issue = report(manan, manan_staff)
    due = timezone.localdate() + dt.timedelta(days=7)

    handling.issue_assign(
        issue=issue,
        actor=manan_staff,
        members=[manan_leader_term],
        due_on=due,
        expected_version=issue.version,
    )

    issue.refresh_from_db()
    assert list(issue.assigned_members.all()) == [manan_leader_term]
    assert issue.due_on == due and issue.version == 2
    assigned, due_event = issue.events.filter(kind__in=["assigned", "due"]).order_by("id")
    assert (assigned.kind, assigned.note, assigned.actor) == ("assigned", "王建国", manan_staff)
    assert assigned.data == {"members": [manan_leader_term.pk], "staff": None}
    assert (due_event.kind, due_event.from_value, due_event.to_value) == (
        "due",
        "",
        due.isoformat(),
    )
    # The council solves it itself: the member finds it among their tasks.
    assert not Notice.objects.filter(kind="issue_assigned").exists()
    notice = Notice.objects.get(kind="task_assigned")
    assert (notice.recipient, notice.channel) == (manan_member, Notice.Channel.INAPP)
    assert notice.context == {"title": issue.title, "community": "马南社区", "issue_id": issue.pk}


def test_assign_to_staff_notifies_the_staff_member(manan, manan_staff):
    colleague = factories.user("manan_staff_2")
    factories.role(colleague, "community_staff", community=manan)
    issue = report(manan, manan_staff)
    handling.issue_assign(issue=issue, actor=manan_staff, staff=colleague)
    issue.refresh_from_db()
    assert issue.assigned_staff == colleague
    assert list(
        Notice.objects.filter(kind="issue_assigned").values_list("recipient", flat=True)
    ) == [colleague.pk]


def test_assign_with_nothing_changed_writes_and_sends_nothing(
    manan, manan_staff, manan_member, manan_leader_term
):
    issue = report(manan, manan_staff)
    due = timezone.localdate() + dt.timedelta(days=3)
    handling.issue_assign(issue=issue, actor=manan_staff, members=[manan_leader_term], due_on=due)
    issue.refresh_from_db()
    before = (issue.version, issue.events.count(), Notice.objects.count())

    handling.issue_assign(issue=issue, actor=manan_staff, members=[manan_leader_term], due_on=due)

    issue.refresh_from_db()
    assert (issue.version, issue.events.count(), Notice.objects.count()) == before


def test_changing_only_the_due_date_records_from_and_to(manan, manan_staff):
    issue = report(manan, manan_staff)
    first = timezone.localdate() + dt.timedelta(days=3)
    later = first + dt.timedelta(days=4)
    handling.issue_assign(issue=issue, actor=manan_staff, due_on=first)
    handling.issue_assign(issue=issue, actor=manan_staff, due_on=later)
    last = issue.events.filter(kind=Event.Kind.DUE).order_by("id").last()
    assert (last.from_value, last.to_value) == (first.isoformat(), later.isoformat())
    assert not issue.events.filter(kind=Event.Kind.ASSIGNED).exists()


def test_members_of_another_council_are_refused(manan, xingfu, manan_staff, manan_leader_term):
    outsider = factories.council_member(xingfu)
    issue = report(manan, manan_staff)
    before = (issue.version, issue.events.count())

    message = refused_message(
        IssueActionError,
        handling.issue_assign,
        issue=issue,
        actor=manan_staff,
        members=[manan_leader_term, outsider],
    )

    assert message == "Only current members of this community's council can be assigned."
    issue.refresh_from_db()
    assert not issue.assigned_members.exists()
    assert (issue.version, issue.events.count()) == before
    assert not Notice.objects.filter(kind="issue_assigned").exists()


def test_former_council_members_are_refused(manan, manan_staff):
    former = factories.council_member(manan, left_on=dt.date(2025, 1, 1))
    issue = report(manan, manan_staff)
    message = refused_message(
        IssueActionError, handling.issue_assign, issue=issue, actor=manan_staff, members=[former]
    )
    assert message == "Only current members of this community's council can be assigned."
    assert not issue.assigned_members.exists()


def test_staff_of_another_community_cannot_be_assigned(manan, manan_staff, xingfu_staff):
    issue = report(manan, manan_staff)
    message = refused_message(
        IssueActionError, handling.issue_assign, issue=issue, actor=manan_staff, staff=xingfu_staff
    )
    assert message == "Only staff of this community can be assigned."
    issue.refresh_from_db()
    assert issue.assigned_staff is None and issue.version == 1
    # The outsider hears nothing about another community's matter.
    assert not Notice.objects.filter(recipient=xingfu_staff).exists()


def test_a_resolved_issue_cannot_be_assigned(manan, manan_staff, manan_leader_term):
    issue = report(manan, manan_staff)
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    message = refused_message(
        IssueActionError,
        handling.issue_assign,
        issue=issue,
        actor=manan_staff,
        members=[manan_leader_term],
    )
    assert message == "A closed or resolved issue cannot be assigned."
    assert not issue.assigned_members.exists()


# --- issue_comment ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_empty_comment_is_refused(text, manan, manan_staff):
    issue = report(manan, manan_staff)
    message = refused_message(
        IssueActionError, intake.issue_comment, issue=issue, actor=manan_staff, text=text
    )
    assert message == "Write a comment first."
    assert not issue.events.filter(kind=Event.Kind.COMMENT).exists()


def test_comment_is_an_internal_timeline_line(manan, manan_staff):
    issue = report(manan, manan_staff)
    event = intake.issue_comment(issue=issue, actor=manan_staff, text="  已联系物业  ")
    assert (event.kind, event.note, event.actor, event.is_public) == (
        Event.Kind.COMMENT,
        "已联系物业",
        manan_staff,
        False,
    )


# --- Stale forms ------------------------------------------------------------------------------


STALE_CALLS = {
    "transition": lambda issue, actor, version: handling.issue_transition(
        issue=issue, actor=actor, name="accept", expected_version=version
    ),
    "assign": lambda issue, actor, version: handling.issue_assign(
        issue=issue,
        actor=actor,
        staff=actor,
        due_on=timezone.localdate() + dt.timedelta(days=2),
        expected_version=version,
    ),
    "escalate": lambda issue, actor, version: escalations.issue_escalate(
        issue=issue, actor=actor, reason="需要社区协调", expected_version=version
    ),
}


def state_of(issue: Issue) -> tuple:
    issue.refresh_from_db()
    return (
        issue.status,
        issue.tier,
        issue.version,
        issue.assigned_staff_id,
        issue.due_on,
        issue.events.count(),
        issue.escalations.count(),
        Notice.objects.count(),
    )


@pytest.mark.parametrize("action", sorted(STALE_CALLS))
def test_stale_form_is_refused_and_changes_nothing(action, manan, manan_staff):
    issue = report(manan, manan_staff)
    stale = issue.version
    intake.issue_comment(issue=issue, actor=manan_staff, text="先看看")
    intake.issue_edit(issue=issue, actor=manan_staff, expected_version=stale, place="3栋")
    before = state_of(issue)

    with pytest.raises(StaleIssue):
        STALE_CALLS[action](issue, manan_staff, stale)

    assert state_of(issue) == before


@pytest.mark.parametrize("action", sorted(STALE_CALLS))
def test_current_form_goes_through(action, manan, manan_staff):
    issue = report(manan, manan_staff)
    before = state_of(issue)
    STALE_CALLS[action](issue, manan_staff, issue.version)
    after = state_of(issue)
    assert after[2] == before[2] + 1  # version
    assert after[5] > before[5]  # timeline
