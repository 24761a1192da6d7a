"""Reads of the release engine, for ops."""

from django.utils.translation import gettext, ngettext

from booking.models import ReleaseRun


def release_run_summary(run: ReleaseRun) -> str:
    """The sentence ops read: "released 412 places across 38 sessions; 3 places freed
    later also went to walk-in; 120 places moved back on reopening"."""
    places = ngettext("released %(count)d place", "released %(count)d places", run.places_moved) % {
        "count": run.places_moved
    }
    sessions = ngettext(
        "across %(count)d session", "across %(count)d sessions", run.sessions_touched
    ) % {"count": run.sessions_touched}
    parts = [f"{places} {sessions}"]
    if run.places_freed_moved:
        parts.append(
            ngettext(
                "%(count)d place freed later also went to walk-in",
                "%(count)d places freed later also went to walk-in",
                run.places_freed_moved,
            )
            % {"count": run.places_freed_moved}
        )
    if run.returned_at is not None or run.places_returned:
        parts.append(
            ngettext(
                "%(count)d place moved back on reopening",
                "%(count)d places moved back on reopening",
                run.places_returned,
            )
            % {"count": run.places_returned}
        )
    return gettext("; ").join(parts)
