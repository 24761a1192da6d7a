"""The optional error tracker: Sentry, when SENTRY_DSN is set (config/settings.py).

sentry-sdk is not a requirement: `pip install sentry-sdk` where it is wanted. Without it
the site starts as before (a warning on stderr), never fails for a missing tracker.
Nothing that identifies a patient leaves the hospital: send_default_pii is off (no
user, address, cookies or bodies), and before_send masks phones and resident IDs in the
message, the exception values, the log entry and the breadcrumbs, as the logs are.
"""

import sys
from typing import Any

from patients.identity import mask_personal_data_in


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_data_in(value)
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(item) for item in value]
    return value


def before_send(event: dict, hint: dict | None = None) -> dict:
    """Mask what an event carries as text; local variables are not sent at all."""
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra", "request"):
        if key in event:
            event[key] = _mask(event[key])
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    return event


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> bool:
    try:
        import sentry_sdk
    except ImportError:
        print(
            "SENTRY_DSN is set but sentry-sdk is not installed: no error tracker.", file=sys.stderr
        )
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: _mask(crumb),
    )
    return True
