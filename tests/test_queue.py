"""Tasks enqueued by name are found in a process that has imported no tasks module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# As a web process starts: Django set up, no worker, nothing has imported a tasks module.
SCRIPT = """
import sys
import django
django.setup()
apps = ("members", "issues", "deliberation", "public", "reports")
assert not [m for m in sys.modules if m.split(".")[0] in apps and m.endswith(".tasks")]
from common.queue import task_named
for name in sys.argv[1:]:
    print(task_named(name).name)
"""


@pytest.mark.parametrize(
    "name", ["members.tasks.deliver_notice", "reports.tasks.build_period_report"]
)
def test_a_task_is_found_by_name_in_a_fresh_web_process(name):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "deliberation.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [name]
