"""The inbox, the outbox health for /healthz/background, and the admin's failed view and retry."""

import datetime

import pytest

from notifications import selectors, services
from notifications.models import OutboxMessage
from tests import factories
from tests.notifications.conftest import DAYTIME

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("daytime")]


def enqueue(key, *, account=None, kind="booking_cancelled", language="en", **extra):
    return services.message_enqueue(
        kind=kind,
        dedupe_key=key,
        recipient="13800138000",
        language=language,
        context={"code": key, "patient": "Zhang Wei", "when": "2026-11-24 08:00"},
        account_id=account.pk if account else None,
        **extra,
    )


def test_inbox_holds_an_account_s_own_messages_newest_first(daytime):
    mine, other = factories.AccountFactory(), factories.AccountFactory()
    first = enqueue("A1", account=mine)
    daytime.shift(datetime.timedelta(minutes=1))
    failed = enqueue("A2", account=mine)
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxMessage.Status.FAILED)
    daytime.shift(datetime.timedelta(minutes=1))
    withdrawn = enqueue("A3", account=mine)
    services.message_cancel(dedupe_keys=[withdrawn.dedupe_key])
    enqueue("B1", account=other)

    items = selectors.inbox_list(account_id=mine.pk)

    assert [item.id for item in items] == [failed.pk, first.pk]
    assert items[1].text == "[Yuyue] Booking A1 for Zhang Wei on 2026-11-24 08:00 () is cancelled."
    assert items[1].read is False
    assert selectors.inbox_unread_count(account_id=mine.pk) == 2
    assert services.message_mark_read(account_id=mine.pk, message_ids=[first.pk]) == 1
    assert services.message_mark_read(account_id=other.pk, message_ids=[failed.pk]) == 0
    assert selectors.inbox_unread_count(account_id=mine.pk) == 1


def test_inbox_shows_a_message_whose_sms_waits_for_the_morning(daytime):
    account = factories.AccountFactory()
    daytime.move_to(datetime.datetime(2026, 11, 23, 23, 0, tzinfo=DAYTIME.tzinfo))
    message = enqueue("Q1", account=account)
    assert message.due_at > datetime.datetime.now(tz=datetime.UTC)
    assert [item.id for item in selectors.inbox_list(account_id=account.pk)] == [message.pk]


def test_outbox_health_counts_backlog_stuck_and_failed(daytime, settings):
    settings.YUYUE_OUTBOX_SENDING_LEASE_SECONDS = 300
    old = enqueue("old")
    stuck = enqueue("stuck")
    failed = enqueue("failed")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxMessage.Status.FAILED)
    OutboxMessage.objects.filter(pk=stuck.pk).update(
        status=OutboxMessage.Status.SENDING, sending_since=DAYTIME
    )
    daytime.shift(datetime.timedelta(minutes=9))
    enqueue("fresh")
    assert selectors.outbox_health(backlog_minutes=10) == {
        "backlog": 0,
        "failed": 1,
        "failed_last_day": 1,
        "stuck_sending": 1,
        "oldest_backlog_seconds": 0,
        "backlog_minutes": 10,
        "ok": False,
    }
    OutboxMessage.objects.filter(pk=stuck.pk).update(status=OutboxMessage.Status.SENT)
    daytime.shift(datetime.timedelta(minutes=2))
    health = selectors.outbox_health(backlog_minutes=10)
    assert (health["backlog"], health["oldest_backlog_seconds"], health["ok"]) == (1, 660, False)
    OutboxMessage.objects.filter(pk=old.pk).update(status=OutboxMessage.Status.SENT)
    assert selectors.outbox_health(backlog_minutes=10)["ok"] is True


def test_outbox_health_is_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.outbox_health()


def test_admin_lists_failed_messages_with_masked_numbers(admin_client):
    failed = enqueue("F1")
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status=OutboxMessage.Status.FAILED, last_error="HTTP 400: invalid number"
    )
    enqueue("P1")

    page = admin_client.get("/admin/notifications/outboxmessage/?status__exact=failed")

    html = page.content.decode()
    assert page.status_code == 200
    assert f"/admin/notifications/outboxmessage/{failed.pk}/change/" in html
    assert "HTTP 400: invalid number" in html
    assert "***8000" in html
    assert "13800138000" not in html
    detail = admin_client.get(f"/admin/notifications/outboxmessage/{failed.pk}/change/")
    assert "13800138000" not in detail.content.decode()


def test_admin_retry_resends_failed_messages_only(admin_client, django_capture_on_commit_callbacks):
    failed = enqueue("F1")
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=6, last_error="HTTP 500"
    )
    sent = enqueue("S1")
    services.message_send(message_id=sent.pk)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/notifications/outboxmessage/",
            {"action": "retry_failed", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    assert len(callbacks) == 1
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxMessage.Status.PENDING, 0)
    assert sent.status == OutboxMessage.Status.SENT
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "1 message will be sent again.",
        "1 message was not failed and was left alone.",
    ]
    # and the retried message goes out
    assert services.message_send(message_id=failed.pk) is True


def test_retry_refuses_a_message_that_is_not_failed():
    message = enqueue("P1")
    assert services.message_retry(message_id=message.pk) is False


def test_the_outbox_admin_never_shows_a_sign_in_code(admin_client):
    from django.urls import reverse

    from notifications.services import message_enqueue

    message = message_enqueue(
        kind="sign_in_code",
        dedupe_key="sign-in:1",
        recipient="13800138000",
        language="zh-hans",
        context={"code": "482913"},
    )

    page = admin_client.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk]))

    assert page.status_code == 200
    assert "482913" not in page.content.decode()
    assert "******" in page.content.decode()
