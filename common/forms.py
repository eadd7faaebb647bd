"""Form fields every app's forms share."""

import secrets

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def day_field(label) -> forms.DateField:
    """An optional date, picked with the phone's or browser's own date picker."""
    return forms.DateField(
        label=label,
        required=False,
        widget=QuickDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def new_submission_key() -> str:
    """A random one-time key for a form that creates something."""
    return secrets.token_urlsafe(24)


class SubmissionKeyField(forms.CharField):
    """The hidden one-time key of a form that creates something: drawn new with each
    empty form, sent back unchanged when the form comes back with errors."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("initial", new_submission_key)
        super().__init__(**kwargs)


class QuickInput:
    """An ``<input>`` widget written out in Python: Django's own HTML, without the three
    templates (the input, its attributes, the widget) each one renders through."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = widget["value"]
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            format_html(' value="{}"', shown) if shown is not None else "",
            _attributes(widget["attrs"]),
        )


class QuickTextInput(QuickInput, forms.TextInput):
    pass


class QuickDateInput(QuickInput, forms.DateInput):
    pass


class QuickCheckbox(QuickInput, forms.CheckboxInput):
    pass


class QuickSelect(forms.Select):
    """A ``<select>`` written out in Python instead of through a template per option.

    The HTML is Django's own ``Select``'s; a filter form of seven lists and some sixty
    options spent most of its rendering in the option template.
    """

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group_name, options, _index in widget["optgroups"]:
            rendered = mark_safe("".join(_option(option) for option in options))
            if group_name:
                rendered = format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered)
            parts.append(rendered)
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            _attributes(widget["attrs"]),
            mark_safe("".join(parts)),
        )


def _option(option: dict) -> str:
    value = "" if option["value"] is None else str(option["value"])
    return format_html(
        '<option value="{}"{}>{}</option>', value, _attributes(option["attrs"]), option["label"]
    )


def _attributes(attrs: dict) -> str:
    """Django's ``attrs.html`` in Python: in their order, True bare, False left out."""
    return mark_safe(
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
            for name, value in attrs.items()
            if value is not False
        )
    )
