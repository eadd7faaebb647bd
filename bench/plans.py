"""``python -m bench.plans [WORD …]``: how PostgreSQL runs the inbox search for some words.

For each word, prints the number of matches and the scans of ``EXPLAIN ANALYZE``
for the two statements an inbox search runs as ``bench_staff``: the first
page (ORDER BY created DESC, id DESC LIMIT 31) and ``status_counts`` (GROUP BY
status, with COUNT(*) as the app counts). Run it after ``python -m bench``
on the same ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
import sys

WORDS = ["电梯", "饮水", "地铁", "化粪池", "漏水到楼下"]
SHOWN = re.compile(r"Scan on issues?_|Scan using (?!members|issues_category)|"
                   r"Execution Time|Rows Removed by Filter")  # fmt: skip


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from bench.generate import USER_PREFIX
    from issues import queries
    from members.models import User

    if connection.vendor != "postgresql":
        print("bench.plans reads PostgreSQL plans; DATABASE_URL is not PostgreSQL.")
        return 2
    staff = User.objects.get(username=f"{USER_PREFIX}staff")

    def scans(plan: str) -> str:
        return "\n".join("    " + line.strip() for line in plan.splitlines() if SHOWN.search(line))

    for word in argv or WORDS:
        filters = queries.InboxFilters(q=word)
        first_page = queries.inbox(staff, filters).order_by("-created", "-id")[:31]
        counts = (
            queries._filtered(staff, filters).order_by().values("status").annotate(n=Count("*"))
        )
        print(f"== q={word}  ({queries._filtered(staff, filters).count():,} matches)")
        print("  first page:")
        print(scans(first_page.explain(analyze=True)))
        print("  status counts:")
        print(scans(counts.explain(analyze=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
