"""SMART Scheduling Links bulk publication: the `$bulk-publish` manifest and its NDJSON
files (https://github.com/smart-on-fhir/smart-scheduling-links, specification.md).

A regional platform reads the manifest every few minutes, then the Location, Schedule
and Slot files it links to: one minified FHIR resource per line (interop.fhir maps the
rows). Pure functions: the views pass the rows and the absolute URLs.
"""

import datetime
import json
from collections.abc import Iterable

from interop.fhir import instant

# The files, in the order the manifest lists them: (FHIR type, file name).
BULK_FILES = (
    ("Location", "Location.ndjson"),
    ("Schedule", "Schedule.ndjson"),
    ("Slot", "Slot.ndjson"),
)
BULK_TYPES = tuple(kind for kind, _name in BULK_FILES)

# How long a reader may keep each document (Cache-Control max-age, seconds): slots
# change with every booking; places and calendars rarely.
MANIFEST_MAX_AGE = 60
SLOT_MAX_AGE = 60
CATALOGUE_MAX_AGE = 300


def manifest(
    *, transaction_time: datetime.datetime, request_url: str, file_urls: dict[str, str]
) -> dict:
    """The manifest: when it was made, its own URL, one output per file, no error."""
    return {
        "transactionTime": instant(transaction_time),
        "request": request_url,
        "output": [{"type": kind, "url": file_urls[kind]} for kind in BULK_TYPES],
        "error": [],
    }


def ndjson(resources: Iterable[dict]) -> str:
    """One minified JSON object per line, each line ending with a newline."""
    return "".join(
        json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"
        for resource in resources
    )
