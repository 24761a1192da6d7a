"""Browsing the clinics: the departments, and one department's doctors, each with the
sessions of the booking window and, in short, when its next place is.

The states come from `availability.session_list_for_patients` (the booking rules); this
only groups them by doctor and picks the first session worth telling a patient about.
A fixed number of queries whatever the number of doctors and sessions.
"""

import datetime
from dataclasses import dataclass, field

from booking.selectors import availability
from booking.selectors.availability import Availability, State
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Doctor, Session


@dataclass
class DoctorCard:
    """One doctor on a department page.

    `next` says what the doctor card leads with, for the online channel:
    - "open": `session` is the first with places to take now (`availability.places`);
    - "not_released": none open now; `session` is the first whose day opens later
      (`rules.opens_at`);
    - "paused": online booking is paused for the doctor's next session (`session`);
    - "full": sessions exist, none has a place or opens later;
    - "none": no session in the booking window.
    """

    doctor: Doctor
    sessions: list[Session] = field(default_factory=list)
    next: str = "none"
    session: Session | None = None
    availability: Availability | None = None


def _lead(card: DoctorCard) -> None:
    first_of: dict[State, Session] = {}
    for session in card.sessions:
        first_of.setdefault(session.availability[Channel.ONLINE].state, session)
    for state, kind in (
        (State.OPEN, "open"),
        (State.NOT_RELEASED, "not_released"),
        (State.PAUSED, "paused"),
    ):
        if state in first_of:
            card.next, card.session = kind, first_of[state]
            card.availability = card.session.availability[Channel.ONLINE]
            return
    card.next = "full" if card.sessions else "none"


@dataclass
class DepartmentPage:
    department: Department
    doctors: list[DoctorCard]
    has_sessions: bool


def department_page(*, code: str, now: datetime.datetime) -> DepartmentPage | None:
    """An active department by its code (None when there is none), with its doctors and
    those of its sub-clinics, each with its sessions from today through the booking window.

    Seven queries: the department with its parent and its active sub-clinics (two), the
    doctors (one), the sessions' states (four, `session_list_for_patients`).
    """
    department = clinic_selectors.department_list().filter(code=code).first()
    if department is None:
        return None
    cards = {
        doctor.pk: DoctorCard(doctor=doctor)
        for doctor in clinic_selectors.doctor_list(department=department)
    }
    sessions = availability.session_list_for_patients(now=now, department=department)
    for session in sessions:
        # A session of a doctor no longer listed (made inactive) still shows its state.
        card = cards.setdefault(session.doctor_id, DoctorCard(doctor=session.doctor))
        card.sessions.append(session)
    for card in cards.values():
        _lead(card)
    return DepartmentPage(
        department=department, doctors=list(cards.values()), has_sessions=bool(sessions)
    )
