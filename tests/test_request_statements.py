"""What every request reads before its page: the session, the user with its unread notice
count, the roles, in three statements; the inbox's filter choices in plain queries, read
once; the issue page in a fixed number of statements."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members import notifications
from members.models import Notice
from tests import factories

pytestmark = pytest.mark.django_db

# Session, user with its unread count, roles; then the inbox's communities (which also give the
# streets), its page, its counts (kept per community and status), and its categories.
INBOX_STATEMENTS = 7


def unread_notices(user, count: int) -> None:
    Notice.objects.bulk_create(
        Notice(recipient=user, kind="test", channel="inapp", status="sent", key=f"s{i}",
               context={"text": str(i)})
        for i in range(count)
    )  # fmt: skip


def test_the_header_count_comes_with_the_user_and_a_page_after_reading_counts_again(
    as_user, manan_staff
):
    unread_notices(manan_staff, 3)
    client = as_user(manan_staff)
    with CaptureQueriesContext(connection) as statements:
        page = client.get(reverse("issues:inbox")).content.decode()
    assert '<span class="badge">3</span>' in page
    counts = 'SELECT COUNT(*) AS "__count" FROM "members_notice"'
    assert not [s for s in statements if s["sql"].startswith(counts)]

    # Read within a request: the count loaded with the user is forgotten, not shown stale.
    user = type(manan_staff).objects.get(pk=manan_staff.pk)
    user.unread_at_load = 3
    notifications.mark_read(actor=user)
    from members.queries import unread_count

    assert unread_count(user) == 0
    assert '<span class="badge">' not in client.get(reverse("issues:inbox")).content.decode()


def test_the_inbox_reads_its_choice_lists_without_server_side_cursors(
    as_user, manan, manan_staff, nanen_admin, monkeypatch
):
    factories.issue(manan, actor=manan_staff, title="电梯坏了")

    def no_iterator(self, *args, **kwargs):
        raise AssertionError("a server-side cursor for a short choice list")

    monkeypatch.setattr(QuerySet, "iterator", no_iterator)
    for user in (manan_staff, nanen_admin):
        response = as_user(user).get(reverse("issues:inbox"))
        assert response.status_code == 200
        assert "马南社区</option>" in response.content.decode()


def test_the_inbox_runs_the_same_few_statements_for_3_and_33_issues(as_user, manan, manan_staff):
    client = as_user(manan_staff)

    def counted() -> int:
        with CaptureQueriesContext(connection) as statements:
            assert client.get(reverse("issues:inbox")).status_code == 200
        return len(statements)

    for n in range(3):
        factories.issue(manan, actor=manan_staff, title=f"楼道杂物{n}")
    few = counted()
    for n in range(30):
        factories.issue(manan, actor=manan_staff, title=f"楼道杂物{n}")
    assert few == counted() == INBOX_STATEMENTS


def test_an_inbox_row_of_a_community_outside_the_lists_still_names_it(
    as_user, manan, manan_staff, chengbei, beishan, other_admin
):
    """Staff who also handle for a department of another street see the matters sent to
    it: their rows name a community and a category the filter form does not list."""
    from issues.models import Escalation

    department = factories.department(chengbei, "城北市政所")
    factories.role(manan_staff, "department_handler", department=department)
    factories.category(chengbei, "facilities")
    outside = factories.issue(beishan, actor=other_admin, code="facilities", title="北山路灯")
    factories.escalation(
        issue=outside, street=chengbei, reason="需要市政", raised_by=other_admin,
        state=Escalation.State.ACCEPTED, department=department,
    )  # fmt: skip
    factories.issue(manan, actor=manan_staff, title="马南楼道灯")

    page = as_user(manan_staff).get(reverse("issues:inbox")).content.decode()
    start = page.rindex("<tr", 0, page.index("北山路灯"))
    row = page[start : page.index("</tr>", start)]
    assert ">北山社区</td>" in row
    assert outside.category.name in row
    assert "马南楼道灯" in page
