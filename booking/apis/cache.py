"""Server-side cache of the API reads everyone reloads at the 07:00 release: the rendered
JSON body of sessions, slots, departments, doctors and the status document.

Key: the host, path and normalised query string, the caller class when it changes the
body (public vs verified staff, who see more channels), the language, and the current
minute in Asia/Shanghai — release times and slot starts are minute-grained, so a cached
answer never crosses a minute. The entry stores the availability generation
(clinics.cache) it was computed at; a hit is one cache round trip (`get_many` of the
generation and the entry) and runs no selector, serializer or query.

Coalescing: an entry computed less than `COALESCE_SECONDS` (1 s) ago is served even if the
generation has moved since. At the release minute bookings move the generation every few
milliseconds; without this every request would recompute. So a list may show a place
that went less than a second ago — never the reverse harm, since a booking is always
judged on the database. Within one process a key is recomputed at most once a second:
while one thread recomputes a stale entry, the others serve the stale one.

TTL 60 s (clinics.cache.CACHED_TTL): with Redis down the generation cannot move, so entries must
expire soon on their own. A cache error never fails a read: the body is computed from
the database.
"""

import hashlib
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone, translation

from clinics.cache import generation_cached

KEY_PREFIX = "yuyue:api:"


def enabled() -> bool:
    """Off with `YUYUE_API_RESPONSE_CACHE = False` (the tests that measure the uncached path)."""
    return getattr(settings, "YUYUE_API_RESPONSE_CACHE", True)


def response_key(request, *, caller: str = "", by_language: bool = True) -> str:
    """The entry's key for this request (see the module docstring). `by_language`
    false: the body is the same in every language (the status document has both)."""
    query = urlencode(sorted((k, v) for k, values in request.GET.lists() for v in values))
    minute = timezone.localtime().strftime("%Y%m%d%H%M")
    language = (translation.get_language() or settings.LANGUAGE_CODE) if by_language else ""
    raw = "\n".join((request.get_host(), request.path, query, caller, language, minute))
    return KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()[:40]


def cached_body(key: str, build: Callable[[], bytes]) -> bytes:
    """The body cached under `key`, or `build()` (which may raise: nothing is cached);
    `clinics.cache.generation_cached` decides freshness (generation, coalescing second)."""
    if not enabled():
        return build()
    return generation_cached(key, build)
