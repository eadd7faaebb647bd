"""Lists the inbox shows 50 rows at a time: a select written in Python, choice labels
translated once per language."""

from __future__ import annotations

import re

from django import forms
from django.utils import translation

from common.forms import QuickSelect
from issues.models import Issue


def _tags(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "A & B"), ("b", "<b>")])
    grouped = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("Group “1”", [("x", "X"), ("y", "Y")]), ("z", "Z")],
    )


def test_a_quick_select_writes_what_djangos_select_writes():
    for data in (None, {"plain": "b", "grouped": "y"}, {"plain": "nope"}):
        form = Sample(data)
        form.is_valid() if data else None
        for field in form:
            widget = QuickSelect(choices=field.field.choices)
            attrs = field.build_widget_attrs({"id": field.auto_id, "aria-describedby": "h"})
            ours = widget.render(field.html_name, field.value(), attrs=attrs)
            django = forms.Select(choices=field.field.choices).render(
                field.html_name, field.value(), attrs=attrs
            )
            assert _tags(ours) == _tags(django)
            assert "&lt;b&gt;" in _tags(ours) or field.name == "grouped"


def test_an_issues_labels_follow_the_readers_language(manan, manan_staff):
    from tests import factories

    issue = factories.issue(manan, actor=manan_staff, title="路灯不亮")
    with translation.override("en"):
        english = issue.get_status_display(), issue.get_channel_display()
    with translation.override("zh-hans"):
        chinese = issue.get_status_display(), issue.get_channel_display()
    with translation.override("en"):
        assert (issue.get_status_display(), issue.get_channel_display()) == english
    assert english[0] == str(Issue.Status(issue.status).label) or english[0].isascii()
    assert english != chinese and all(not label.isascii() for label in chinese)
    issue.status = "no-such-status"
    assert issue.get_status_display() == "no-such-status"
