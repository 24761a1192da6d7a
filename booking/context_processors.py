"""Template context for every page: the public notices banner.

Lazy: the queries run only when a template shows the banner (the admin's pages never
do), and a failing read leaves the banner empty rather than breaking the page.
"""

import logging

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject

from booking.selectors import closures as selectors

logger = logging.getLogger(__name__)

# The banner announces closures that start within this many days, as well as current ones.
BANNER_DAYS_AHEAD = 2


def _banner() -> dict:
    language = translation.get_language() or "zh-hans"
    now = timezone.now()
    try:
        notices = [
            selectors.notice_for_display(n, language=language)
            for n in selectors.notice_list_active(now=now)
        ]
        closures = [
            selectors.closure_for_display(c, language=language)
            for c in selectors.closure_list_current_and_planned(
                now=now, days_ahead=BANNER_DAYS_AHEAD
            )
        ]
    except DatabaseError:
        logger.exception("public notices banner could not be read")
        return {"notices": [], "closures": []}
    return {"notices": notices, "closures": closures}


def public_notices(request: HttpRequest) -> dict:
    banner = SimpleLazyObject(_banner)
    return {
        "public_banner": banner,
        "public_notices": SimpleLazyObject(lambda: banner["notices"]),
        "public_closures": SimpleLazyObject(lambda: banner["closures"]),
    }
