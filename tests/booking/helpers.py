"""Assertions about the books, shared by the booking tests."""

from django.db.models import Count, F, Q, Sum

from booking.models import Booking
from clinics.models import Quota
from notifications.models import OutboxMessage


def snapshot() -> dict:
    """What a refusal must leave exactly as it was."""
    return {
        "bookings": list(Booking.objects.order_by("pk").values_list("pk", "status")),
        "outbox": OutboxMessage.objects.count(),
        "quotas": list(Quota.objects.order_by("pk").values_list("pk", "capacity", "booked")),
    }


def assert_books_balance() -> None:
    """Invariant 1: every quota's `booked` equals its place-holding bookings."""
    quotas = Quota.objects.annotate(
        holding=Count(
            "slot__bookings",
            filter=Q(
                slot__bookings__channel=F("channel"),
                slot__bookings__status__in=Booking.HOLDING,
            ),
        )
    )
    for q in quotas:
        where = f"quota {q.pk} ({q.channel}): booked {q.booked}/{q.capacity}, holding {q.holding}"
        assert 0 <= q.booked <= q.capacity, where
        assert q.booked == q.holding, where


def total_capacity() -> int:
    return Quota.objects.aggregate(total=Sum("capacity"))["total"] or 0
