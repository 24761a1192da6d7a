"""Bench-only settings: production's (config.settings) plus the naive booking URL.

Only the benchmark's gunicorn runs with this module; production never routes
`/bench/naive-book`.

Importing config.settings imports the `config` package, whose Celery app reads the
settings while they load. That nested read is pointed at config.settings itself (the
same values), then the variable is put back: Django then installs this module.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
try:
    from config.settings import *  # noqa: F403
finally:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

ROOT_URLCONF = "bench.urls"
