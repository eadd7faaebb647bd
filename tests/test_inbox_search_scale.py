"""The inbox search at a city's scale: a common word's first page comes from a bounded walk
of the newest issues, a rare one's from the index, with the same rows either way; input that
could only be answered by reading every issue gets a message instead."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.paging import keyset_page
from issues import queries
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def every_page(user, filters, size):
    """All pages of the inbox, through the cursors the pages give."""
    pages, cursor = [], ""
    while True:
        page = queries.inbox_page(user, filters, cursor=cursor, size=size)
        pages.append([issue.pk for issue in page.rows])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_a_common_and_a_rare_word_give_the_rows_of_the_index_lookup_page_by_page(
    manan, manan_staff, monkeypatch
):
    monkeypatch.setattr(queries, "SEARCH_WALK", 6)
    for n in range(24):
        # 电梯 in two issues of three (the walk fills a page), 化粪池 in the oldest two only.
        title = "电梯坏了" if n % 3 else "路灯不亮"
        factories.issue(manan, actor=manan_staff, title=title if n > 1 else "化粪池堵了")
    factories.issue(manan, actor=manan_staff, title="楼道", description="三楼电梯门卡住")

    for word, filters in [
        ("电梯", queries.InboxFilters(q="电梯")),
        ("化粪池", queries.InboxFilters(q="化粪池")),
        ("电梯 坏", queries.InboxFilters(q="电梯 坏")),
        ("电梯", queries.InboxFilters(q="电梯", status="submitted")),
        ("地铁", queries.InboxFilters(q="地铁")),
    ]:
        expected, cursor = [], ""
        while True:
            page = keyset_page(
                queries.inbox(manan_staff, filters), keys=queries.INBOX_KEYS, cursor=cursor, size=4
            )
            expected.append([issue.pk for issue in page.rows])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert every_page(manan_staff, filters, 4) == expected, word
    assert sum(len(p) for p in every_page(manan_staff, queries.InboxFilters(q="电梯"), 4)) == 16
    assert every_page(manan_staff, queries.InboxFilters(q="化粪池"), 4) == [
        list(
            queries.inbox(manan_staff, queries.InboxFilters(q="化粪池")).values_list(
                "pk", flat=True
            )
        )
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the walk is PostgreSQL's plan")
def test_a_common_words_page_is_two_bounded_statements_and_never_the_index_lookup(
    manan, manan_staff, monkeypatch
):
    monkeypatch.setattr(queries, "SEARCH_WALK", 10)
    for n in range(30):
        factories.issue(manan, actor=manan_staff, title=f"电梯坏了{n}")
    queries.scope_of(manan_staff)  # read once per request, before the page's queries
    with CaptureQueriesContext(connection) as statements:
        page = queries.inbox_page(manan_staff, queries.InboxFilters(q="电梯"), size=5)
    assert len(page.rows) == 5
    assert len(statements) == 2
    assert all("string_to_array" not in s["sql"] for s in statements)
    assert "LIMIT 1 OFFSET 9" in statements[0]["sql"]


@pytest.mark.parametrize(
    "typed",
    ["a", "电", "%_", "% _ %", "电梯" * 100],
    ids=["one-letter", "one-character", "signs", "signs-spaced", "200-characters"],
)
def test_a_search_that_would_read_every_issue_gets_a_message_not_a_scan(manan, manan_staff, typed):
    factories.issue(manan, actor=manan_staff, title="电梯坏了 a%_")
    client = client_for(manan_staff)
    with CaptureQueriesContext(connection) as statements:
        response = client.get(reverse("issues:inbox"), {"q": typed})
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page or 'aria-invalid="true"' in page
    # Neither the rows nor the counts looked for it: no substring test over the issues.
    assert not [s["sql"] for s in statements if "LIKE" in s["sql"].upper()]


def test_only_spaces_is_no_search_and_is_counted_from_the_kept_counts(manan, manan_staff):
    factories.issue(manan, actor=manan_staff, title="电梯坏了")
    client = client_for(manan_staff)
    with CaptureQueriesContext(connection) as statements:
        response = client.get(reverse("issues:inbox"), {"q": "    "})
    assert response.status_code == 200
    assert "电梯坏了" in response.content.decode()
    assert not [s["sql"] for s in statements if "LIKE" in s["sql"].upper()]
    assert any('"issues_issuecount"' in s["sql"] for s in statements)


def test_no_match_and_a_cursor_of_another_filter_give_an_empty_page(manan, manan_staff):
    issues = [factories.issue(manan, actor=manan_staff, title=f"路灯不亮{n}") for n in range(4)]
    client = client_for(manan_staff)
    nothing = client.get(reverse("issues:inbox"), {"q": "地铁"})
    assert nothing.status_code == 200
    assert "路灯不亮" not in nothing.content.decode()

    # A cursor taken from the unfiltered list, used with a search: rows after it, no error.
    first = queries.inbox_page(manan_staff, queries.InboxFilters(), size=2)
    page = queries.inbox_page(
        manan_staff, queries.InboxFilters(q="路灯"), cursor=first.next_cursor, size=2
    )
    assert [issue.pk for issue in page.rows] == [issues[1].pk, issues[0].pk]
    tampered = client.get(reverse("issues:inbox"), {"q": "路灯", "after": "!!not-a-cursor"})
    assert tampered.status_code == 200
