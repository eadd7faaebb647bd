"""Lists the inbox shows 30 rows at a time: selects and inputs written in Python, choice
labels translated once per language."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils import translation

from common.forms import QuickCheckbox, QuickDateInput, QuickSelect, QuickTextInput
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


def test_quick_inputs_write_what_djangos_inputs_write():
    attrs = {"id": "id_f", "aria-describedby": "id_f_helptext", "required": True}
    cases = [
        (QuickTextInput(), forms.TextInput(), ["", None, 'A "quoted" <b>&', "电梯"]),
        (QuickDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
         forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
         [None, "", dt.date(2026, 12, 7), "2026-13-40"]),
        (QuickCheckbox(), forms.CheckboxInput(), [None, False, True, "on", ""]),
    ]  # fmt: skip
    for ours, django, values in cases:
        for value in values:
            mine = ours.render("f", value, attrs=dict(attrs))
            theirs = django.render("f", value, attrs=dict(attrs))
            assert _tags(mine) == _tags(theirs), (type(ours).__name__, value)
    assert 'value="A &quot;quoted&quot; &lt;b&gt;&amp;"' in QuickTextInput().render(
        "f", 'A "quoted" <b>&'
    )
    assert " checked" in QuickCheckbox().render("f", True)


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


def test_an_inbox_row_shows_every_mark_and_escapes_what_was_typed(as_user, manan, manan_staff):
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from tests import factories

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    issue = factories.issue(
        manan, actor=manan_staff, title='<script>alert("x")</script>路灯', is_urgent=True
    )
    Issue.objects.filter(pk=issue.pk).update(supporter_count=2, due_on=yesterday)
    plain = factories.issue(manan, actor=manan_staff, title="楼道杂物")
    client = as_user(manan_staff)

    page = client.get(reverse("issues:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.rindex("<tr", 0, page.index(f'href="/issues/{issue.pk}/"')) :]
    row = row[: row.index("</tr>")]
    assert '<tr class="overdue">' in row
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;路灯" in row and "<script>" not in row
    assert '<span class="tag" title="residents who also reported it">+2</span>' in row
    assert '<span class="tag urgent">urgent</span>' in row
    assert '<span class="tag overdue">overdue</span>' in row
    assert f'<span class="context">due {yesterday.isoformat()}</span>' in row
    assert 'data-label="Community">马南社区</td>' in row
    created = timezone.localtime(Issue.objects.get(pk=issue.pk).created)
    assert f'<time datetime="{created.isoformat()}">{created:%Y-%m-%d %H:%M}</time>' in row

    chinese = client.get(reverse("issues:inbox")).content.decode()
    start = chinese.rindex("<tr", 0, chinese.index(f'href="/issues/{plain.pk}/"'))
    plain_row = chinese[start : chinese.index("</tr>", start)]
    assert plain_row.startswith("<tr>") and 'data-label="社区"' in plain_row
    assert "tag" not in plain_row
