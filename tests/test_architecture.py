"""The layout's rules, checked with the suite: dependencies point one way, no module of an
app imports another in a cycle, and nobody reaches for another module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("common", "members", "issues", "deliberation", "visits", "volunteers", "public", "reports")


def test_the_layers_are_the_ones_the_architecture_note_draws():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["type"]: c for c in config["tool"]["importlinter"]["contracts"]}
    assert contracts["layers"]["layers"] == [
        "public | reports",
        "visits | volunteers",
        "deliberation",
        "issues",
        "members",
        "common",
    ]
    assert "ignore_imports" not in contracts["layers"]
    assert sorted(contracts["acyclic_siblings"]["ancestors"]) == sorted(APPS)


def test_imports_keep_the_contracts():
    """import-linter reads every import, those inside functions too."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def _project_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Django's documented model API, private only by its underscore.
PUBLIC_UNDERSCORED = {"_meta", "_default_manager", "_base_manager"}


def _private_uses(source: str, own: str) -> list[str]:
    """Private names of other project modules that the source of module ``own`` reaches."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> project module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in APPS:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and node.module != own:
                    found.append(f"from {node.module} import {alias.name}")
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in APPS:
                    modules[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr not in PUBLIC_UNDERSCORED
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and modules[node.value.id] != own
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in _project_sources()
        if (uses := _private_uses(path.read_text(encoding="utf-8"), _module_of(path)))
    }
    assert offenders == {}


def test_the_private_name_check_sees_both_ways_of_reaching_in():
    source = (
        "from issues import actions\n"
        "from issues.actions import _lock\n"
        "actions._record()\n"
        "actions.Issue._meta\n"
    )
    assert _private_uses(source, "issues.reviews") == [
        "from issues.actions import _lock",
        "actions._record",
    ]
    assert _private_uses(source.replace("_lock", "lock"), "issues.actions") == []
