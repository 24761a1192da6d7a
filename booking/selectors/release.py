"""Reads of the release engine, for ops."""

from django.utils.translation import ngettext

from booking.models import ReleaseRun


def release_run_summary(run: ReleaseRun) -> str:
    """The sentence ops read: "released 412 places across 38 sessions"."""
    places = ngettext("released %(count)d place", "released %(count)d places", run.places_moved) % {
        "count": run.places_moved
    }
    sessions = ngettext(
        "across %(count)d session", "across %(count)d sessions", run.sessions_touched
    ) % {"count": run.sessions_touched}
    return f"{places} {sessions}"
