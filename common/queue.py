"""Celery tasks looked up by their registered name.

A service module enqueues a task of its own app, and that app's ``tasks`` module imports
the service to run it: naming the task, instead of importing it, keeps the two modules from
importing each other. The row the task works on stays the record of the work.
"""

from __future__ import annotations

from importlib import import_module

from celery import Task, current_app


def task_named(name: str) -> Task:
    """The registered task ``name`` (``"<app>.tasks.<function>"``).

    A web process never runs Celery's autodiscovery, so the task's module is imported
    here, which registers it; a worker has it already.
    """
    import_module(name.rpartition(".")[0])
    return current_app.tasks[name]
