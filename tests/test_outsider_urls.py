"""Every URL that takes an id or a token has an outsider test.

An outsider test is marked ``@pytest.mark.outsider("issues:detail", ...)`` with the
names of the URLs where it shows that someone who must not reach the data gets 404 (and
that nothing changes): staff of another community, the admin of another street, or, on
the residents' pages, a wrong, unknown or other community's token. While such a test
runs, conftest.py checks that it did ask for each URL it names and was answered 404.

Here the marks are read from the test files themselves (with ``ast``, so a run of this
file alone checks the whole suite) and set against the project's URL patterns, walked
through every include and namespace. A URL whose route takes any parameter counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.urls import URLResolver, get_resolver

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Url:
    name: str  # with its namespaces, "issues:detail"; empty when the pattern has none
    route: str
    takes_parameters: bool


def project_urls() -> list[Url]:
    def walk(patterns, namespace: str, route: str, parameters: bool) -> Iterator[Url]:
        for entry in patterns:
            here = route + str(entry.pattern)
            takes = parameters or entry.pattern.regex.groups > 0
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner, here, takes)
            else:
                yield Url(f"{namespace}{entry.name}" if entry.name else "", here, takes)

    return list(walk(get_resolver().url_patterns, "", "", False))


@dataclass(frozen=True)
class Mark:
    where: str
    names: tuple[str, ...]
    written_out: bool  # every argument a string literal


def is_outsider_mark(node: ast.AST) -> bool:
    """``<anything>.mark.outsider``, as in ``pytest.mark.outsider``."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "outsider"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    )


def outsider_marks(source: str, where: str) -> list[Mark]:
    tree = ast.parse(source)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    marks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and is_outsider_mark(node.func):
            literal = [a.value for a in node.args if isinstance(a, ast.Constant)]
            written_out = (
                bool(node.args)
                and not node.keywords
                and len(literal) == len(node.args)
                and all(isinstance(value, str) for value in literal)
            )
            names = tuple(value for value in literal if isinstance(value, str))
            marks.append(Mark(f"{where}:{node.lineno}", names, written_out))
        elif is_outsider_mark(node) and id(node) not in called:
            marks.append(Mark(f"{where}:{node.lineno}", (), False))  # a mark naming nothing
    return marks


def suite_marks() -> list[Mark]:
    return [
        mark
        for path in sorted(TESTS.rglob("*.py"))
        for mark in outsider_marks(path.read_text(), str(path.relative_to(TESTS.parent)))
    ]


def test_the_walk_reaches_into_every_namespace_and_sees_every_kind_of_parameter():
    urls = project_urls()
    with_parameters = [url for url in urls if url.takes_parameters]
    walked = {url.name.partition(":")[0] for url in urls if ":" in url.name}
    assert walked == set(get_resolver().namespace_dict)
    for converter in ("<int:", "<str:", "<slug:"):
        assert any(converter in url.route for url in with_parameters), converter
    assert all("<" in url.route for url in with_parameters)
    assert not any("<" in url.route for url in urls if not url.takes_parameters)


def test_the_marks_are_read_however_they_are_placed():
    source = """
@pytest.mark.outsider("issues:detail", "issues:edit")
def test_a(): ...

pytestmark = [pytest.mark.outsider("public:rate")]

@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.outsider("minutes:pdf"))])
def test_b(x): ...

@pytest.mark.outsider(*NAMES)
def test_c(): ...

@pytest.mark.outsider
def test_d(): ...
"""
    marks = outsider_marks(source, "example.py")
    assert [(m.names, m.written_out) for m in marks if m.written_out] == [
        (("issues:detail", "issues:edit"), True),
        (("public:rate",), True),
        (("minutes:pdf",), True),
    ]
    assert sorted(m.where for m in marks if not m.written_out) == ["example.py:10", "example.py:13"]


def test_every_url_that_takes_an_id_or_a_token_has_an_outsider_test():
    marked = {name for mark in suite_marks() for name in mark.names}
    missing = [
        url.name or f"(a pattern without a name) {url.route}"
        for url in project_urls()
        if url.takes_parameters and url.name not in marked
    ]
    assert missing == []


def test_outsider_marks_name_urls_of_the_project_in_string_literals():
    names = {url.name for url in project_urls()}
    marks = suite_marks()
    assert [mark.where for mark in marks if not mark.written_out] == []
    assert [(mark.where, name) for mark in marks for name in mark.names if name not in names] == []
