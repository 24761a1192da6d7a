"""The waiting-room board [叫号屏]: public, read only, no sign-in.

It shows a room's called number and the next five, with masked names only. The page
polls its JSON every two seconds (static/js/board.js); without JavaScript it reloads
itself every ten. Both read through one selector: three queries a request.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinics.models import Room
from frontdesk.selectors import board_for_room

POLL_MILLISECONDS = 2000
NOSCRIPT_REFRESH_SECONDS = 10


@require_GET
@never_cache
def board_page(request: HttpRequest, room_code: str) -> HttpResponse:
    room = get_object_or_404(Room, code=room_code)
    board = board_for_room(room=room, now=timezone.now())
    # Rendered without the request: the site's context processors (notices, account)
    # are not the board's business and would cost queries every ten seconds.
    html = render_to_string(
        "frontdesk/board.html",
        {
            "board": board,
            "data_url": reverse("queue-board-data", args=[room.code]),
            "poll_ms": POLL_MILLISECONDS,
            "refresh_seconds": NOSCRIPT_REFRESH_SECONDS,
        },
    )
    return HttpResponse(html)


@require_GET
@never_cache
def board_data(request: HttpRequest, room_code: str) -> JsonResponse:
    room = get_object_or_404(Room, code=room_code)
    return JsonResponse(board_for_room(room=room, now=timezone.now()))
