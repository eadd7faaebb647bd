"""Why a page is slow: the plan of its slowest statement."""

from __future__ import annotations

from django.db import connection

from bench.measure import Result


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall())


def explain_slowest(result: Result) -> str:
    if not result.captured:
        return ""
    slowest = max(result.captured, key=lambda q: float(q["time"]))
    return (
        f"\n--- {result.key}: slowest statement ({float(slowest['time']) * 1000:.1f} ms)\n"
        f"{slowest['sql']}\n\n{explain(slowest['sql'])}"
    )
