"""Yuyue's rows as FHIR R4 resources (plain dicts): the one place of the mapping.

Pure functions: model rows in, JSON-ready dicts out; no query, no request. Callers pass
what a row does not know (absolute links, the hospital's phone and address).

Ids (FHIR ids: letters, digits, "-" and "."):
- `Location/department-<pk>`: a department's place in the hospital;
- `Schedule/doctor-<pk>`: a doctor's calendar; every Slot belongs to one;
- `Schedule/department-<pk>`: a department's calendar, gathering its doctors';
  `Slot?schedule=department-<pk>` lists the slots of its doctors' sessions there;
- `Slot/slot-<pk>`, `Appointment/booking-<pk>`, `Practitioner/doctor-<pk>`,
  `Patient/patient-<pk>` (referenced, with a display text).

Slot status comes from the ONLINE quota only (interop.selectors): "free" or "busy".
"""

import datetime
import re

from django.utils import timezone

from booking.models import Booking
from clinics.models import Department, Doctor, Slot

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"

# SMART Scheduling Links extensions of Slot.
BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BOOKING_PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
SLOT_CAPACITY = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"

SNOMED = "http://snomed.info/sct"
OPHTHALMOLOGY = {"system": SNOMED, "code": "394594003", "display": "Ophthalmology"}
CLINIC_LEVEL_SYSTEM = "urn:yuyue:clinic-level"
BOOKING_CODE_SYSTEM = "urn:yuyue:booking-code"
CANCELLATION_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"

APPOINTMENT_STATUS = {
    Booking.Status.CONFIRMED: "booked",
    Booking.Status.CHECKED_IN: "checked-in",
    Booking.Status.COMPLETED: "fulfilled",
    Booking.Status.CANCELLED_BY_PATIENT: "cancelled",
    Booking.Status.CANCELLED_BY_HOSPITAL: "cancelled",
    Booking.Status.NO_SHOW: "noshow",
}
# Who cancelled: the patient ("pat") or the hospital ("prov"), HL7's codes.
CANCELLATION_REASON = {
    Booking.Status.CANCELLED_BY_PATIENT: ("pat", "Patient"),
    Booking.Status.CANCELLED_BY_HOSPITAL: ("prov", "Provider"),
}

_SCHEDULE_ID = re.compile(r"^(?:Schedule/)?(doctor|department)-([1-9][0-9]{0,17})$")


def instant(moment: datetime.datetime) -> str:
    """A FHIR instant in Beijing time, to the second: 2026-11-24T08:00:00+08:00."""
    return timezone.localtime(moment).isoformat(timespec="seconds")


def location_id(department_id: int) -> str:
    return f"department-{department_id}"


def doctor_schedule_id(doctor_id: int) -> str:
    return f"doctor-{doctor_id}"


def department_schedule_id(department_id: int) -> str:
    return f"department-{department_id}"


def parse_schedule_id(value: str) -> tuple[str, int] | None:
    """("doctor", 5) for "doctor-5" or "Schedule/doctor-5"; None for anything else."""
    match = _SCHEDULE_ID.match((value or "").strip())
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def department_phone(department: Department, *, hospital_phone: str) -> str:
    """Where a caller books by phone: the clinic's, its parent's, or the hospital's."""
    parent = department.parent
    return department.phone or (parent.phone if parent else "") or hospital_phone


def _location_reference(department: Department) -> dict:
    return {"reference": f"Location/{location_id(department.pk)}", "display": department.name}


def location(
    department: Department, *, hospital_name: str, hospital_address: str, phone: str
) -> dict:
    """A department as a FHIR Location (SMART's Location file line)."""
    resource = {
        "resourceType": "Location",
        "id": location_id(department.pk),
        "status": "active",
        "name": f"{hospital_name} {department.name}",
        "telecom": [{"system": "phone", "value": phone}],
        "address": {
            "text": " ".join(filter(None, [hospital_address, department.location])),
            "line": [line for line in (department.location, hospital_address) if line],
        },
    }
    if department.location:
        resource["description"] = department.location
    if department.parent_id:
        resource["partOf"] = {"reference": f"Location/{location_id(department.parent_id)}"}
    return resource


