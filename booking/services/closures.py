"""Channel closures, maintenance windows and public notices.

A closure refuses new bookings through its channels for its scope and time range
(`booking.rules.check_channel_open`); it never touches what is already booked. Ops may
ask for the unbooked places of the affected sessions to be released to walk-in: the
release engine does that after the closure is committed
(`booking.tasks.release_closure_task`), and, when the closure is reopened with
`return_places`, moves the still unbooked ones back (`release_return_task`).
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from booking import exceptions as errors
from booking.channels import CLOSABLE
from booking.models import Closure, Notice
from clinics.models import Channel, Department, Doctor, Session
from core.tasks import task_publish
from patients.models import Account

logger = logging.getLogger(__name__)

# A notice, in either language, must fit on the one-page printed sign (signs/*.html,
# css/sign.css scale it down by length); the model's TextField has no limit of its own.
NOTICE_MAX_LENGTH = 300

_TARGET_TYPES: dict[str, type | None] = {
    Closure.Scope.HOSPITAL: None,
    Closure.Scope.DEPARTMENT: Department,
    Closure.Scope.DOCTOR: Doctor,
    Closure.Scope.SESSION: Session,
}


def closure_validate(
    *,
    scope: str,
    target: Department | Doctor | Session | None,
    channels: list[str],
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None,
    reason: str,
    notice: str,
    notice_en: str,
    now: datetime.datetime | None = None,
) -> None:
    """Refuse a closure that could not be made; write nothing.

    Refuses with: closure_no_channel, closure_unknown_channel, closure_target_mismatch,
    closure_ends_before_start, closure_already_over, closure_unknown_reason,
    closure_notice_missing, closure_notice_too_long. Forms call it to show the refusal
    next to the field.
    """
    now = now or timezone.now()
    if not channels:
        raise errors.ClosureNoChannel()
    if any(channel not in CLOSABLE for channel in channels):
        raise errors.ClosureUnknownChannel()
    if scope not in _TARGET_TYPES:
        raise errors.ClosureTargetMismatch(scope=scope)
    expected = _TARGET_TYPES[scope]
    if (expected is None and target is not None) or (
        expected is not None and not isinstance(target, expected)
    ):
        raise errors.ClosureTargetMismatch(scope=Closure.Scope(scope).label)
    if ends_at is not None and ends_at <= starts_at:
        raise errors.ClosureEndsBeforeStart()
    if ends_at is not None and ends_at <= now:
        raise errors.ClosureAlreadyOver()
    if reason not in Closure.Reason.values:
        raise errors.ClosureUnknownReason()
    if not (notice or "").strip() or not (notice_en or "").strip():
        raise errors.ClosureNoticeMissing()
    if max(len(notice.strip()), len(notice_en.strip())) > NOTICE_MAX_LENGTH:
        raise errors.ClosureNoticeTooLong(limit=NOTICE_MAX_LENGTH)


def closure_create(
    *,
    scope: str,
    target: Department | Doctor | Session | None,
    channels: list[str],
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    reason: str,
    notice: str,
    notice_en: str,
    release_places: bool,
    created_by: Account | None,
) -> Closure:
    """Close `channels` for `scope` (the hospital, or the `target` department, doctor or
    session) from `starts_at` until `ends_at` (open-ended when None, until reopened).

    A department closure covers its sub-clinics. Bookings already made stay valid.
    With `release_places`, the release engine moves the affected sessions' unbooked
    places to walk-in once this transaction commits. Refuses as closure_validate does.
    """
    closure_validate(
        scope=scope,
        target=target,
        channels=channels,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        notice=notice,
        notice_en=notice_en,
    )
    with transaction.atomic():
        closure = Closure.objects.create(
            scope=scope,
            department=target if scope == Closure.Scope.DEPARTMENT else None,
            doctor=target if scope == Closure.Scope.DOCTOR else None,
            session=target if scope == Closure.Scope.SESSION else None,
            online=Channel.ONLINE in channels,
            phone=Channel.PHONE in channels,
            walkin=Channel.WALKIN in channels,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            notice=notice.strip(),
            notice_en=notice_en.strip(),
            release_places=release_places,
            created_by=created_by,
        )
        if release_places:
            closure_id = closure.pk
            # robust: a broker outage after commit must not turn a saved closure into
            # an error; the release engine's periodic sweep picks the closure up later.
            transaction.on_commit(lambda: _publish_release(closure_id), robust=True)
    logger.info(
        "closure %s created: %s %s %s from %s until %s",
        closure.pk,
        scope,
        getattr(target, "pk", "-"),
        ",".join(channels),
        starts_at.isoformat(),
        ends_at.isoformat() if ends_at else "further notice",
    )
    return closure


def closure_reopen(
    *,
    closure: Closure,
    reopened_by: Account | None,
    return_places: bool = False,
    now: datetime.datetime | None = None,
) -> Closure:
    """End a closure now: its channels open again at once.

    A planned closure reopened before it starts never takes effect. Places its release
    moved to walk-in stay there, unless `return_places`: then, once this commits, the
    release engine moves those still unbooked back to their channels for sessions far
    enough ahead (`release.release_return_for_closure`; the run records how many).
    Reopening twice returns the closure as it is. Refuses with: closure_already_ended.
    """
    now = now or timezone.now()
    with transaction.atomic():
        closure = Closure.objects.select_for_update().get(pk=closure.pk)
        if closure.reopened_at is not None:
            return closure
        if closure.ends_at is not None and closure.ends_at <= now:
            raise errors.ClosureAlreadyEnded()
        closure.reopened_at = now
        closure.reopened_by = reopened_by
        closure.return_places = bool(return_places and closure.release_places)
        closure.save(update_fields=["reopened_at", "reopened_by", "return_places"])
        if closure.return_places:
            closure_id = closure.pk
            transaction.on_commit(
                lambda: task_publish("booking.tasks.release_return_task", closure_id),
                robust=True,
            )
    logger.info("closure %s reopened (places back: %s)", closure.pk, closure.return_places)
    return closure


def _publish_release(closure_id: int) -> None:
    task_publish("booking.tasks.release_closure_task", closure_id)


# --- notices ---------------------------------------------------------------------


def notice_create(
    *,
    title: str,
    title_en: str,
    body: str,
    body_en: str,
    severity: str = Notice.Severity.INFO,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    created_by: Account | None,
) -> Notice:
    """Post a public announcement for the site banner and the status page.

    Refuses with: notice_text_missing, notice_ends_before_start.
    """
    _notice_validate(
        title=title,
        title_en=title_en,
        body=body,
        body_en=body_en,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return Notice.objects.create(
        title=title.strip(),
        title_en=title_en.strip(),
        body=body.strip(),
        body_en=body_en.strip(),
        severity=severity,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
    )


def notice_update(*, notice: Notice, **fields) -> Notice:
    """Change a notice's texts, severity or time range (e.g. end it now).

    Refuses as notice_create does.
    """
    allowed = {"title", "title_en", "body", "body_en", "severity", "starts_at", "ends_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"notice_update got unexpected fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(notice, name, value)
    _notice_validate(
        title=notice.title,
        title_en=notice.title_en,
        body=notice.body,
        body_en=notice.body_en,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
    )
    notice.save(update_fields=sorted(fields))
    return notice


def _notice_validate(
    *,
    title: str,
    title_en: str,
    body: str,
    body_en: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None,
) -> None:
    if not all((text or "").strip() for text in (title, title_en, body, body_en)):
        raise errors.NoticeTextMissing()
    if ends_at is not None and ends_at <= starts_at:
        raise errors.NoticeEndsBeforeStart()
