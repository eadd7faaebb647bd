"""What a browser would send from a page's forms: the fields as drawn, hidden ones included."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append({})
        if not self.forms:
            return
        fields = self.forms[-1]
        name = attr.get("name")
        if tag == "input" and name:
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    fields[name] = attr.get("value") or "on"
            elif kind not in ("submit", "button", "file"):
                fields[name] = attr.get("value", "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attr:
            fields[self._select] = attr.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            textarea = self._textarea
            self.forms[-1][textarea] += data.lstrip("\n") if not self.forms[-1][textarea] else data


def forms_of(html: str) -> list[dict[str, str]]:
    """Each form of the page as the fields a browser would post untouched."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_with(html: str, **match: str) -> dict[str, str]:
    """The one form whose fields hold ``match`` (e.g. ``category="3"``), or that has a
    ``version`` field when no match is given, with the CSRF token left out."""
    found = [
        form
        for form in forms_of(html)
        if all(form.get(name) == value for name, value in match.items())
        and (match or "version" in form)
    ]
    assert len(found) == 1, f"{len(found)} forms match {match}"
    return {name: value for name, value in found[0].items() if name != "csrfmiddlewaretoken"}
