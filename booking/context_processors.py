"""Template context for every page: the public notices banner.

Lazy: the queries run only when a template shows the banner (the admin's pages never
do), and a failing read leaves the banner empty rather than breaking the page.

The banner is the same for every reader of a language: it is cached (two queries and a
large join's compilation were most of the start page's ~20-40 ms), keyed by language and
minute (closures start and end on the minute), invalidated by the availability
generation — closures and notices bump it — with the one-second coalescing of
`clinics.cache.generation_cached`.
"""

import logging

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject

from booking.selectors import closures as selectors
from clinics.cache import generation_cached

logger = logging.getLogger(__name__)

# The banner announces closures that start within this many days, as well as current ones.
BANNER_DAYS_AHEAD = 2


def _banner() -> dict:
    language = translation.get_language() or "zh-hans"
    minute = timezone.localtime().strftime("%Y%m%d%H%M")
    try:
        return generation_cached(
            f"yuyue:banner:{language}:{minute}", lambda: _banner_read(language)
        )
    except DatabaseError:
        # Not cached: the next page asks the database again.
        logger.exception("public notices banner could not be read")
        return {"notices": [], "closures": []}


def _banner_read(language: str) -> dict:
    now = timezone.now()
    notices = [
        selectors.notice_for_display(n, language=language)
        for n in selectors.notice_list_active(now=now)
    ]
    closures = [
        selectors.closure_for_display(c, language=language)
        for c in selectors.closure_list_current_and_planned(now=now, days_ahead=BANNER_DAYS_AHEAD)
    ]
    return {"notices": notices, "closures": closures}


def public_notices(request: HttpRequest) -> dict:
    banner = SimpleLazyObject(_banner)
    return {
        "public_banner": banner,
        "public_notices": SimpleLazyObject(lambda: banner["notices"]),
        "public_closures": SimpleLazyObject(lambda: banner["closures"]),
    }
