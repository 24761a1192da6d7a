"""Reads of the visit day's queue: the desk's lists and the waiting-room board."""

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from clinics.models import Doctor, Room, Session
from clinics.translation import text_in
from frontdesk.models import QueueTicket
from patients.models import Account
from staff import roles

BOARD_NEXT = 5  # waiting numbers shown on the board


@dataclass
class SessionQueue:
    """A session's tickets: the one called, the waiting in queue order, the done (latest first)."""

    called: QueueTicket | None = None
    waiting: list[QueueTicket] = field(default_factory=list)
    done: list[QueueTicket] = field(default_factory=list)


def is_doctor_view_only(user: Account) -> bool:
    """The doctor role: an account in the doctor group or linked to a doctor, that cannot
    run the queue. It sees its own sessions only (none without a linked doctor), read
    only."""
    if user.has_perm("frontdesk.run_queue"):
        return False
    return _doctor_of(user) is not None or user.groups.filter(name=roles.DOCTOR).exists()


def _doctor_of(user: Account) -> Doctor | None:
    try:
        return user.doctor
    except ObjectDoesNotExist:  # not a doctor's account
        return None


def queue_sessions_visible(*, user: Account) -> QuerySet[Session]:
    """The sessions whose queue `user` may see: all of them, or a doctor's own."""
    sessions = Session.objects.all()
    if is_doctor_view_only(user):
        doctor = _doctor_of(user)
        sessions = sessions.filter(doctor=doctor) if doctor else sessions.none()
    return sessions


def queue_sessions_today(*, user: Account, now: datetime.datetime) -> list[Session]:
    """Today's sessions (Beijing date) visible to `user`, by room then start, each with
    `waiting`, `called` and `done` counts of its queue."""
    states = QueueTicket.State
    return list(
        queue_sessions_visible(user=user)
        .filter(date=timezone.localdate(now))
        .select_related("doctor", "room", "department")
        .annotate(
            waiting=Count("queue_tickets", filter=Q(queue_tickets__state=states.WAITING)),
            called=Count("queue_tickets", filter=Q(queue_tickets__state=states.CALLED)),
            done=Count("queue_tickets", filter=Q(queue_tickets__state=states.DONE)),
        )
        .order_by("room__code", "starts_at", "pk")
    )


def queue_for_session(*, session: Session) -> SessionQueue:
    """The session's tickets with their patients, sorted for the desk's page (one query)."""
    queue = SessionQueue()
    tickets = (
        QueueTicket.objects.filter(session=session)
        .select_related("booking__patient")
        .order_by("position", "number")
    )
    for ticket in tickets:
        if ticket.state == QueueTicket.State.CALLED:
            queue.called = ticket
        elif ticket.state == QueueTicket.State.WAITING:
            queue.waiting.append(ticket)
        else:
            queue.done.append(ticket)
    queue.done.sort(key=lambda t: (t.done_at or t.checked_in_at, t.pk), reverse=True)
    return queue


def board_for_room(*, room: Room, now: datetime.datetime) -> dict:
    """What the waiting-room board of `room` shows today: the called number and masked
    name, the next five waiting, the room's name. Nothing else about a patient.
    Two queries."""
    today = timezone.localdate(now)
    tickets = QueueTicket.objects.filter(room=room, session__date=today).select_related(
        "booking__patient"
    )
    called = tickets.filter(state=QueueTicket.State.CALLED).order_by("-called_at", "-pk").first()
    waiting = tickets.filter(state=QueueTicket.State.WAITING).order_by(
        "session__starts_at", "position", "number"
    )[:BOARD_NEXT]
    return {
        "room": {
            "code": room.code,
            "name": text_in(room, "name", "zh-hans"),
            "name_en": text_in(room, "name", "en"),
        },
        "current": _board_ticket(called) if called else None,
        "next": [_board_ticket(ticket) for ticket in waiting],
    }


def _board_ticket(ticket: QueueTicket) -> dict:
    return {"number": ticket.number, "name": mask_name(ticket.booking.patient.real_name)}


def mask_name(name: str) -> str:
    """A name as the board may show it: "张三明" -> "张*明", "张三" -> "张*",
    "John Smith" -> "J*** S****". Never the whole name."""
    name = " ".join(name.split())
    if not name:
        return ""
    if " " not in name and _is_cjk(name):
        if len(name) == 1:
            return "*"
        if len(name) == 2:
            return name[0] + "*"
        return name[0] + "*" * (len(name) - 2) + name[-1]
    words = name.split(" ")
    if len(words) == 1 and len(words[0]) == 1:
        return "*"
    return " ".join(word[0] + "*" * max(len(word) - 1, 1) for word in words)


def _is_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(char) in ("W", "F") for char in text)
