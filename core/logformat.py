"""One JSON object per log line, for the log collector (YUYUE_LOG_FORMAT=json).

Imports nothing from Django: gunicorn's config and Celery's logging use it too. The
masking filter (patients.logging.MaskIdentityFilter) runs on the handler before this
formats, so `message` and `exception` are already masked; `exception` is taken from the
record's exc_text, which that filter fills.
"""

import datetime
import json
import logging


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, message, request_id; exception and stack
    when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or "-",
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


# The plain format when YUYUE_LOG_FORMAT=text (development): the same fields, readable.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
