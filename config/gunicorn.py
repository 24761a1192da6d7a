"""gunicorn's settings for the web process: `gunicorn config.wsgi -c config/gunicorn.py`.

Every line gunicorn writes (the access log with each request's path and query string,
its error log) goes through the same masking as Django's loggers
(patients.logging.MaskIdentityFilter): an admin search `?q=13800138000` or a resident ID
in a path is logged as 138****8000 or **************002X.

Environment: YUYUE_BIND (default 0.0.0.0:8000), YUYUE_WEB_WORKERS (2), YUYUE_WEB_THREADS
(4), YUYUE_WEB_TIMEOUT (30 s), YUYUE_WEB_LOG_LEVEL (info), YUYUE_TRUSTED_PROXIES (whose
X-Forwarded-Proto gunicorn believes: the same list as Django's; empty, nobody's).
"""

import os
import pathlib

from gunicorn.glogging import Logger

from core.logformat import JsonFormatter
from core.request_id import RequestIdFilter
from patients.logging import MaskIdentityFilter

bind = os.environ.get("YUYUE_BIND") or "0.0.0.0:8000"
# On 2 cores, 2 workers of 4 threads gave the highest throughput (bench/).
workers = int(os.environ.get("YUYUE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("YUYUE_WEB_THREADS", "4"))
timeout = int(os.environ.get("YUYUE_WEB_TIMEOUT", "30"))
# gunicorn 27 opens a control socket under ~/.gunicorn by default; nothing here uses it.
control_socket_disable = True

# gunicorn sets wsgi.url_scheme from X-Forwarded-Proto for these addresses (its default is
# 127.0.0.1): only our proxies, as core.middleware.TrustedProxyMiddleware does for Django.
forwarded_allow_ips = os.environ.get("YUYUE_TRUSTED_PROXIES", "")

# Both logs on the container's output, one key=value line per request. request_id is the
# proxy's X-Request-ID ("-" without one); the query string is kept, masked.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("YUYUE_WEB_LOG_LEVEL", "info")
access_log_format = (
    'remote=%(h)s request_id=%({x-request-id}i)s method=%(m)s path="%(U)s" '
    'query="%(q)s" status=%(s)s bytes=%(B)s duration_ms=%(M)s user_agent="%(a)s"'
)


class MaskingLogger(Logger):
    """gunicorn's logger with the project's masking filter on both of its loggers, so
    no handler (stdout, a file, syslog) ever sees a full phone or ID number."""

    mask = MaskIdentityFilter()
    request_id = RequestIdFilter()

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(self.mask)
            # YUYUE_LOG_FORMAT=json (the default with DJANGO_DEBUG=false): the same JSON
            # lines as Django's (core/logformat.py); the access line is the `message`, and
            # request_id is the id Django gave the request (the proxy's, or its own).
            if _json_logs():
                log.addFilter(self.request_id)
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())


def _json_logs() -> bool:
    """Django's choice (config/settings.py), read from the process environment."""
    chosen = os.environ.get("YUYUE_LOG_FORMAT", "").strip().lower()
    if chosen:
        return chosen == "json"
    debug = os.environ.get("DJANGO_DEBUG", "true").strip().lower()
    return debug in ("false", "0", "no", "off", "")


# Metrics across workers (config/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, each worker
# writes its counters to files there and /metrics sums them. The directory starts empty
# at each start (old workers' counts would be summed forever), and a dead worker's live
# gauges are dropped.
def on_starting(server) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


logger_class = MaskingLogger
