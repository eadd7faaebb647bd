"""Celery tasks looked up by their registered name.

A service module enqueues a task of its own app, and that app's ``tasks`` module imports
the service to run it: naming the task, instead of importing it, keeps the two modules from
importing each other. The row the task works on stays the record of the work.

Beat's periodic tasks (the sweepers) go to a queue of their own beside the default one
(``route_sweepers``), so a backlog of deliveries cannot hold a sweeper back; every worker
consumes both (``worker_queues``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from celery import Task, current_app

SWEEP_SUFFIX = ".sweep"


def task_named(name: str) -> Task:
    """The registered task ``name`` (``"<app>.tasks.<function>"``).

    A web process never runs Celery's autodiscovery, so the task's module is imported
    here, which registers it; a worker has it already.
    """
    import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def sweep_queue(default_queue: str) -> str:
    """The queue of beat's periodic tasks beside ``default_queue``."""
    return f"{default_queue}{SWEEP_SUFFIX}"


def worker_queues(default_queue: str) -> str:
    """What a worker's ``-Q`` names: the default queue and its sweep queue."""
    return f"{default_queue},{sweep_queue(default_queue)}"


def route_sweepers(
    name: str, args: Any, kwargs: Any, options: Any, task: Task | None = None, **_: Any
) -> dict[str, str] | None:
    """A router (``CELERY_TASK_ROUTES``): each task beat schedules goes to the sweep queue of
    the app's default queue as it is when the task is sent; every other task, nowhere special.
    """
    app = task.app if task is not None else current_app
    sweepers = {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}
    if name not in sweepers:
        return None
    return {"queue": sweep_queue(app.conf.task_default_queue)}
