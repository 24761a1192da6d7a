"""Assertions about the books, shared by the booking tests."""

from django.db.models import Count, F, Q, Sum

from booking.models import Booking, HeldPlace, WaitlistEntry
from clinics.models import Quota, Session
from notifications.models import OutboxMessage


def snapshot() -> dict:
    """What a refusal must leave exactly as it was."""
    return {
        "bookings": list(Booking.objects.order_by("pk").values_list("pk", "status")),
        "outbox": OutboxMessage.objects.count(),
        "quotas": list(
            Quota.objects.order_by("pk").values_list("pk", "capacity", "booked", "held")
        ),
        "held_places": list(HeldPlace.objects.order_by("pk").values_list("pk", "released_at")),
        "waitlist": list(WaitlistEntry.objects.order_by("pk").values_list("pk", "status")),
        "sessions": list(
            Session.objects.order_by("pk").values_list("pk", "status", "walkin_released_at")
        ),
    }


def assert_books_balance() -> None:
    """Invariant 1: every quota's `booked` equals its place-holding bookings, its `held`
    equals its held places not yet returned, and `booked + held <= capacity`."""
    quotas = Quota.objects.annotate(
        holding=Count(
            "slot__bookings",
            filter=Q(
                slot__bookings__channel=F("channel"),
                slot__bookings__status__in=Booking.HOLDING,
            ),
            distinct=True,
        ),
        holding_back=Count(
            "held_places", filter=Q(held_places__released_at__isnull=True), distinct=True
        ),
    )
    for q in quotas:
        where = (
            f"quota {q.pk} ({q.channel}): booked {q.booked} + held {q.held} / {q.capacity}, "
            f"holding bookings {q.holding}, held places {q.holding_back}"
        )
        assert q.booked >= 0 and q.held >= 0, where
        assert q.booked + q.held <= q.capacity, where
        assert q.booked == q.holding, where
        assert q.held == q.holding_back, where


def total_capacity() -> int:
    return Quota.objects.aggregate(total=Sum("capacity"))["total"] or 0


def capacity_per_slot() -> dict[int, int]:
    """Invariant 2: release moves capacity between a slot's quotas, never changes its sum."""
    return dict(
        Quota.objects.values("slot_id")
        .annotate(total=Sum("capacity"))
        .order_by("slot_id")
        .values_list("slot_id", "total")
    )
