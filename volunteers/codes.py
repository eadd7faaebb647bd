"""The code an activity's QR sign-in link carries: without it, the link is 404."""

from __future__ import annotations

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from volunteers.models import Activity

SALT = "yishi.volunteers.activity-sign-in"


def activity_code(activity: Activity) -> str:
    return salted_hmac(SALT, str(activity.pk)).hexdigest()[:20]


def code_matches(activity: Activity, code: str) -> bool:
    return constant_time_compare(activity_code(activity), code)


def sign_in_path(activity: Activity) -> str:
    return reverse("volunteers:code", args=[activity.pk, activity_code(activity)])
