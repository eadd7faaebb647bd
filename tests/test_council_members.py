from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from members import actions
from members.models import CouncilMember, Notice
from tests import factories


def join_payload(resident, **overrides) -> dict:
    payload = {
        "resident": resident.pk,
        "joined_on": "2025-03-18",
        "role": "member",
        "category": "old_teacher",
        "covers_lane": "",
        "covers_building": "",
    }
    payload.update(overrides)
    return payload


def test_staff_add_a_building_leader(manan, manan_staff, as_user):
    resident = factories.resident(manan, "郭美玲", building="8栋")
    response = as_user(manan_staff).post(
        reverse("members:council_member_join", args=[manan.pk]),
        join_payload(
            resident, is_building_leader="on", covers_building="8栋", is_party_household="on"
        ),
    )
    assert response.status_code == 302
    member = CouncilMember.objects.get(resident=resident)
    assert member.is_building_leader and member.covers_building == "8栋"
    assert member.is_party_household
    assert member.joined_on == dt.date(2025, 3, 18)
    assert member.category == CouncilMember.Category.OLD_TEACHER


def test_lane_leader_needs_a_lane(manan, manan_staff, as_user):
    resident = factories.resident(manan, "郭美玲")
    response = as_user(manan_staff).post(
        reverse("members:council_member_join", args=[manan.pk]),
        join_payload(resident, is_lane_leader="on"),
    )
    assert response.status_code == 422
    assert response.context["form"].errors["covers_lane"]
    assert not CouncilMember.objects.exists()


def test_join_form_offers_only_active_residents_not_serving(manan, manan_staff, as_user):
    serving = factories.council_member(manan, factories.resident(manan, "在任者")).resident
    gone = factories.resident(manan, "已搬走")
    actions.resident_deactivate(actor=manan_staff, resident=gone)
    candidate = factories.resident(manan, "候选人")
    response = as_user(manan_staff).get(reverse("members:council_member_join", args=[manan.pk]))
    offered = set(response.context["form"].fields["resident"].queryset)
    assert offered == {candidate}
    assert serving not in offered


def test_leave_keeps_history_and_rejoining_opens_a_new_term(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    resident = factories.resident(manan, "何少芳")
    member = factories.council_member(manan, resident, joined_on=dt.date(2023, 1, 8))
    response = client.post(
        reverse("members:council_member_leave", args=[manan.pk, member.pk]),
        {"left_on": "2024-06-28", "reason": "外出务工"},
    )
    assert response.status_code == 302
    client.post(
        reverse("members:council_member_join", args=[manan.pk]),
        join_payload(resident, joined_on="2025-01-08", role="deputy"),
    )
    terms = list(CouncilMember.objects.filter(resident=resident).order_by("joined_on"))
    assert [(t.joined_on, t.left_on, t.role) for t in terms] == [
        (dt.date(2023, 1, 8), dt.date(2024, 6, 28), "member"),
        (dt.date(2025, 1, 8), None, "deputy"),
    ]
    current = client.get(reverse("members:council", args=[manan.pk]))
    assert [m.pk for m in current.context["members"]] == [terms[1].pk]
    history = client.get(reverse("members:council", args=[manan.pk]), {"former": "1"})
    assert {m.pk for m in history.context["members"]} == {terms[0].pk, terms[1].pk}


def test_leaving_before_joining_is_refused(manan, manan_staff, as_user):
    member = factories.council_member(manan, joined_on=dt.date(2024, 5, 1))
    response = as_user(manan_staff).post(
        reverse("members:council_member_leave", args=[manan.pk, member.pk]),
        {"left_on": "2024-04-30"},
    )
    assert response.status_code == 422
    assert "2024-05-01" in response.content.decode()
    member.refresh_from_db()
    assert member.left_on is None


def test_edit_changes_role_and_clears_unused_coverage(manan, manan_staff, as_user):
    member = factories.council_member(
        manan, is_lane_leader=True, covers_lane="一巷", category="other"
    )
    response = as_user(manan_staff).post(
        reverse("members:council_member_edit", args=[manan.pk, member.pk]),
        {
            "role": "leader",
            "category": "retired_cadre",
            "covers_lane": "一巷",
            "covers_building": "",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.role, member.category) == ("leader", "retired_cadre")
    assert not member.is_lane_leader and member.covers_lane == ""


def test_former_terms_cannot_be_edited(manan, manan_staff):
    member = factories.council_member(manan)
    actions.council_member_leave(actor=manan_staff, member=member, left_on=dt.date(2025, 1, 1))
    member.refresh_from_db()
    with pytest.raises(actions.ActionError):
        actions.council_member_update(actor=manan_staff, member=member, role="leader")
    with pytest.raises(actions.ActionError):
        actions.council_member_leave(actor=manan_staff, member=member, left_on=dt.date(2025, 2, 1))


def test_residents_of_another_community_cannot_join(manan, xingfu, manan_staff):
    outsider = factories.resident(xingfu, "外人")
    with pytest.raises(actions.ActionError):
        actions.council_member_join(
            actor=manan_staff,
            council=manan.council,
            resident=outsider,
            joined_on=dt.date(2025, 1, 1),
            category="other",
        )


def test_database_refuses_two_open_terms(manan):
    resident = factories.resident(manan)
    factories.council_member(manan, resident)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.council_member(manan, resident)


def test_leaders_with_accounts_are_notified_of_a_new_member(
    manan, manan_staff, manan_member, django_capture_on_commit_callbacks
):
    resident = factories.resident(manan, "新成员")
    with django_capture_on_commit_callbacks(execute=False):
        member = actions.council_member_join(
            actor=manan_staff,
            council=manan.council,
            resident=resident,
            joined_on=dt.date(2025, 1, 1),
            category="other",
        )
    notice = Notice.objects.get(recipient=manan_member, kind="member_joined")
    assert notice.context["name"] == "新成员"
    assert notice.key == f"member_joined:{member.pk}:{manan_member.pk}:inapp"


def test_category_and_role_choices_match_the_brief():
    assert len(CouncilMember.Category.choices) == 9
    assert set(CouncilMember.Role.values) == {"leader", "deputy", "member"}


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        ("manan_staff", ["Residents", "QR poster"], []),
        ("nanen_admin", ["Residents", "QR poster"], []),
        ("manan_member", [], ["Residents", "QR poster"]),
    ],
)
def test_community_tabs_offer_only_pages_the_reader_may_open(
    who, shown, hidden, manan, as_user, request
):
    """A council member sees the council page; its tabs no longer lead to pages that answer 403."""
    user = request.getfixturevalue(who)
    client = as_user(user)
    tabs = {
        "Residents": reverse("members:residents", args=[manan.pk]),
        "QR poster": reverse("public:poster", args=[manan.pk]),
    }
    for page in [
        reverse("members:council", args=[manan.pk]),
        reverse("schedules:list", args=[manan.pk]),
    ]:
        html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for tab in shown:
            assert f'href="{tabs[tab]}"' in html, (who, page, tab)
            assert client.get(tabs[tab]).status_code == 200
        for tab in hidden:
            assert f'href="{tabs[tab]}"' not in html, (who, page, tab)
            assert client.get(tabs[tab]).status_code == 403
