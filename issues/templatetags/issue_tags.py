import datetime as dt

from django import template

from issues.models import Event, FollowUpReview, Issue, Rating

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
    if event.kind == Event.Kind.RATED and event.to_value.isdigit():
        source = event.data.get("source", Rating.Source.LINK)
        return (
            f"{Event.Kind(event.kind).label}: "
            f"{Rating.Satisfaction(int(event.to_value)).label} ({Rating.Source(source).label})"
        )
    if event.kind == Event.Kind.REVIEWED and event.to_value:
        return (
            f"{Event.Kind(event.kind).label}: {FollowUpReview.CouncilOutcome(event.to_value).label}"
        )
    if event.kind == Event.Kind.VOLUNTEER_WORK:
        return f"{Event.Kind(event.kind).label}: {event.volunteer_work_detail}"
    return str(Event.Kind(event.kind).label)
