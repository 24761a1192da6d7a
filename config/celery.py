"""The Celery app. Settings come from Django's (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("yuyue")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Beat uses django-celery-beat's database scheduler, which also
# reads this static schedule; ops can add or pause entries in the admin.
app.conf.beat_schedule = {
    "generate-sessions-daily": {
        "task": "clinics.tasks.sessions_generate_task",
        "schedule": crontab(hour=1, minute=0),
    },
    "outbox-sweep": {
        "task": "notifications.tasks.outbox_sweep_task",
        "schedule": 60.0,
    },
}
