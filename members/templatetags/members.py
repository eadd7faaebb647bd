from django import template

from common.phones import mask_phone

register = template.Library()


@register.filter
def masked_phone(phone: str) -> str:
    return mask_phone(phone)
