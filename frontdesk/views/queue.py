"""The day's queue per session and room, as admin pages.

GET needs `frontdesk.view_queueticket`; every button is a POST that needs
`frontdesk.run_queue` and calls one service. A doctor's account without it sees its
own sessions only, read only.
"""

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Room, Session
from core.errors import YuyueError
from frontdesk import services
from frontdesk.models import QueueTicket
from frontdesk.selectors import queue_for_session, queue_sessions_today, queue_sessions_visible
from frontdesk.views.pages import admin_context, require_any

VIEW_PERMISSION = "frontdesk.view_queueticket"
RUN_PERMISSION = "frontdesk.run_queue"
ACTIONS = ("call_next", "recall", "skip", "done")


def queue_index(request: HttpRequest, *, model_admin) -> HttpResponse:
    """Today's sessions per room, with their queue's counts and the room's public board."""
    require_any(request, VIEW_PERMISSION)
    sessions = queue_sessions_today(user=request.user, now=timezone.now())
    rooms: dict[int, dict] = {}
    for session in sessions:
        room = rooms.setdefault(
            session.room_id,
            {"room": session.room, "board_url": board_url(session.room), "sessions": []},
        )
        room["sessions"].append(session)
    context = admin_context(
        request,
        model_admin,
        title=_("Today's queue"),
        rooms=list(rooms.values()),
        today=timezone.localdate(),
    )
    return TemplateResponse(request, "frontdesk/queue_index.html", context)


def queue_session(request: HttpRequest, session_id: int, *, model_admin) -> HttpResponse:
    """One session's queue: waiting in order, the called patient, the seen; the buttons."""
    require_any(request, VIEW_PERMISSION)
    session = get_object_or_404(
        queue_sessions_visible(user=request.user).select_related("doctor", "room", "department"),
        pk=session_id,
    )
    if request.method == "POST":
        require_any(request, RUN_PERMISSION)
        _act(request, session)
        return HttpResponseRedirect(reverse("admin:frontdesk_queue_session", args=[session.pk]))
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    context = admin_context(
        request,
        model_admin,
        title=_("Queue: %(session)s, room %(room)s")
        % {"session": session, "room": session.room.code},
        session=session,
        queue=queue_for_session(session=session),
        can_run=request.user.has_perm(RUN_PERMISSION),
        board_url=board_url(session.room),
    )
    return TemplateResponse(request, "frontdesk/queue_session.html", context)


def board_url(room: Room) -> str | None:
    """The room's public board, or None when its code cannot be a URL slug."""
    try:
        return reverse("queue-board", args=[room.code])
    except NoReverseMatch:
        return None


def _act(request: HttpRequest, session: Session) -> None:
    action = request.POST.get("action")
    if action not in ACTIONS:
        messages.error(request, _("Unknown action."))
        return
    user = request.user
    try:
        if action == "call_next":
            ticket = services.queue_call_next(session=session, called_by=user)
            if ticket is None:
                messages.info(request, _("No one is waiting."))
            else:
                messages.success(
                    request, _("Calling number %(number)s.") % {"number": ticket.number}
                )
            return
        ticket = _ticket(request, session)
        if action == "recall":
            services.queue_recall(ticket=ticket, called_by=user)
            text = _("Calling number %(number)s again.")
        elif action == "skip":
            services.queue_skip(ticket=ticket, skipped_by=user)
            text = _("Number %(number)s waits again, after the next three patients.")
        else:
            services.queue_done(ticket=ticket, done_by=user)
            text = _("Number %(number)s has been seen.")
        messages.success(request, text % {"number": ticket.number})
    except YuyueError as error:
        messages.error(request, error.detail)


def _ticket(request: HttpRequest, session: Session) -> QueueTicket:
    try:
        ticket_id = int(request.POST.get("ticket", ""))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(QueueTicket, pk=ticket_id, session=session)
