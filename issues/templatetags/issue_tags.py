import datetime as dt
from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from issues.models import Event, FollowUpReview, Issue, Rating

register = template.Library()

# A stand-in id, reversed once per list: a row's link is the same URL with its own id.
_ANY_ID = 987654321


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


@register.simple_tag
def inbox_rows(issues: Iterable[Issue], today: dt.date) -> SafeString:
    """The inbox's table rows, written here rather than in the template: a page has 30 of
    them on every request, and a template spends several times as long on each (Django's
    admin writes its change list's rows the same way, ``items_for_result``). Each cell
    carries its column's name as ``data-label`` for the stacked layout on a phone."""
    issue_label, community_label, status_label = _("Issue"), _("Community"), _("Status")
    handled_label, reported_label = _("Handled by"), _("Reported")
    supporters_title, urgent_tag = _("residents who also reported it"), _("urgent")
    overdue_tag = format_html(' <span class="tag overdue">{}</span>', _("overdue"))
    link_start, link_end = reverse("issues:detail", args=[_ANY_ID]).split(str(_ANY_ID))
    rows = []
    for issue in issues:
        late = issue.is_overdue(today)
        created = timezone.localtime(issue.created)
        also = ""
        if issue.supporter_count:
            also = format_html(
                ' <span class="tag" title="{}">+{}</span>', supporters_title, issue.supporter_count
            )
        urgent = (
            format_html(' <span class="tag urgent">{}</span>', urgent_tag)
            if issue.is_urgent
            else ""
        )
        due = ""
        if issue.due_on:
            due = format_html(
                '<span class="context">{}</span>', _("due %(date)s") % {"date": issue.due_on}
            )
        cells = [
            format_html(
                '<td data-label="{}"><a href="{}{}{}"><bdi>{}</bdi></a>{}\n'
                '<span class="context">{} · {}</span></td>',
                issue_label, link_start, issue.pk, link_end, issue.title, also,
                issue.category.label, issue.get_channel_display(),
            ),
            format_html('<td data-label="{}">{}</td>', community_label, issue.community.name),
            format_html(
                '<td data-label="{}"><span class="status status-{}">{}</span>{}{}</td>',
                status_label, issue.status, issue.get_status_display(), urgent,
                overdue_tag if late else "",
            ),
            format_html(
                '<td data-label="{}">{}{}</td>', handled_label, issue.get_tier_display(), due
            ),
            format_html(
                '<td data-label="{}"><time datetime="{}">{}</time></td>',
                reported_label, created.isoformat(), created.strftime("%Y-%m-%d %H:%M"),
            ),
        ]  # fmt: skip
        row_class = mark_safe(' class="overdue"') if late else ""
        rows.append(format_html("<tr{}>{}</tr>", row_class, mark_safe("".join(cells))))
    return mark_safe("\n".join(rows))
