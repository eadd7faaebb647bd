"""Search in the inbox: two-character Chinese words, found the same way on SQLite and PostgreSQL.

On PostgreSQL the search reads a GIN index over each issue's character pairs;
the last tests check that the index exists and that the planner can use it.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from issues import search
from issues.actions import handling, intake
from issues.models import Issue
from issues.queries import InboxFilters, inbox, status_counts
from members.queries import scope_of
from tests import factories

ON_POSTGRESQL = connection.vendor == "postgresql"

# --- bigrams and documents ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("电梯坏了", ["电梯", "梯坏", "坏了"]),
        ("电梯", ["电梯"]),
        ("灯", ["灯"]),
        ("3栋 灯 坏", ["3栋", "灯", "坏"]),
        ("Lift in BLOCK 12", ["li", "if", "ft", "in", "bl", "lo", "oc", "ck", "12"]),
        ("电梯，噪音！", ["电梯", "噪音"]),
        ("", []),
        ("  ，。！ ", []),
    ],
)
def test_bigrams(text, pairs):
    assert search.bigrams(text) == pairs


def test_document_joins_the_pairs_of_every_text_once():
    assert search.document("电梯坏了", "电梯又坏", "3栋") == "电梯 梯坏 坏了 梯又 又坏 3栋"
    assert search.document("", "", "") == ""


def test_a_reported_issue_stores_its_pairs(manan, manan_staff):
    issue = factories.issue(
        manan, actor=manan_staff, title="电梯坏了", description="噪音很大", place="5栋"
    )
    issue.refresh_from_db()
    assert issue.search_bigrams == "电梯 梯坏 坏了 噪音 音很 很大 5栋"


# --- the inbox's search box ---------------------------------------------------------------


@pytest.fixture
def lift_issues(manan, manan_staff):
    def new(title, **fields):
        return factories.issue(manan, actor=manan_staff, title=title, **fields)

    return {
        "title": new("3栋电梯坏了"),
        "description": new("有人被困", description="早上八点电梯停在五楼"),
        "place": new("按钮失灵", place="8栋电梯厅"),
        "latin": new("Lift stuck in Block 12"),
        "noise": new("广场舞噪音", description="每天晚上"),
        "stairs": new("楼梯扶手松了"),
        "ladder": new("梯子被偷了"),
        "electric": new("电费单据丢了"),
    }


def found(user, q, **filters) -> set[int]:
    return set(inbox(user, InboxFilters(q=q, **filters)).values_list("pk", flat=True))


def pks(issues, *names) -> set[int]:
    return {issues[name].pk for name in names}


def test_two_characters_find_the_word_in_title_description_or_place(lift_issues, manan_staff):
    assert found(manan_staff, "电梯") == pks(lift_issues, "title", "description", "place")
    assert found(manan_staff, " 噪音 ") == pks(lift_issues, "noise")


def test_three_characters_need_every_pair(lift_issues, manan_staff):
    assert found(manan_staff, "电梯坏") == pks(lift_issues, "title")
    assert found(manan_staff, "梯坏了") == pks(lift_issues, "title")
    assert found(manan_staff, "3栋电梯坏了") == pks(lift_issues, "title")
    assert found(manan_staff, "电梯停") == pks(lift_issues, "description")
    assert found(manan_staff, "电梯厅") == pks(lift_issues, "place")
    assert found(manan_staff, "电梯修") == set()


def test_latin_and_digits_match_in_any_case(lift_issues, manan_staff):
    assert found(manan_staff, "lift") == pks(lift_issues, "latin")
    assert found(manan_staff, "BLOCK 12") == pks(lift_issues, "latin")
    assert found(manan_staff, "12") == pks(lift_issues, "latin")


def test_an_empty_search_lists_everything(lift_issues, manan_staff):
    assert found(manan_staff, "   ") == {i.pk for i in lift_issues.values()}


def test_nothing_matches_words_absent_everywhere(lift_issues, manan_staff):
    assert found(manan_staff, "下水道") == set()
    assert found(manan_staff, "电影") == set()


def test_one_character_finds_it_inside_longer_words(manan, manan_staff):
    lamp = factories.issue(manan, actor=manan_staff, title="路灯不亮")
    factories.issue(manan, actor=manan_staff, title="电梯坏了")
    assert found(manan_staff, "灯") == {lamp.pk}


def test_search_stays_within_what_the_user_may_see(manan, xingfu, manan_staff, xingfu_staff):
    ours = factories.issue(manan, actor=manan_staff, title="电梯坏了")
    theirs = factories.issue(xingfu, actor=xingfu_staff, title="电梯也坏了")
    assert found(manan_staff, "电梯") == {ours.pk}
    assert found(xingfu_staff, "电梯") == {theirs.pk}


def test_search_follows_an_edit(lift_issues, manan_staff):
    issue = lift_issues["stairs"]
    intake.issue_edit(
        issue=issue, actor=manan_staff, expected_version=issue.version, title="电梯扶手松了"
    )
    assert lift_issues["stairs"].pk in found(manan_staff, "电梯")
    assert found(manan_staff, "楼梯") == set()


def test_search_combines_with_the_other_filters(lift_issues, manan_staff):
    issue = lift_issues["place"]
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    assert found(manan_staff, "电梯", status="in_progress") == {issue.pk}
    assert found(manan_staff, "电梯", status="submitted") == pks(
        lift_issues, "title", "description"
    )


# --- counts per status --------------------------------------------------------------------


def test_status_counts_are_one_query_for_the_same_filters(
    lift_issues, manan_staff, django_assert_num_queries
):
    for name in ("title", "description"):
        handling.issue_transition(issue=lift_issues[name], actor=manan_staff, name="start")
    handling.issue_transition(issue=lift_issues["title"], actor=manan_staff, name="resolve")
    scope_of(manan_staff)  # read once per request, before the page's queries

    with django_assert_num_queries(1):
        counts = status_counts(manan_staff, InboxFilters(q="电梯", status="resolved"))

    # The status filter does not narrow the counts: they label the status tabs.
    assert counts.by_status == {"resolved": 1, "in_progress": 1, "submitted": 1}
    with django_assert_num_queries(1):
        assert status_counts(manan_staff, InboxFilters()).by_status == {
            "resolved": 1,
            "in_progress": 1,
            "submitted": 6,
        }


def test_status_counts_count_each_issue_once_for_mine(
    manan, manan_staff, manan_leader_term, manan_member
):
    second = factories.council_member(manan)
    issue = factories.issue(manan, actor=manan_staff, title="电梯坏了")
    # Entered by manan_staff and assigned to two members: several join rows, one issue.
    handling.issue_assign(issue=issue, actor=manan_staff, members=[manan_leader_term, second])
    factories.issue(manan, actor=None, title="电梯又坏了")

    filters = InboxFilters(mine=True)
    assert list(inbox(manan_staff, filters)) == [issue]
    assert status_counts(manan_staff, filters).by_status == {"submitted": 1}
    assert status_counts(manan_member, filters).by_status == {"submitted": 1}
    assert status_counts(manan_staff, filters, exact=True).by_status == {"submitted": 1}


# --- PostgreSQL: the GIN index ------------------------------------------------------------


def test_the_gin_index_over_the_pairs_exists(db):
    """PostgreSQL has the index; SQLite, which has no GIN, searches by substring instead."""
    if not ON_POSTGRESQL:
        sql = str(search.matching(Issue.objects.all(), "电梯").query)
        assert "LIKE" in sql and "string_to_array" not in sql
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'issues_issue' "
            "AND indexname = 'issue_search_pairs'"
        )
        rows = cursor.fetchall()
    assert len(rows) == 1
    definition = rows[0][0]
    assert "USING gin" in definition
    assert "string_to_array(search_bigrams, ' '" in definition


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test table is tiny
        cursor.execute(f"EXPLAIN {sql}", params)
        explained = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)  # and with it the SET LOCAL
    return explained


@pytest.mark.parametrize("q", ["电梯", "电梯坏"])
def test_the_search_uses_the_gin_index(q, lift_issues):
    # Unordered, as the counts query is: an ordered page may rightly walk issue_recent instead.
    queryset = search.matching(Issue.objects.order_by(), q).values("pk")
    if not ON_POSTGRESQL:
        assert "LIKE" in str(queryset.query)
        return
    explained = plan(queryset)
    assert "Bitmap Index Scan on issue_search_pairs" in explained, explained


def test_a_phrase_matches_only_where_it_stands_as_typed(manan, manan_staff):
    """Every pair of 漏水到楼上 occurring somewhere in the text is not a match."""
    scattered = factories.issue(
        manan, actor=manan_staff, title="楼上漏水", description="水到了厨房，到处是水"
    )
    exact = factories.issue(manan, actor=manan_staff, title="卫生间漏水到楼上")
    assert found(manan_staff, "漏水到楼上") == {exact.pk}
    assert found(manan_staff, "楼上 漏水") == {scattered.pk, exact.pk}  # words: all of them
