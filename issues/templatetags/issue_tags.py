import datetime as dt

from django import template

from issues.models import Event, Issue

register = template.Library()


@register.filter
def overdue(issue: Issue, today: dt.date) -> bool:
    return issue.is_overdue(today)


@register.filter
def event_text(event: Event) -> str:
    """What a timeline line says happened, in the reader's language."""
    if event.kind == Event.Kind.STATUS and event.to_value:
        return str(Issue.Status(event.to_value).label)
    if (
        event.kind in (Event.Kind.TIER, Event.Kind.ESCALATED, Event.Kind.RETURNED)
        and event.to_value
    ):
        return f"{Event.Kind(event.kind).label} → {Issue.Tier(event.to_value).label}"
    return str(Event.Kind(event.kind).label)
