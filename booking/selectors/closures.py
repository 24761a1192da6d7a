"""Reads of closures and notices: the banner, the status page and its JSON.

Every function runs a fixed number of queries whatever the number of rows.
"""

import datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from booking.channels import CLOSABLE
from booking.models import Closure, Notice
from clinics.models import Channel, Department
from clinics.translation import text_in, texts

OPEN = "open"
CLOSED = "closed"
# Some doctors or sessions of the department are closed, the rest still book.
PARTIAL = "partial"


def notice_list_active(*, now: datetime.datetime) -> QuerySet[Notice]:
    """Notices shown at `now`, the most severe first, then the newest. One query."""
    return (
        Notice.objects.filter(
            Q(starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        )
        .annotate(
            severity_rank=Case(
                When(severity=Notice.Severity.CRITICAL, then=Value(0)),
                When(severity=Notice.Severity.WARNING, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("severity_rank", "-starts_at", "-pk")
    )


def closure_effective_end(closure: Closure) -> datetime.datetime | None:
    """When the closure stops refusing bookings: its end, or when it was reopened."""
    ends = [t for t in (closure.ends_at, closure.reopened_at) if t is not None]
    return min(ends) if ends else None


def closure_is_active(closure: Closure, *, now: datetime.datetime) -> bool:
    end = closure_effective_end(closure)
    return closure.starts_at <= now and (end is None or now < end)


def closure_list_current_and_planned(
    *, now: datetime.datetime, days_ahead: int = 14
) -> list[Closure]:
    """Closures in force at `now`, and those starting within `days_ahead` days, by start.

    Each carries `is_current` (in force now) and `effective_end`. One query, with the
    targets (department, doctor, session and their departments) joined.
    """
    horizon = now + datetime.timedelta(days=days_ahead)
    closures = list(
        Closure.objects.filter(
            Q(starts_at__lt=horizon)
            & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
            & (Q(reopened_at__isnull=True) | Q(reopened_at__gt=now))
        )
        # A planned closure reopened before it starts never takes effect.
        .exclude(reopened_at__lte=F("starts_at"))
        .select_related(
            "department__parent",
            "doctor__department",
            "session__doctor",
            "session__department",
        )
        .order_by("starts_at", "pk")
    )
    for closure in closures:
        closure.is_current = closure_is_active(closure, now=now)
        closure.effective_end = closure_effective_end(closure)
    return closures


def channel_states(*, now: datetime.datetime) -> list[dict[str, Any]]:
    """Per active department, per closable channel: open, closed or partial, with the
    closures that decide it. Two queries (departments, closures in force).

    A hospital closure or one of the department (or of its parent department) closes
    the channel; a closure of one doctor or session of the department makes it partial.
    Returns `[{"department": Department, "channels": {"online": {"state": "closed",
    "closures": [Closure, ...]}, ...}}, ...]` in display order.
    """
    departments = list(
        Department.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    )
    active = list(
        Closure.objects.active_at(now)
        .select_related("doctor", "session")
        .order_by("starts_at", "pk")
    )
    states = []
    for department in departments:
        channels = {}
        for channel in CLOSABLE:
            closing = [c for c in active if getattr(c, channel) and c.covers_department(department)]
            partial = [
                c
                for c in active
                if getattr(c, channel)
                and (
                    (c.scope == Closure.Scope.DOCTOR and c.doctor.department_id == department.pk)
                    or (
                        c.scope == Closure.Scope.SESSION
                        and c.session.department_id == department.pk
                    )
                )
            ]
            if closing:
                channels[channel] = {"state": CLOSED, "closures": closing}
            elif partial:
                channels[channel] = {"state": PARTIAL, "closures": partial}
            else:
                channels[channel] = {"state": OPEN, "closures": []}
        states.append({"department": department, "channels": channels})
    return states


# --- presentation shared by the banner, the status page, its JSON and the signs ----


def _pick(chinese: bool, zh: str, en: str) -> str:
    return (zh if chinese else en) or zh or en


def closure_target_names(closure: Closure) -> dict[str, str]:
    """What the closure covers, in both languages: {"zh-hans": ..., "en": ...}."""
    if closure.scope == Closure.Scope.HOSPITAL:
        return {"zh-hans": "全院", "en": "Whole hospital"}
    if closure.scope == Closure.Scope.DEPARTMENT:
        return texts(closure.department, "name")
    if closure.scope == Closure.Scope.DOCTOR:
        return texts(closure.doctor, "name")
    session = closure.session
    when = timezone.localtime(session.starts_at).strftime("%Y-%m-%d %H:%M")
    return {language: f"{name} {when}" for language, name in texts(session.doctor, "name").items()}


def closure_for_display(closure: Closure, *, language: str) -> dict[str, Any]:
    """A closure as the banner and the status page show it, in `language`."""
    chinese = language.startswith("zh")
    names = closure_target_names(closure)
    return {
        "id": closure.pk,
        "scope": closure.scope,
        "target": names["zh-hans"] if chinese else names["en"],
        "channels": closure.channels(),
        "channel_labels": [Channel(value).label for value in closure.channels()],
        "reason": closure.reason,
        "reason_label": closure.get_reason_display(),
        "starts_at": closure.starts_at,
        "ends_at": closure_effective_end(closure),
        "is_current": getattr(closure, "is_current", None),
        "notice": _pick(chinese, closure.notice, closure.notice_en),
    }


def notice_for_display(notice: Notice, *, language: str) -> dict[str, Any]:
    chinese = language.startswith("zh")
    return {
        "id": notice.pk,
        "severity": notice.severity,
        "title": _pick(chinese, notice.title, notice.title_en),
        "body": _pick(chinese, notice.body, notice.body_en),
        "starts_at": notice.starts_at,
        "ends_at": notice.ends_at,
    }


def _iso(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def status_document(*, now: datetime.datetime) -> dict[str, Any]:
    """The status page as JSON: both languages, times in ISO 8601 (Asia/Shanghai).

    Four queries: departments, closures in force, current and planned closures, notices.
    """
    states = channel_states(now=now)
    closures = closure_list_current_and_planned(now=now)
    notices = list(notice_list_active(now=now))
    return {
        "generated_at": _iso(now),
        "status_page": reverse("status"),
        "departments": [
            {
                "code": row["department"].code,
                # The English name is the Chinese one while it is empty, as on the pages.
                "name": text_in(row["department"], "name", "zh-hans"),
                "name_en": text_in(row["department"], "name", "en"),
                "parent": row["department"].parent.code if row["department"].parent else None,
                "channels": {
                    channel: {
                        "state": state["state"],
                        "closures": [c.pk for c in state["closures"]],
                    }
                    for channel, state in row["channels"].items()
                },
            }
            for row in states
        ],
        "closures": [
            {
                "id": c.pk,
                "scope": c.scope,
                "target": closure_target_names(c) if c.scope != Closure.Scope.HOSPITAL else None,
                "department": _closure_department_code(c),
                "channels": c.channels(),
                "reason": c.reason,
                "starts_at": _iso(c.starts_at),
                "ends_at": _iso(c.effective_end),
                "current": c.is_current,
                "notice": {"zh-hans": c.notice, "en": c.notice_en},
            }
            for c in closures
        ],
        "notices": [
            {
                "id": n.pk,
                "severity": n.severity,
                "title": {"zh-hans": n.title, "en": n.title_en},
                "body": {"zh-hans": n.body, "en": n.body_en},
                "starts_at": _iso(n.starts_at),
                "ends_at": _iso(n.ends_at),
            }
            for n in notices
        ],
    }


def _closure_department_code(closure: Closure) -> str | None:
    if closure.scope == Closure.Scope.DEPARTMENT:
        return closure.department.code
    if closure.scope == Closure.Scope.DOCTOR:
        return closure.doctor.department.code
    if closure.scope == Closure.Scope.SESSION:
        return closure.session.department.code
    return None