def _level_concept(level: str, label: str) -> dict:
    return {"coding": [{"system": CLINIC_LEVEL_SYSTEM, "code": level, "display": label}]}


def doctor_schedule(doctor: Doctor) -> dict:
    """A doctor's calendar: Location first (SMART's actor), then the Practitioner."""
    return {
        "resourceType": "Schedule",
        "id": doctor_schedule_id(doctor.pk),
        "active": doctor.is_active,
        "serviceType": [_level_concept(doctor.level, str(doctor.get_level_display()))],
        "specialty": [{"coding": [OPHTHALMOLOGY]}],
        "actor": [
            _location_reference(doctor.department),
            {"reference": f"Practitioner/doctor-{doctor.pk}", "display": doctor.name},
        ],
        "comment": f"{doctor.name} ({doctor.get_title_display()})",
    }


def department_schedule(department: Department) -> dict:
    """A department's calendar: its doctors' slots, found by `Slot?schedule=`."""
    return {
        "resourceType": "Schedule",
        "id": department_schedule_id(department.pk),
        "active": department.is_active,
        "specialty": [{"coding": [OPHTHALMOLOGY]}],
        "actor": [_location_reference(department)],
        "comment": department.name,
    }


def slot(slot: Slot, *, free: bool, places: int, booking_url: str, phone: str) -> dict:
    """A slot as a FHIR Slot: free or busy from its online quota; `booking_url` is the
    patient site's page to book it (SMART's booking-deep-link), also in `comment`.
    `slot.session` (with its doctor) must be loaded."""
    extension = [
        {"url": BOOKING_DEEP_LINK, "valueUrl": booking_url},
        {"url": BOOKING_PHONE, "valueString": phone},
    ]
    if free:
        extension.append({"url": SLOT_CAPACITY, "valueInteger": places})
    session = slot.session
    return {
        "resourceType": "Slot",
        "id": f"slot-{slot.pk}",
        "schedule": {"reference": f"Schedule/{doctor_schedule_id(session.doctor_id)}"},
        "status": "free" if free else "busy",
        "start": instant(slot.starts_at),
        "end": instant(slot.ends_at),
        "serviceType": [_level_concept(session.level, str(session.get_level_display()))],
        "specialty": [{"coding": [OPHTHALMOLOGY]}],
        "comment": booking_url,
        "extension": extension,
    }


def appointment(booking: Booking) -> dict:
    """A patient's booking as a FHIR Appointment. `booking.patient`, `.slot`,
    `.session.doctor` and `.department` must be loaded."""
    session = booking.session
    resource = {
        "resourceType": "Appointment",
        "id": f"booking-{booking.pk}",
        "meta": {"lastUpdated": instant(booking.updated_at)},
        "identifier": [{"system": BOOKING_CODE_SYSTEM, "value": booking.code}],
        "status": APPOINTMENT_STATUS[booking.status],
        "serviceType": [_level_concept(session.level, str(session.get_level_display()))],
        "specialty": [{"coding": [OPHTHALMOLOGY]}],
        "description": f"{booking.department.name} {session.doctor.name} #{booking.queue_number}",
        "start": instant(booking.slot.starts_at),
        "end": instant(booking.slot.ends_at),
        "created": instant(booking.created_at),
        "slot": [{"reference": f"Slot/slot-{booking.slot_id}"}],
        "participant": [
            {
                "actor": {
                    "reference": f"Patient/patient-{booking.patient_id}",
                    "display": booking.patient.real_name,
                },
                "status": "accepted",
            },
            {
                "actor": {
                    "reference": f"Practitioner/doctor-{session.doctor_id}",
                    "display": session.doctor.name,
                },
                "status": "accepted",
            },
            {"actor": _location_reference(booking.department), "status": "accepted"},
        ],
    }
    reason = CANCELLATION_REASON.get(booking.status)
    if reason is not None:
        code, display = reason
        resource["cancelationReason"] = {
            "coding": [{"system": CANCELLATION_REASON_SYSTEM, "code": code, "display": display}],
            **({"text": booking.cancel_reason} if booking.cancel_reason else {}),
        }
    return resource


def searchset(resources: list[dict], *, base_url: str, self_url: str) -> dict:
    """A search's answer: a Bundle of type searchset, every resource a match."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
