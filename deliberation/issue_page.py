"""The meetings app's part of an issue's page (provided to ``issues.extensions``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from deliberation.forms import ConveneForm
from deliberation.permissions import can_convene
from issues.models import Issue
from members.models import User


def convene_form(user: User, issue: Issue) -> ConveneForm | None:
    """The urgent-meeting form, for an urgent open issue and someone who may convene."""
    if not (issue.is_urgent and issue.is_open and can_convene(user, issue)):
        return None
    start = timezone.localtime() + dt.timedelta(hours=1)
    return ConveneForm(initial={"starts_at": start.replace(second=0, microsecond=0)})
