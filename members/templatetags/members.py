from django import template

from common.phones import mask_phone
from members import permissions
from members.models import Community

register = template.Library()


@register.filter
def masked_phone(phone: str) -> str:
    return mask_phone(phone)


@register.inclusion_tag("members/_community_tabs.html", takes_context=True)
def community_tabs(context: template.Context, community: Community, tab: str) -> dict:
    """A community's heading and tabs, with only the tabs the reader may open."""
    user = context["request"].user
    return {
        "community": community,
        "tab": tab,
        "can_see_residents": permissions.may_see_residents(user, community),
        "can_print_poster": permissions.may_print_poster(user, community),
        "can_manage_units": permissions.may_manage_residents(user, community),
    }
