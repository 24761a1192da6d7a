"""Closures and notices in the admin: made by their services, notices short enough for the
one-page sign."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry

from booking.exceptions import ClosureNoticeTooLong
from booking.models import Closure, Notice
from booking.services import closures
from booking.services.closures import NOTICE_MAX_LENGTH
from booking.views.public import sign_text_size
from tests import factories
from tests.booking.conftest import NOW

pytestmark = pytest.mark.django_db

ADD = "/admin/booking/closure/add/"


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def closure_form(department, **overrides) -> dict:
    return {
        "scope": "department",
        "department": department.pk,
        "online": "on",
        "starts_at_0": "2026-11-23",
        "starts_at_1": "09:00:00",
        "reason": "capacity",
        "notice": "线上预约暂停。",
        "notice_en": "Online booking is paused.",
        "_save": "Save",
    } | overrides


@pytest.mark.parametrize("field", ["notice", "notice_en"])
def test_closure_validate_refuses_a_notice_too_long_for_the_sign(clock, field):
    texts = {"notice": "线上预约暂停。", "notice_en": "Online booking is paused."}
    texts[field] = "停" * (NOTICE_MAX_LENGTH + 1)

    with pytest.raises(ClosureNoticeTooLong) as refused:
        closures.closure_validate(
            scope="hospital",
            target=None,
            channels=["online"],
            starts_at=NOW,
            ends_at=None,
            reason="maintenance",
            **texts,
        )

    assert refused.value.code == "closure_notice_too_long"
    assert refused.value.detail == (
        "A public notice can be at most 300 characters: it must fit on the sign."
    )


def test_the_add_form_limits_the_notices_and_says_so(clock, admin_client):
    department = factories.DepartmentFactory()

    page = admin_client.get(ADD).content.decode()
    refused = admin_client.post(
        ADD, closure_form(department, notice_en="x" * (NOTICE_MAX_LENGTH + 1))
    )

    assert page.count(f'maxlength="{NOTICE_MAX_LENGTH}"') == 2
    assert "At most 300 characters." in page
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "notice_en": ["Ensure this value has at most 300 characters (it has 301)."]
    }
    assert not Closure.objects.exists()


def test_a_closure_made_in_the_admin_is_the_services_row(clock, admin_client, admin_user):
    department = factories.DepartmentFactory()

    response = admin_client.post(ADD, closure_form(department, notice="停" * NOTICE_MAX_LENGTH))

    assert response.status_code == 302
    closure = Closure.objects.get()
    assert closure.created_by == admin_user
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag) == (str(closure.pk), ADDITION)


def test_a_notice_made_in_the_admin_goes_through_notice_create(
    clock, admin_client, admin_user, monkeypatch
):
    calls = []
    real = closures.notice_create

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(closures, "notice_create", spy)

    response = admin_client.post(
        "/admin/booking/notice/add/",
        {
            "title": "春节门诊安排",
            "title_en": "Spring Festival hours",
            "body": "除夕至初三上午门诊。",
            "body_en": "Morning clinics only from New Year's Eve to the third day.",
            "severity": "info",
            "starts_at_0": "2026-11-23",
            "starts_at_1": "09:00:00",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert [c["created_by"] for c in calls] == [admin_user]
    notice = Notice.objects.get()
    assert notice.created_by == admin_user
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag) == (str(notice.pk), ADDITION)


@pytest.mark.parametrize(
    ("headings", "notices", "size"),
    [
        (("眼科", "Ophthalmology"), ("系统维护。", "System maintenance."), ""),
        (
            ("白内障专科", "Cataract clinic"),
            ("线" * 60, "Online booking is paused today; please book by phone. " * 4),
            "long",
        ),
        (("眼科", "Ophthalmology"), ("线" * 300, "x" * 300), "longest"),
        # a clinic's long names take room too
        (("眼" * 60, "Ophthalmology " * 5), ("系统维护。", "System maintenance."), "long"),
    ],
)
def test_the_sign_sets_smaller_type_for_longer_texts(headings, notices, size):
    assert sign_text_size(headings=headings, notices=notices) == size
