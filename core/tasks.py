"""The seam through which services publish Celery tasks, by name.

A service must not import its app's `tasks` module (tasks import services: a circle).
It publishes by the task's registered name instead; Celery's app imports the tasks
modules when it is first used (autodiscovery), and `CELERY_TASK_ALWAYS_EAGER` still
runs the task in-process.
"""

from celery import current_app


def task_publish(name: str, *args: object) -> None:
    """Send task `name` with `args`. Call it from `transaction.on_commit(..., robust=True)`
    so a broker outage never undoes or fails the write that asked for the task."""
    current_app.tasks[name].delay(*args)
