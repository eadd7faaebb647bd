"""``{{ minutes|service_time }}``: minutes of service as hours and minutes, in words."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def service_time(minutes: int | None) -> str:
    minutes = int(minutes or 0)
    sign = "−" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours and rest:
        text = _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    elif hours:
        text = _("%(hours)s h") % {"hours": hours}
    else:
        text = _("%(minutes)s min") % {"minutes": rest}
    return sign + text
