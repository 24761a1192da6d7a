"""What the FHIR API and the SMART Scheduling Links feed publish: reads only.

A slot is published from its ONLINE quota, as a patient finds it on the site: free when
the session's online channel is open (`booking.selectors.availability`: not stopped,
not paused by a closure, released, places left) and the slot has an online place left;
busy otherwise. Slots that have started are not published. The window is the patients'
(`session_list_for_patients`: today up to each department's booking window, and the
day that opens next).
"""

import datetime
from dataclasses import dataclass

from booking.selectors.availability import State, session_list_for_patients
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Doctor, Quota, Session, Slot

# The comparisons a FHIR date search may ask (`start=ge2026-11-24`).
START_LOOKUPS = {"eq": "exact", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}


@dataclass(frozen=True)
class PublishedSlot:
    """One slot as published: `slot.session` (with doctor, department, room) loaded."""

    slot: Slot
    free: bool
    places: int  # online places that can be taken now; 0 when busy


def slot_list_published(
    *,
    now: datetime.datetime,
    doctor_id: int | None = None,
    department_id: int | None = None,
    start: list[tuple[str, datetime.datetime]] | tuple = (),
) -> list[PublishedSlot]:
    """The window's slots not started at `now`, with an online quota, in time order;
    only `doctor_id`'s or `department_id`'s sessions when given (a department's own
    sessions, not its sub-clinics'); `start` is a list of (prefix, moment) from
    START_LOOKUPS that every slot's start must meet. Five queries whatever the number of
    slots (four when no session is in the window).
    """
    sessions = session_list_for_patients(now=now)
    if doctor_id is not None:
        sessions = [s for s in sessions if s.doctor_id == doctor_id]
    if department_id is not None:
        sessions = [s for s in sessions if s.department_id == department_id]
    if not sessions:
        return []
    by_id: dict[int, Session] = {s.pk: s for s in sessions}
    quotas = Quota.objects.filter(
        channel=Channel.ONLINE, slot__session_id__in=list(by_id), slot__starts_at__gt=now
    )
    for prefix, moment in start:
        quotas = quotas.filter(**{f"slot__starts_at__{START_LOOKUPS[prefix]}": moment})
    published = []
    for quota in quotas.select_related("slot").order_by("slot__starts_at", "slot_id"):
        slot = quota.slot
        session = by_id[slot.session_id]
        slot.session = session
        open_ = session.availability[Channel.ONLINE].state == State.OPEN
        places = max(quota.available, 0) if open_ else 0
        published.append(PublishedSlot(slot=slot, free=places > 0, places=places))
    return published


def schedule_doctor_list() -> list[Doctor]:
    """Every active doctor of an active department: one Schedule each. One query."""
    return list(clinic_selectors.doctor_list())


def schedule_department_list() -> list[Department]:
    """Every active department (sub-clinics too): one Schedule and one Location each.
    One query."""
    return list(
        Department.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    )


def schedule_doctor_get(*, doctor_id: int) -> Doctor | None:
    return next((d for d in clinic_selectors.doctor_list().filter(pk=doctor_id)), None)


def schedule_department_get(*, department_id: int) -> Department | None:
    return (
        Department.objects.filter(is_active=True, pk=department_id).select_related("parent").first()
    )
