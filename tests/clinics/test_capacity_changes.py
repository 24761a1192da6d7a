"""Every capacity change is recorded with who, when and why (invariant 2)."""

import pytest
from django.db import transaction
from django.db.models import Sum

from clinics import services
from clinics.exceptions import CapacityBelowTaken, CapacityReasonRequired
from clinics.models import CapacityChange, Channel, Quota
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_move_is_two_rows_that_sum_to_zero(clock):
    slot = factories.slot_with_quotas(online=5, walkin=1)
    online, walkin = (slot.quotas.get(channel=c) for c in (Channel.ONLINE, Channel.WALKIN))

    with transaction.atomic():
        services.quota_capacity_move(
            from_quota_id=online.pk,
            to_quota_id=walkin.pk,
            places=3,
            reason=CapacityChange.Reason.CLOSURE_RELEASE,
            ref="release_run:7",
        )

    rows = list(CapacityChange.objects.order_by("delta"))
    assert [(r.quota_id, r.delta, r.capacity_after) for r in rows] == [
        (online.pk, -3, 2),
        (walkin.pk, 3, 4),
    ]
    assert rows[0].move == rows[1].move is not None
    assert {r.ref for r in rows} == {"release_run:7"}
    assert CapacityChange.objects.aggregate(total=Sum("delta"))["total"] == 0


def test_a_move_never_takes_booked_places(clock):
    slot = factories.slot_with_quotas(online=2, walkin=0)
    online, walkin = (slot.quotas.get(channel=c) for c in (Channel.ONLINE, Channel.WALKIN))
    Quota.objects.filter(pk=online.pk).update(booked=1)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.quota_capacity_move(
            from_quota_id=online.pk, to_quota_id=walkin.pk, places=2, reason="closure_release"
        )
    assert not CapacityChange.objects.exists()


def test_staff_change_capacity_with_a_reason_and_it_is_recorded(clock, staff):
    quota = factories.slot_with_quotas(online=5).quotas.get()

    change = services.quota_capacity_set(
        quota=quota, capacity=8, changed_by=staff, note="刘医生加号"
    )

    quota.refresh_from_db()
    assert quota.capacity == 8
    assert (change.delta, change.capacity_after, change.changed_by) == (3, 8, staff)
    assert (change.reason, change.note) == (CapacityChange.Reason.STAFF_EDIT, "刘医生加号")


def test_staff_cannot_cut_below_what_is_booked_or_say_nothing(clock, staff):
    quota = factories.slot_with_quotas(online=5).quotas.get()
    Quota.objects.filter(pk=quota.pk).update(booked=3, held=1)

    with pytest.raises(CapacityBelowTaken):
        services.quota_capacity_set(quota=quota, capacity=3, changed_by=staff, note="减号")
    with pytest.raises(CapacityReasonRequired):
        services.quota_capacity_set(quota=quota, capacity=9, changed_by=staff, note=" ")

    quota.refresh_from_db()
    assert quota.capacity == 5
    assert not CapacityChange.objects.exists()
    assert services.quota_capacity_set(quota=quota, capacity=4, changed_by=staff, note="ok")


def test_the_quota_admin_sets_capacity_through_the_service(clock, admin_client):
    from django.urls import reverse

    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    quota = factories.slot_with_quotas(online=5).quotas.get()
    url = reverse("admin:clinics_quota_set_capacity", args=[quota.pk])
    assert admin_client.get(url).status_code == 200

    refused = admin_client.post(url, {"capacity": 7, "note": ""})
    assert refused.status_code == 200
    quota.refresh_from_db()
    assert quota.capacity == 5

    done = admin_client.post(url, {"capacity": 7, "note": "加号"})
    assert done.status_code == 302
    quota.refresh_from_db()
    assert quota.capacity == 7
    change = CapacityChange.objects.get()
    assert (change.delta, change.note, change.changed_by.username) == (2, "加号", "admin")
    page = admin_client.get(reverse("admin:clinics_quota_change", args=[quota.pk]))
    assert "加号" in page.content.decode()  # the quota's page lists its changes


def test_the_capacity_page_needs_the_change_right(clock, client, staff):
    from django.urls import reverse

    quota = factories.slot_with_quotas(online=5).quotas.get()
    client.force_login(staff)
    response = client.post(
        reverse("admin:clinics_quota_set_capacity", args=[quota.pk]),
        {"capacity": 9, "note": "x"},
    )
    assert response.status_code in (302, 403)
    quota.refresh_from_db()
    assert quota.capacity == 5
