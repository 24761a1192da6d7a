"""The visit day: who is waiting for which room, in what order."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from booking.models import Booking
from clinics.models import Room, Session


class QueueTicket(models.Model):
    """A checked-in booking's place in its session's queue.

    `number` is the booking's queue number [序号], shown on the ticket and the board;
    `position` orders the waiting (priority, lateness and skips move it), rewritten by
    the queue services under the session's queue lock.
    """

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called")
        DONE = "done", _("Seen")

    class Priority(models.TextChoices):
        NONE = "", _("None")
        AGE = "age", _("Aged 80 or over")
        DISABILITY = "disability", _("Disability")

    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, related_name="queue_ticket", verbose_name=_("booking")
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="queue_tickets", verbose_name=_("session")
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, related_name="queue_tickets", verbose_name=_("room")
    )
    number = models.PositiveIntegerField(_("queue number"))
    position = models.PositiveIntegerField(_("position"))
    priority = models.CharField(
        _("priority"), max_length=12, choices=Priority.choices, blank=True, default=""
    )
    late = models.BooleanField(_("arrived late"), default=False)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.WAITING
    )
    skips = models.PositiveSmallIntegerField(_("skips"), default=0)
    calls = models.PositiveSmallIntegerField(_("calls"), default=0)
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("checked in by"),
    )
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    done_at = models.DateTimeField(_("seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("queue ticket")
        verbose_name_plural = _("queue tickets")
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "number"], name="queueticket_one_number_per_session"
            ),
            # One patient at a time is called into a session's room.
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(state="called"),
                name="queueticket_one_called_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["session", "state", "position"]),
            models.Index(fields=["room", "state"]),
        ]
        permissions = [
            ("book_walkin", _("Can book walk-in patients at the desk")),
            ("book_phone", _("Can book for phone callers")),
            ("check_in", _("Can check patients in")),
            ("run_queue", _("Can call, skip and finish patients in the queue")),
            ("add_extra_place", _("Can add an extra place [加号] to a session")),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} #{self.number}"
