"""The Celery app. Settings come from Django's (CELERY_* names)."""

import logging
import os

from celery import Celery, signals
from celery.schedules import crontab
from django.conf import settings

from core.logformat import JsonFormatter
from core.request_id import RequestIdFilter, reset_request_id, set_request_id
from patients.logging import MaskIdentityFilter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


app = Celery("yuyue")

_MASK = MaskIdentityFilter()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def mask_worker_logs(logger: logging.Logger, **kwargs) -> None:
    """Celery replaces the root logger's handlers (Django's LOGGING, with its masking
    filter) with its own in workers and beat: put the filter on those too, so a task's
    log line, its traceback or a logged result never shows a full phone or ID number.
    On the handlers, not the logger: records propagated from child loggers skip a
    logger's filters but not its handlers'."""
    for handler in logger.handlers:
        if _MASK not in handler.filters:
            handler.addFilter(_MASK)


# A task's log lines carry its task id as request_id (core/request_id.py), and the
# worker's lines are JSON like the web's when YUYUE_LOG_FORMAT=json.
_REQUEST_ID = RequestIdFilter()
_TASK_TOKENS: dict[str, object] = {}


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def request_id_on_worker_logs(logger: logging.Logger, **kwargs) -> None:
    for handler in logger.handlers:
        if _REQUEST_ID not in handler.filters:
            handler.addFilter(_REQUEST_ID)
        if getattr(settings, "YUYUE_LOG_FORMAT", "text") == "json":
            handler.setFormatter(JsonFormatter())


@signals.task_prerun.connect
def task_request_id(task_id: str | None = None, task=None, **kwargs) -> None:
    """An eager task (run inside a web request) keeps the request's id."""
    if task_id and not getattr(getattr(task, "request", None), "is_eager", False):
        _TASK_TOKENS[task_id] = set_request_id(task_id)


@signals.task_postrun.connect
def task_request_id_done(task_id: str | None = None, **kwargs) -> None:
    token = _TASK_TOKENS.pop(task_id, None) if task_id else None
    if token is not None:
        reset_request_id(token)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# config is not an app: name its task module so workers register the heartbeat.
app.autodiscover_tasks(["config"], related_name="heartbeat")

# Periodic work. Beat uses django-celery-beat's database scheduler, which also
# reads this static schedule; ops can add or pause entries in the admin.
app.conf.beat_schedule = {
    # Each department's booking window of sessions (its policy), so booking's task.
    "generate-sessions-daily": {
        "task": "booking.tasks.sessions_generate_task",
        "schedule": crontab(hour=1, minute=0),
    },
    "worker-heartbeat": {
        "task": "config.heartbeat.worker_heartbeat_task",
        "schedule": 30.0,
    },
    "outbox-sweep": {
        "task": "notifications.tasks.outbox_sweep_task",
        "schedule": settings.YUYUE_OUTBOX_SWEEP_INTERVAL_SECONDS,
    },
    # Reminders are rows with a due time; this releases the due ones into the outbox.
    "reminders-release": {
        "task": "notifications.tasks.reminders_release_task",
        "schedule": 60.0,
    },
    "release-closures-pending": {
        "task": "booking.tasks.release_closures_pending_task",
        "schedule": 300.0,
    },
    "release-due-sessions": {
        "task": "booking.tasks.release_due_sessions_task",
        "schedule": 300.0,
    },
    "release-held-places": {
        "task": "booking.tasks.release_held_places_task",
        "schedule": 60.0,
    },
    "sign-in-codes-purge": {
        "task": "patients.tasks.sign_in_codes_purge_task",
        "schedule": crontab(hour=3, minute=30),
    },
    "no-shows-mark": {
        "task": "frontdesk.tasks.no_shows_mark_task",
        "schedule": 600.0,
    },
    "waitlist-close-due": {
        "task": "booking.tasks.waitlist_close_due_task",
        "schedule": crontab(hour=20, minute=0),
    },
}
