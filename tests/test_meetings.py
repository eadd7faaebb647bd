"""Running a meeting: sign-in, quorum, decisions carried out on the issue, and scoping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import queries
from deliberation.actions import running
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Attendance, Decision, Meeting, Vote
from issues.actions import escalations, handling
from issues.models import Escalation, Event, Issue
from members.models import CouncilMember
from tests import factories
from tests.helpers.meetings import quorum_present

TZ = timezone.get_default_timezone()
STARTS = dt.datetime(2027, 3, 8, 15, 0, tzinfo=TZ)


def make_meeting(community, starts_at=STARTS, **fields) -> Meeting:
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        place="社区居民议事点",
        **fields,
    )


def awaiting(community, actor, **fields) -> Issue:
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def on_agenda(meeting, issue, position=0) -> AgendaItem:
    return AgendaItem.objects.create(meeting=meeting, issue=issue, position=position)


def members(community, count) -> list[CouncilMember]:
    return [factories.council_member(community) for _ in range(count)]


def sign_in_all(meeting, terms, actor) -> None:
    for term in terms:
        running.attendance_sign_in(meeting=meeting, member=term, actor=actor, how="staff")


@pytest.fixture(autouse=True)
def on_the_day(clock):
    """The meeting (STARTS) begins in an hour: signing in is open."""
    clock.move_to(STARTS - dt.timedelta(hours=1))


@pytest.fixture(autouse=True)
def english(settings):
    """Refusals are matched in English; the views get the language cookie."""
    with translation.override("en"):
        yield


def in_english(client):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def meeting(manan):
    return make_meeting(manan)


@pytest.fixture
def item(meeting, manan, manan_staff):
    return on_agenda(meeting, awaiting(manan, manan_staff, title="楼道堆物"))


# --- Sign-in -----------------------------------------------------------------------------


def test_signing_in_twice_is_refused(meeting, manan_leader_term, manan_member):
    running.attendance_sign_in(
        meeting=meeting, member=manan_leader_term, actor=manan_member, how="self"
    )
    with pytest.raises(ActionError, match="already signed in"):
        running.attendance_sign_in(
            meeting=meeting, member=manan_leader_term, actor=manan_member, how="self"
        )
    assert Attendance.objects.filter(meeting=meeting).count() == 1


def test_members_of_another_council_former_members_and_cancelled_meetings_are_refused(
    meeting, manan, xingfu, manan_staff
):
    (stranger,) = members(xingfu, 1)
    with pytest.raises(ActionError, match="Only members of this council"):
        running.attendance_sign_in(meeting=meeting, member=stranger, actor=manan_staff, how="staff")
    (former,) = members(manan, 1)
    CouncilMember.objects.filter(pk=former.pk).update(left_on=dt.date(2025, 1, 1))
    former.refresh_from_db()
    with pytest.raises(ActionError, match="no longer a member"):
        running.attendance_sign_in(meeting=meeting, member=former, actor=manan_staff, how="staff")
    cancelled = make_meeting(manan, STARTS + dt.timedelta(days=10), state="cancelled")
    (current,) = members(manan, 1)
    with pytest.raises(ActionError, match="cancelled"):
        running.attendance_sign_in(
            meeting=cancelled, member=current, actor=manan_staff, how="staff"
        )
    assert not Attendance.objects.exists()


# --- Quorum ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("active", "ratio", "needed"),
    [(10, "0.5", 6), (9, "0.5", 5), (1, "0.5", 1), (10, "1", 10), (10, "0.67", 7), (0, "0.5", 0)],
)
def test_quorum_arithmetic(active, ratio, needed):
    assert queries.quorum_needed(active, Decimal(ratio), needed)[0] == needed
    assert queries.quorum_needed(active, Decimal(ratio), needed)[1] is (active > 0)
    if needed:
        assert queries.quorum_needed(active, Decimal(ratio), needed - 1)[1] is False


def test_quorum_of_a_meeting_counts_active_members_present(meeting, manan, manan_staff):
    terms = members(manan, 10)
    sign_in_all(meeting, terms[:5], manan_staff)
    assert queries.quorum(meeting) == (5, 6, False)
    sign_in_all(meeting, terms[5:6], manan_staff)
    assert queries.quorum(meeting) == (6, 6, True)
    # A member who leaves after signing in no longer counts, present or active.
    CouncilMember.objects.filter(pk=terms[0].pk).update(left_on=dt.date(2027, 3, 8))
    assert queries.quorum(meeting) == (5, 5, True)


def test_quorum_ratio_is_held_by_the_database(manan):
    from django.db import IntegrityError, transaction

    for bad in ("0", "1.5"):
        with pytest.raises(IntegrityError), transaction.atomic():
            type(manan.council).objects.filter(pk=manan.council.pk).update(
                quorum_ratio=Decimal(bad)
            )


# --- Decisions ---------------------------------------------------------------------------


def snapshot() -> tuple:
    return (
        Decision.objects.count(),
        Vote.objects.count(),
        list(Issue.objects.values_list("pk", "status", "tier", "version", "deliberated_at")),
        Event.objects.count(),
        Escalation.objects.count(),
        AgendaItem.objects.count(),
    )


def test_a_vote_without_quorum_is_refused_and_nothing_is_written(item, meeting, manan, manan_staff):
    terms = members(manan, 4)
    sign_in_all(meeting, terms[:2], manan_staff)  # 2 of 4: not more than half
    before = snapshot()
    with pytest.raises(ActionError, match="1 more member must sign in to reach the quorum"):
        running.decision_record(
            item=item,
            actor=manan_staff,
            outcome="solve_by_council",
            notes="",
            votes={terms[0].pk: "for", terms[1].pk: "for"},
        )
    assert snapshot() == before


def test_votes_are_recorded_only_for_members_present(item, meeting, manan, manan_staff):
    terms = members(manan, 4)
    sign_in_all(meeting, terms[:3], manan_staff)
    decision = running.decision_record(
        item=item,
        actor=manan_staff,
        outcome="solve_by_council",
        notes="由楼组长牵头清理",
        votes={terms[0].pk: "for", terms[1].pk: "against", terms[3].pk: "for"},
    )
    assert decision.needs_vote
    assert sorted(decision.votes.values_list("member_id", "choice")) == sorted(
        [(terms[0].pk, "for"), (terms[1].pk, "against")]
    )


def kinds_after(issue, before_id) -> list[tuple[str, str]]:
    return list(
        issue.events.filter(pk__gt=before_id).order_by("id").values_list("kind", "to_value")
    )


@pytest.mark.parametrize(
    ("outcome", "status", "tier", "transitions"),
    [
        ("solve_by_council", "decided", "council", ["decided"]),
        ("refer_to_community", "decided", "community", ["decided"]),
        ("escalate_to_street", "decided", "street", ["decided"]),
        ("not_actionable", "not_actionable", "council", ["not_actionable"]),
        ("defer", "deferred", "council", ["deferred"]),
    ],
)
def test_each_outcome_moves_the_issue_after_recording_the_deliberation(
    item, meeting, manan, manan_staff, outcome, status, tier, transitions
):
    terms = members(manan, 2)
    sign_in_all(meeting, terms, manan_staff)
    issue = item.issue
    last_event = issue.events.order_by("-id").first().pk
    decision = running.decision_record(
        item=item,
        actor=manan_staff,
        outcome=outcome,
        notes="议事会讨论意见",
        explanation="属于物业合同范围，不由议事会处理" if outcome == "not_actionable" else "",
        members=terms if outcome == "solve_by_council" else (),
        due_on=dt.date(2027, 4, 1) if outcome == "solve_by_council" else None,
    )
    issue.refresh_from_db()
    assert (decision.outcome, issue.status, issue.tier) == (outcome, status, tier)
    assert issue.deliberated_at == STARTS
    events = kinds_after(issue, last_event)
    assert events[0] == (Event.Kind.DELIBERATED, "2027-03-08")
    assert str(Event.Kind.DELIBERATED.label) == "deliberated at a council meeting"
    assert [to for kind, to in events if kind == Event.Kind.STATUS] == transitions
    first_status = next(i for i, (kind, _) in enumerate(events) if kind == Event.Kind.STATUS)
    assert first_status > 0
    if outcome == "solve_by_council":
        assert sorted(issue.assigned_members.values_list("pk", flat=True)) == sorted(
            t.pk for t in terms
        )
        assert issue.due_on == dt.date(2027, 4, 1)
    if outcome == "escalate_to_street":
        assert [to for kind, to in events if kind == Event.Kind.ESCALATED] == [
            "community",
            "street",
        ]
        assert Escalation.objects.filter(issue=issue, state="pending").count() == 1
    if outcome == "not_actionable":
        assert issue.outcome_note == "属于物业合同范围，不由议事会处理"


def test_escalating_from_the_community_tier_goes_up_once(item, meeting, manan_staff):
    quorum_present(meeting, manan_staff)
    escalations.issue_escalate(issue=item.issue, actor=manan_staff, reason="社区先看")
    running.decision_record(
        item=item, actor=manan_staff, outcome="escalate_to_street", notes="需要街道协调"
    )
    issue = Issue.objects.get(pk=item.issue_id)
    assert issue.tier == "street"
    assert issue.events.filter(kind=Event.Kind.ESCALATED).count() == 2


def test_deferring_puts_the_matter_on_the_next_scheduled_meeting(item, meeting, manan, manan_staff):
    make_meeting(manan, STARTS + dt.timedelta(days=20))  # later; not the next
    cancelled = make_meeting(manan, STARTS + dt.timedelta(days=5), state="cancelled")
    following = make_meeting(manan, STARTS + dt.timedelta(days=10))
    quorum_present(meeting, manan_staff)
    running.decision_record(item=item, actor=manan_staff, outcome="defer", notes="材料不全")
    assert AgendaItem.objects.get(pk=item.pk).meeting == meeting  # the record stays
    assert list(following.agenda_items.values_list("issue_id", flat=True)) == [item.issue_id]
    assert not cancelled.agenda_items.exists()
    # At the next meeting a deferred matter can be decided.
    later = following.agenda_items.get()
    quorum_present(following, manan_staff)
    running.decision_record(item=later, actor=manan_staff, outcome="solve_by_council", notes="")
    assert Issue.objects.get(pk=item.issue_id).status == "decided"


def test_a_refused_issue_step_leaves_no_decision(item, meeting, manan_staff):
    quorum_present(meeting, manan_staff)
    handling.issue_transition(issue=item.issue, actor=manan_staff, name="start")
    before = snapshot()
    with pytest.raises(ActionError, match="not possible"):
        running.decision_record(
            item=item, actor=manan_staff, outcome="not_actionable", notes="", explanation="不办"
        )
    assert snapshot() == before
    assert not Decision.objects.exists()
    assert not item.issue.events.filter(kind=Event.Kind.DELIBERATED).exists()


def test_an_item_is_decided_once_and_not_actionable_needs_an_explanation(
    item, meeting, manan_staff
):
    quorum_present(meeting, manan_staff)
    with pytest.raises(ActionError, match="Explain"):
        running.decision_record(item=item, actor=manan_staff, outcome="not_actionable", notes="")
    running.decision_record(item=item, actor=manan_staff, outcome="solve_by_council", notes="")
    with pytest.raises(ActionError, match="already been decided"):
        running.decision_record(item=item, actor=manan_staff, outcome="defer", notes="再议")
    assert Decision.objects.count() == 1


# --- Views: scoping ----------------------------------------------------------------------


def meeting_urls(meeting, item, member) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("meetings:detail", args=[meeting.pk]), {}),
        ("get", reverse("meetings:attendance", args=[meeting.pk]), {"present": ""}),
        ("get", reverse("meetings:sign_in_sheet", args=[meeting.pk]), {}),
        ("post", reverse("meetings:sign_in", args=[meeting.pk]), {}),
        ("post", reverse("meetings:sign_in", args=[meeting.pk]), {"member": member.pk}),
        (
            "post",
            reverse("meetings:decide", args=[meeting.pk, item.pk]),
            {f"item-{item.pk}-outcome": "solve_by_council"},
        ),
    ]


@pytest.mark.outsider(
    "meetings:detail",
    "meetings:attendance",
    "meetings:sign_in_sheet",
    "meetings:sign_in",
    "meetings:decide",
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "city_handler"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_every_meeting_url(
    request, outsider, htmx, item, meeting, manan_leader_term, as_user
):
    client = as_user(request.getfixturevalue(outsider))
    before = (snapshot(), Attendance.objects.count())
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url, payload in meeting_urls(meeting, item, manan_leader_term):
        response = getattr(client, method)(url, payload, **headers)
        assert response.status_code == 404, (outsider, method, url, response.status_code)
    assert (snapshot(), Attendance.objects.count()) == before
    listing = client.get(reverse("meetings:list"))
    assert listing.status_code == 200
    assert meeting not in listing.context["upcoming"] + listing.context["past"]


def test_a_council_member_signs_themself_in_and_the_quorum_updates(
    meeting, manan, manan_member, as_user
):
    members(manan, 2)  # 3 active with the leader: 2 needed
    client = in_english(as_user(manan_member))
    page = client.get(reverse("meetings:detail", args=[meeting.pk]))
    assert page.status_code == 200
    assert (page.context["present"], page.context["needed"]) == (0, 2)
    response = client.post(reverse("meetings:sign_in", args=[meeting.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card attendance" id="attendance"')
    assert "Present: 1 / needed: 2" in html
    assert Attendance.objects.get().how == "self"
    again = client.post(reverse("meetings:sign_in", args=[meeting.pk]), HTTP_HX_REQUEST="true")
    assert "王建国 is already signed in." in again.content.decode()
    assert Attendance.objects.count() == 1
    # A member cannot tick others nor record decisions.
    other = CouncilMember.objects.exclude(pk__in=Attendance.objects.values("member")).first()
    ticked = client.post(reverse("meetings:sign_in", args=[meeting.pk]), {"member": other.pk})
    assert ticked.status_code == 403


def test_staff_tick_members_and_record_a_decision_with_htmx(
    item, meeting, manan, manan_staff, as_user
):
    type(manan.council).objects.filter(pk=manan.council.pk).update(named_votes=True)
    terms = members(manan, 3)
    client = in_english(as_user(manan_staff))
    sign_in = reverse("meetings:sign_in", args=[meeting.pk])
    for term in terms[:2]:
        response = client.post(sign_in, {"member": term.pk}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert "Present: 2 / needed: 2 — quorum reached" in " ".join(response.content.decode().split())
    plain = client.post(sign_in, {"member": terms[2].pk})
    assert plain.status_code == 302
    foreign = members(factories.community("幸福村社区"), 1)[0]
    assert client.post(sign_in, {"member": foreign.pk}).status_code == 404

    # Fresh page, the item opened: vote fields for the three present members.
    page = client.get(reverse("meetings:detail", args=[meeting.pk]), {"open": item.pk})
    form = page.context["rows"][0][1]
    assert len(form.vote_fields) == 3
    prefix = f"item-{item.pk}-"
    response = client.post(
        reverse("meetings:decide", args=[meeting.pk, item.pk]),
        {
            prefix + "outcome": "solve_by_council",
            prefix + "notes": "楼组长牵头",
            prefix + "members": [str(terms[0].pk)],
            prefix + f"vote_{terms[0].pk}": "for",
            prefix + f"vote_{terms[1].pk}": "abstain",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert (
        response.content.decode()
        .lstrip()
        .startswith(f'<li class="card agenda-item" id="item-{item.pk}"')
    )
    decision = Decision.objects.get(item=item)
    assert decision.votes.count() == 2
    assert Issue.objects.get(pk=item.issue_id).status == "decided"
    assert "楼组长牵头" in response.content.decode()


def test_a_refused_decision_comes_back_with_the_message(item, meeting, manan_staff, as_user):
    quorum_present(meeting, manan_staff)
    handling.issue_transition(issue=item.issue, actor=manan_staff, name="start")
    client = in_english(as_user(manan_staff))
    prefix = f"item-{item.pk}-"
    url = reverse("meetings:decide", args=[meeting.pk, item.pk])
    payload = {prefix + "outcome": "not_actionable", prefix + "explanation": "不办"}
    response = client.post(url, payload, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not possible while the issue is" in html
    assert 'value="不办"' not in html  # a textarea: what was typed comes back as its text
    assert "不办</textarea>" in html
    page = client.post(url, payload)
    assert page.status_code == 422
    assert not Decision.objects.exists()
    missing = client.post(url, {prefix + "outcome": "not_actionable"})
    assert missing.status_code == 422
    # Already in progress: "decide" is skipped, the council's decision still stands.
    ok = client.post(url, {prefix + "outcome": "solve_by_council", prefix + "notes": "继续"})
    assert ok.status_code == 302
    assert Decision.objects.get().outcome == "solve_by_council"
    assert Issue.objects.get(pk=item.issue_id).status == "in_progress"


def test_street_admins_may_view_but_not_run(item, meeting, manan_leader_term, nanen_admin, as_user):
    client = as_user(nanen_admin)
    page = client.get(reverse("meetings:detail", args=[meeting.pk]))
    assert page.status_code == 200
    assert page.context["rows"][0][1] is None
    for method, url, payload in meeting_urls(meeting, item, manan_leader_term)[2:]:  # past pages
        assert getattr(client, method)(url, payload).status_code == 403
    assert not Attendance.objects.exists()
    assert not Decision.objects.exists()


# --- Query counts ------------------------------------------------------------------------


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_meeting_page_query_count_is_pinned_for_3_and_30_items(
    meeting, manan, manan_staff, as_user
):
    terms = members(manan, 5)
    sign_in_all(meeting, terms[:3], manan_staff)
    client = as_user(manan_staff)
    url = reverse("meetings:detail", args=[meeting.pk])

    def grow(count):
        start = meeting.agenda_items.count()
        for i in range(start, count):
            item = on_agenda(meeting, awaiting(manan, manan_staff, title=f"事项{i}"), i)
            if i % 3 == 0:
                running.decision_record(
                    item=item, actor=manan_staff, outcome="solve_by_council", notes=""
                )

    grow(3)
    few = queries_for(client, url)
    grow(30)
    many = queries_for(client, url)
    # session, user, roles; meeting (with council and community); members; attendances;
    # guests; agenda (items, issues, categories, decisions); items taken off; the next
    # meeting (where an item can be deferred); the units that can be invited; the latest
    # minutes (the unread notices come with the user); the councils joined to the meeting (a
    # joint meeting, one query however many). Staff serve on no council, so looking up their
    # own term runs no query. The issues that can be added load when staff ask for them.
    assert few == many == 13


def test_meeting_list_query_count_is_constant(manan, manan_member, as_user):
    client = as_user(manan_member)
    make_meeting(manan)
    few = queries_for(client, reverse("meetings:list"))
    for day in range(1, 20):
        make_meeting(manan, STARTS + dt.timedelta(days=day))
        make_meeting(manan, STARTS - dt.timedelta(days=400 + day))
    many = queries_for(client, reverse("meetings:list"))
    assert few == many


def test_the_attendance_card_polls_and_answers_only_when_someone_signed_in(
    item, meeting, manan, manan_staff, as_user
):
    type(manan.council).objects.filter(pk=manan.council.pk).update(named_votes=True)
    terms = members(manan, 3)
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:attendance", args=[meeting.pk])
    page = client.get(reverse("meetings:detail", args=[meeting.pk]))
    assert f'hx-get="{url}"' in page.content.decode()
    assert 'hx-trigger="every 10s"' in page.content.decode()

    # Nothing changed since the page showed nobody: no swap, the page stays as it is.
    assert client.get(url, {"present": ""}, HTTP_HX_REQUEST="true").status_code == 204

    # A member signed in on their phone: the card and the vote lists catch up,
    # and a vote staff had already chosen is kept.
    sign_in_all(meeting, terms[:2], manan_staff)
    prefix = f"item-{item.pk}-"
    response = client.get(
        url,
        {"present": "", "open": item.pk, prefix + f"vote_{terms[0].pk}": "against"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "Present: 2 / needed: 2 — quorum reached" in html
    assert f'id="votes-{item.pk}" hx-swap-oob="true"' in html
    assert html.count(f'name="{prefix}vote_') == 2
    assert '<option value="against" selected>' in html
    shown = response.context["present_signature"]
    assert sorted(shown.split(",")) == sorted([str(terms[0].pk), str(terms[1].pk)])
    assert f'value="{shown}"' in html
    assert client.get(url, {"present": shown}, HTTP_HX_REQUEST="true").status_code == 204


def test_a_closed_meeting_stops_polling(item, meeting, manan_staff, as_user):
    meeting.state = Meeting.State.HELD
    meeting.save()
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:attendance", args=[meeting.pk])
    response = client.get(url, {"present": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "hx-trigger" not in response.content.decode()
    assert (
        "hx-trigger"
        not in client.get(reverse("meetings:detail", args=[meeting.pk]))
        .content.decode()
        .split('id="attendance"')[1]
        .split("</section>")[0]
    )


def test_staff_show_a_qr_code_that_leads_members_to_the_meeting(
    meeting, manan_staff, manan_member, as_user
):
    sheet_url = reverse("meetings:sign_in_sheet", args=[meeting.pk])
    page = as_user(manan_staff).get(reverse("meetings:detail", args=[meeting.pk]))
    assert f'href="{sheet_url}"' in page.content.decode()
    sheet = as_user(manan_staff).get(sheet_url)
    html = sheet.content.decode()
    assert sheet.status_code == 200
    svg = html.split("<svg")[1].split("</svg>")[0]
    assert 'class="qr-code"' in svg and "<path" in svg and "style=" not in svg
    assert f"http://testserver{reverse('meetings:detail', args=[meeting.pk])}" in html
    # A member sees the meeting but does not run it.
    assert as_user(manan_member).get(sheet_url).status_code == 403
