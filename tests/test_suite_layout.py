"""How the test suite itself is laid out.

Shared fixtures live in ``conftest.py`` and shared builders in helper modules
(``tests/factories.py``, ``tests/helpers/``). A test module importing another
one runs the other's autouse fixtures and ties the two together, so none does.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def is_test_module(dotted: str) -> bool:
    return any(part.startswith("test_") for part in dotted.split("."))


def imported_test_modules(source: str) -> set[str]:
    """The test modules a Python source imports, however it spells the import."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if is_test_module(alias.name)}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if is_test_module(module):
                found.add(module)
            else:
                prefix = module if module.endswith(".") else module + "."
                found |= {prefix + alias.name for alias in node.names if is_test_module(alias.name)}
    return found


def test_the_check_sees_every_spelling_of_such_an_import():
    source = """
import tests.test_rollup
from tests.test_issue_actions import jpeg
from tests import factories, test_minutes
from .test_public_intake import clear_cache
from . import test_calendars
from tests.browser.test_roles import staff_page

def later():
    from tests.test_meeting_worker import finished
"""
    assert imported_test_modules(source) == {
        "tests.test_rollup",
        "tests.test_issue_actions",
        "tests.test_minutes",
        ".test_public_intake",
        ".test_calendars",
        "tests.browser.test_roles",
        "tests.test_meeting_worker",
    }
    assert imported_test_modules("from tests import conftest, factories\n") == set()
    assert imported_test_modules("from tests.helpers.photos import jpeg\n") == set()


def test_no_module_of_the_suite_imports_a_test_module():
    offenders = {
        str(path.relative_to(TESTS.parent)): sorted(imported)
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := imported_test_modules(path.read_text()))
    }
    assert offenders == {}
