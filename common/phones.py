import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_phone(raw: str) -> str:
    """Accept what people type (spaces, dashes, +86) and keep one canonical form."""
    phone = re.sub(r"[\s()（）]", "", raw or "")
    phone = re.sub(r"^(\+86|0086)-?", "", phone)
    if not phone:
        return ""
    if MOBILE.match(phone.replace("-", "")):
        return phone.replace("-", "")
    if LANDLINE.match(phone):
        return phone
    raise ValidationError(
        _(
            "Enter an 11-digit mobile number such as 13812345678, "
            "or a landline such as 0662-3312345."
        ),
        code="invalid_phone",
    )


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a caller, not enough to call them."""
    if not phone:
        return ""
    digits = phone.replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 3 if len(digits) >= 11 else min(3, len(digits) - 4)
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]
