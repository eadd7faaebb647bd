"""Reply templates: the placeholders a street's reusable replies may hold, and filling them in.

A template is written once per street and reads naturally for every resident, so its
placeholders name what changes from one matter to the next. Each has a Chinese spelling
beside the English one, as staff write templates in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from issues.models import Issue


def _name(issue: Issue) -> str:
    if issue.contact_name:
        return issue.contact_name
    if issue.reporter_id:
        return issue.reporter.name
    return str(gettext_lazy("resident"))


def _due(issue: Issue) -> str:
    return formats.date_format(issue.due_on, "SHORT_DATE_FORMAT") if issue.due_on else ""


PLACEHOLDERS: dict[str, Callable[[Issue], str]] = {
    "name": _name,
    "code": lambda issue: issue.tracking_code,
    "today": lambda issue: formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT"),
    "due": _due,
}
ALIASES = {"称呼": "name", "查询码": "code", "日期": "today", "期限": "due"}
PLACEHOLDER_HELP = gettext_lazy(
    "Placeholders: {称呼} or {name} the resident, {查询码} or {code} the tracking code, "
    "{日期} or {today} today's date, {期限} or {due} the due date."
)

_BRACED = re.compile(r"[{｛]([^{}｛｝]{1,12})[}｝]")


def _key(word: str) -> str | None:
    word = word.strip()
    return word if word in PLACEHOLDERS else ALIASES.get(word)


def clean_body(body: str) -> str:
    """A template's text, refused when it names a placeholder nobody fills in."""
    unknown = sorted({m.group(1) for m in _BRACED.finditer(body) if _key(m.group(1)) is None})
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(names)s. %(help)s")
            % {"names": "、".join(f"{{{word}}}" for word in unknown), "help": PLACEHOLDER_HELP}
        )
    return body.strip()


def fill(body: str, issue: Issue) -> str:
    """The template's text for this matter, each placeholder replaced."""

    def replace(match: re.Match) -> str:
        key = _key(match.group(1))
        return PLACEHOLDERS[key](issue) if key else match.group(0)

    return _BRACED.sub(replace, body)
