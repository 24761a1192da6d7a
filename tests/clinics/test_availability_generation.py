"""The availability generation (clinics/cache.py): every write that can change what
availability shows bumps it once, after commit; a rollback bumps nothing; a cache outage
never breaks the write."""

import datetime
from unittest import mock

import pytest
from django.db import transaction

from booking.models import BookingPolicy, Closure, Notice
from clinics import cache as availability_cache
from clinics.cache import availability_changed, availability_generation
from clinics.models import Channel, Department, Quota, Session, Slot
from tests import factories


@pytest.mark.django_db
def test_generation_is_created_when_missing_and_stable():
    first = availability_generation()

    assert isinstance(first, int)
    assert availability_generation() == first


@pytest.mark.django_db(transaction=True)
def test_one_bump_per_committed_transaction():
    before = availability_generation()

    with transaction.atomic():
        availability_changed()
        availability_changed()
        with transaction.atomic():
            availability_changed()
        assert availability_generation() == before  # not before the commit

    assert availability_generation() == before + 1


@pytest.mark.django_db(transaction=True)
def test_no_bump_on_rollback():
    before = availability_generation()

    with pytest.raises(RuntimeError), transaction.atomic():
        availability_changed()
        raise RuntimeError

    assert availability_generation() == before


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_does_not_swallow_a_later_bump():
    before = availability_generation()

    with transaction.atomic():
        try:
            with transaction.atomic():
                availability_changed()
                raise RuntimeError
        except RuntimeError:
            pass
        availability_changed()

    assert availability_generation() == before + 1


@pytest.mark.django_db(transaction=True)
def test_autocommit_bumps_at_once():
    before = availability_generation()

    availability_changed()

    assert availability_generation() == before + 1


@pytest.mark.django_db(transaction=True)
def test_every_availability_write_bumps():
    session = factories.SessionFactory()
    slot = factories.slot_with_quotas(session=session, online=3)
    department = session.department
    policy = factories.BookingPolicyFactory(department=department)

    writes = {
        "quota update": lambda: Quota.objects.filter(slot=slot).update(booked=1),
        "quota instance save (admin)": lambda: _save(
            Quota.objects.get(slot=slot, channel="online"), capacity=4
        ),
        "quota bulk_update": lambda: Quota.objects.bulk_update(
            list(Quota.objects.filter(slot=slot)), ["capacity"]
        ),
        "session update": lambda: Session.objects.filter(pk=session.pk).update(
            status=Session.Status.STOPPED
        ),
        "slot bulk_create": lambda: Slot.objects.bulk_create(
            [
                Slot(
                    session=session,
                    starts_at=slot.starts_at + datetime.timedelta(minutes=30),
                    ends_at=slot.ends_at + datetime.timedelta(minutes=30),
                )
            ]
        ),
        "department save": lambda: _save(department, name="眼科二"),
        "doctor update": lambda: (
            type(session.doctor).objects.filter(pk=session.doctor_id).update(fee=10)
        ),
        "room save": lambda: _save(session.room, name="3-02"),
        "policy save": lambda: _save(policy, window_days=8),
        "policy update": lambda: BookingPolicy.objects.filter(pk=policy.pk).update(window_days=9),
        "closure create": lambda: Closure.objects.create(
            scope=Closure.Scope.HOSPITAL,
            starts_at=session.starts_at,
            reason=Closure.Reason.MAINTENANCE,
            notice="维护",
            notice_en="Maintenance",
        ),
        "closure update (active_at)": lambda: Closure.objects.active_at(session.starts_at).update(
            online=False, phone=True
        ),
        "notice create": lambda: Notice.objects.create(
            title="通知",
            title_en="Notice",
            body="正文",
            body_en="Body",
            starts_at=session.starts_at,
        ),
        "slot delete": lambda: Slot.objects.filter(session=session).exclude(pk=slot.pk).delete(),
    }
    for name, write in writes.items():
        before = availability_generation()
        write()
        assert availability_generation() == before + 1, name


def _save(instance, **fields):
    for field, value in fields.items():
        setattr(instance, field, value)
    instance.save()


@pytest.mark.django_db(transaction=True)
def test_an_update_of_no_row_bumps_nothing():
    before = availability_generation()

    Quota.objects.filter(pk=-1).update(booked=1)

    assert availability_generation() == before


@pytest.mark.django_db(transaction=True)
def test_a_cache_outage_never_breaks_a_write(caplog):
    session = factories.SessionFactory()
    factories.slot_with_quotas(session=session, online=3)

    with mock.patch.object(availability_cache.cache, "incr", side_effect=ConnectionError("down")):
        rows = Quota.objects.filter(slot__session=session, channel=Channel.ONLINE).update(booked=1)

    assert rows == 1
    assert Quota.objects.get(slot__session=session, channel=Channel.ONLINE).booked == 1
    assert "availability generation could not be bumped" in caplog.text


@pytest.mark.django_db
def test_managers_keep_their_methods():
    # Closure's own QuerySet methods still chain after the availability base class.
    assert (
        list(Closure.objects.active_at(datetime.datetime.now(datetime.UTC)).closing("online")) == []
    )
    assert Department.objects.filter(is_active=True).count() == 0
