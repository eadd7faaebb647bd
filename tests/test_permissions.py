"""Who may do what with 马南社区's data: each app's permissions, answered for the standing people.

The tables are written out by hand. A permission is asked after the view has found the
community, street or issue (404 for anyone who may not see it), so a few answers below
are yes for someone who never gets that far: ``other_admin`` may comment on an issue
they see, but ``issue_for`` never shows them one of 马南.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from issues import permissions as issue_permissions
from members import permissions as member_permissions
from members.models import CouncilMember, Role
from reports import period_reports
from reports import permissions as report_permissions
from tests import factories

Y, N = True, False

PEOPLE = (
    "manan_staff",
    "xingfu_staff",
    "nanen_admin",
    "other_admin",
    "manan_member",
    "city_handler",
)
MODULES = {
    "members": member_permissions,
    "issues": issue_permissions,
    "reports": report_permissions,
}

# (app, question, what it is asked about): the answers for PEOPLE, in that order.
# 马南 is 马南社区 (its id where a function takes one), 南恩 its street 南恩街道, 问题 an issue
# of 马南社区; the reports are a quarter's of 马南社区 and of 南恩街道. manan_member leads
# 马南社区's council; city_handler works in a department of 南恩街道; other_admin is the
# admin of 城北街道; xingfu_staff keeps 幸福村社区, the other community of 南恩街道.
TABLE = [
    #                                                    马南   幸福村 南恩   城北   议事会 部门
    #                                                    staff  staff  admin  admin  leader handler
    ("members", "may_manage_residents", "马南",         (Y,     N,     N,     N,     N,     N)),
    ("members", "may_see_residents", "马南",            (Y,     N,     Y,     N,     N,     N)),
    ("members", "may_see_full_phones", "马南",          (Y,     N,     N,     N,     N,     N)),
    ("members", "may_export_roster", "马南",            (Y,     N,     Y,     N,     N,     N)),
    ("members", "may_manage_council", "马南",           (Y,     N,     N,     N,     N,     N)),
    ("members", "may_print_poster", "马南",             (Y,     N,     Y,     N,     N,     N)),
    ("members", "may_publish_transparency", "马南",     (Y,     N,     Y,     N,     N,     N)),
    ("members", "may_serve_on_council", "马南 id",      (N,     N,     N,     N,     Y,     N)),
    ("members", "may_lead_council", "马南 id",          (N,     N,     N,     N,     Y,     N)),
    ("members", "may_convene", "马南 id",               (Y,     N,     N,     N,     Y,     N)),
    ("members", "may_oversee_street", "南恩",           (N,     N,     Y,     N,     N,     N)),
    ("issues", "may_take_in_issue", "马南",             (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_report_issue", "马南",              (Y,     N,     N,     N,     Y,     N)),
    ("issues", "may_handle_issue", "问题",              (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_assign_issue", "问题",              (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_escalate_issue", "问题",            (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_rate_issue", "问题",                (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_comment_on_issue", "问题",          (Y,     N,     Y,     Y,     Y,     Y)),
    ("issues", "may_be_assigned_issue", "问题",         (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_export_full_phones", "马南 id",     (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_export_full_phone_of", "问题",      (Y,     N,     N,     N,     N,     N)),
    ("issues", "may_see_street_queue", "南恩",          (N,     N,     Y,     N,     N,     N)),
    ("issues", "may_manage_categories", "南恩",         (N,     N,     Y,     N,     N,     N)),
    ("reports", "may_see_community_dashboard", "马南",  (Y,     N,     Y,     N,     Y,     N)),
    ("reports", "may_request_community_report", "马南", (Y,     N,     Y,     N,     Y,     N)),
    ("reports", "may_see_street_dashboard", "南恩",     (N,     N,     Y,     N,     N,     N)),
    ("reports", "may_download_report", "马南报告",      (Y,     N,     Y,     N,     Y,     N)),
    ("reports", "may_download_report", "南恩报告",      (N,     N,     Y,     N,     N,     N)),
]  # fmt: skip

# Questions about a person, wherever they hold their roles.
ANYWHERE = [
    #                                             马南   幸福村 南恩   城北   议事会 部门
    #                                             staff  staff  admin  admin  leader handler
    ("members", "may_act_as_community_staff",    (Y,     Y,     N,     N,     N,     N)),
    ("members", "may_act_as_street_admin",       (N,     N,     Y,     Y,     N,     N)),
    ("members", "may_act_as_council_member",     (N,     N,     N,     N,     Y,     N)),
    ("members", "may_act_as_department_handler", (N,     N,     N,     N,     N,     Y)),
    ("issues", "may_use_inbox",                  (Y,     Y,     Y,     Y,     N,     N)),
]  # fmt: skip


@pytest.fixture
def things(manan, nanen, manan_staff, nanen_admin):
    period = period_reports.report_period("quarter", 2025, 1, today=dt.date(2025, 6, 1))
    community_report, _ = period_reports.report_request(
        actor=manan_staff, kind="quarter", period=period, community=manan
    )
    street_report, _ = period_reports.report_request(
        actor=nanen_admin, kind="quarter", period=period, street=nanen
    )
    return {
        "马南": manan,
        "马南 id": manan.pk,
        "南恩": nanen,
        "问题": factories.issue(manan, actor=manan_staff, title="楼道堆物"),
        "马南报告": community_report,
        "南恩报告": street_report,
    }


def _people(request) -> list:
    return [request.getfixturevalue(name) for name in PEOPLE]


@pytest.mark.parametrize(
    ("app", "question", "about", "expected"),
    TABLE,
    ids=[f"{app}.{question}-{about}" for app, question, about, _ in TABLE],
)
def test_who_may_do_what_with_manans_data(request, things, app, question, about, expected):
    ask = getattr(MODULES[app], question)
    answers = tuple(ask(person, things[about]) for person in _people(request))
    assert dict(zip(PEOPLE, answers, strict=True)) == dict(zip(PEOPLE, expected, strict=True))


@pytest.mark.parametrize(
    ("app", "question", "expected"), ANYWHERE, ids=[question for _, question, _ in ANYWHERE]
)
def test_what_each_persons_roles_open_anywhere(request, app, question, expected):
    ask = getattr(MODULES[app], question)
    answers = tuple(ask(person) for person in _people(request))
    assert dict(zip(PEOPLE, answers, strict=True)) == dict(zip(PEOPLE, expected, strict=True))


def council_account(community, username: str, **fields):
    account = factories.user(username)
    member = factories.council_member(community, **fields)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=member)
    return account


def test_only_the_councils_current_leader_and_deputies_lead_it(manan, xingfu, manan_member):
    deputy = council_account(manan, "deputy", role=CouncilMember.Role.DEPUTY)
    member = council_account(manan, "member", role=CouncilMember.Role.MEMBER)
    former = council_account(
        manan, "former", role=CouncilMember.Role.LEADER, left_on=dt.date(2025, 1, 1)
    )
    elsewhere = council_account(xingfu, "xingfu_leader", role=CouncilMember.Role.LEADER)
    people = {
        "leader": manan_member,
        "deputy": deputy,
        "member": member,
        "former": former,
        "幸福村 leader": elsewhere,
    }
    #                      serves  leads   convenes  dashboard
    expected = {
        "leader":         (Y,      Y,      Y,        Y),
        "deputy":         (Y,      Y,      Y,        Y),
        "member":         (Y,      N,      N,        N),
        "former":         (N,      N,      N,        N),
        "幸福村 leader":  (N,      N,      N,        N),
    }  # fmt: skip
    answers = {
        name: (
            member_permissions.may_serve_on_council(person, manan.pk),
            member_permissions.may_lead_council(person, manan.pk),
            member_permissions.may_convene(person, manan.pk),
            report_permissions.may_see_community_dashboard(person, manan),
        )
        for name, person in people.items()
    }
    assert answers == expected


def test_full_numbers_in_a_whole_inbox_export_only_when_every_community_is_ones_own(
    manan, xingfu, manan_staff, manan_leader_term
):
    both = factories.user("both_staff")
    factories.role(both, Role.Kind.COMMUNITY_STAFF, community=manan)
    factories.role(both, Role.Kind.COMMUNITY_STAFF, community=xingfu)
    staff_and_admin = factories.user("staff_and_admin")
    factories.role(staff_and_admin, Role.Kind.COMMUNITY_STAFF, community=manan)
    factories.role(staff_and_admin, Role.Kind.STREET_ADMIN, street=manan.street)
    serving_elsewhere = factories.user("serving_elsewhere")
    factories.role(serving_elsewhere, Role.Kind.COMMUNITY_STAFF, community=xingfu)
    factories.role(serving_elsewhere, Role.Kind.COUNCIL_MEMBER, council_member=manan_leader_term)

    # (the whole inbox, 马南 only, 幸福村 only)
    expected = {
        "manan_staff":       (Y, Y, N),
        "both_staff":        (Y, Y, Y),
        "staff_and_admin":   (N, Y, N),
        "serving_elsewhere": (N, N, Y),
    }  # fmt: skip
    people = {
        "manan_staff": manan_staff,
        "both_staff": both,
        "staff_and_admin": staff_and_admin,
        "serving_elsewhere": serving_elsewhere,
    }
    answers = {
        name: tuple(
            issue_permissions.may_export_full_phones(person, community_id)
            for community_id in (None, manan.pk, xingfu.pk)
        )
        for name, person in people.items()
    }
    assert answers == expected


REQUIRED = [
    (member_permissions.require_manage_residents, "马南"),
    (member_permissions.require_see_residents, "马南"),
    (member_permissions.require_see_full_phones, "马南"),
    (member_permissions.require_export_roster, "马南"),
    (member_permissions.require_manage_council, "马南"),
    (member_permissions.require_print_poster, "马南"),
    (issue_permissions.require_report_issue, "马南"),
    (issue_permissions.require_handle_issue, "问题"),
    (issue_permissions.require_assign_issue, "问题"),
    (issue_permissions.require_escalate_issue, "问题"),
    (issue_permissions.require_rate_issue, "问题"),
    (issue_permissions.require_comment_on_issue, "问题"),
    (issue_permissions.require_see_street_queue, "南恩"),
    (issue_permissions.require_manage_categories, "南恩"),
    (report_permissions.require_see_community_dashboard, "马南"),
    (report_permissions.require_request_community_report, "马南"),
]


@pytest.mark.parametrize(
    ("require", "about"), REQUIRED, ids=[require.__name__ for require, _ in REQUIRED]
)
def test_a_require_refuses_the_outsider_with_403_and_lets_the_others_through(
    things, require, about, xingfu_staff, manan_staff, nanen_admin
):
    with pytest.raises(PermissionDenied):
        require(xingfu_staff, things[about])
    allowed = nanen_admin if about == "南恩" else manan_staff
    assert require(allowed, things[about]) is None


def test_the_inbox_is_refused_to_those_without_one(manan_member, city_handler, nanen_admin):
    for person in (manan_member, city_handler):
        with pytest.raises(PermissionDenied):
            issue_permissions.require_use_inbox(person)
    assert issue_permissions.require_use_inbox(nanen_admin) is None
