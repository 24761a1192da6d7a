"""The patient's own pages: my bookings, cancel (with undo), reschedule, the waitlist and
my messages. Signed in only, the account's own rows only, refusals shown and nothing
changed, double submits give one result, query counts fixed."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from booking import services
from booking.models import Booking, HeldPlace, WaitlistEntry
from booking.selectors import mine as mine_selectors
from booking.selectors.stops import session_alternatives
from booking.selectors.waitlist import waitlist_position
from clinics.cache import forget_local
from clinics.models import ClinicLevel, HalfDay
from notifications.models import OutboxMessage
from notifications.services import message_enqueue
from patients.models import Account
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import book, session_in, slot_in

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
CARD = re.compile(
    r'<li class="mine-card[^"]*" id="booking-(\d+)" data-booking="\d+">(.*?)</li>\n', re.S
)
STATUS = re.compile(r'data-status="\w+">(.*?)</span>')


def get(client, url: str, language: str = "en", **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)


def post(client, url: str, data=None, language: str = "en"):
    return client.post(url, data or {}, HTTP_ACCEPT_LANGUAGE=language)


def text(response) -> str:
    return " ".join(response.content.decode().split())


def cards(response) -> dict[int, str]:
    return {int(pk): card for pk, card in CARD.findall(response.content.decode())}


def status_words(response) -> dict[int, str]:
    return {pk: STATUS.search(card).group(1) for pk, card in cards(response).items()}


def _catalogue_compiled() -> bool:
    """The page strings' Chinese are in locale/…/django.po; the lead compiles the .mo."""
    with translation.override("zh-hans"):
        return translation.pgettext("booking status", "Booked") == "预约成功"


needs_compiled_catalogue = pytest.mark.skipif(
    not _catalogue_compiled(), reason="zh-hans catalogue not compiled yet (compilemessages)"
)


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.account)
    return client


def url(name: str, *args) -> str:
    return reverse(f"booking:{name}", args=args)


def full_session(days: int = 1, **kwargs):
    """A session whose one online place someone else booked."""
    slot = slot_in(days, online=1, **kwargs)
    book(factories.PatientFactory(), slot)
    return slot.session


# --- signed in, own rows only ------------------------------------------------------


def test_every_page_needs_sign_in(clock, client, patient):
    booking = book(patient, slot_in(1))
    entry_id = 1
    pages = [
        ("get", url("mine")),
        ("get", url("messages")),
        ("get", url("booking-cancel", booking.pk)),
        ("post", url("booking-undo", booking.pk)),
        ("get", url("booking-reschedule", booking.pk)),
        ("get", url("waitlist-join") + f"?session={booking.session_id}"),
        ("post", url("waitlist-leave", entry_id)),
    ]
    for method, address in pages:
        response = getattr(client, method)(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse("patients:sign-in")), address


def test_another_accounts_booking_entry_or_patient_is_not_found(clock, signed_in, patient):
    stranger = factories.PatientFactory()
    theirs = book(stranger, slot_in(1))
    session = full_session(2)
    their_entry = services.waitlist_join(
        patient=stranger, session=session, requested_by=stranger.account
    )
    before = snapshot()

    assert get(signed_in, url("booking-cancel", theirs.pk)).status_code == 404
    assert post(signed_in, url("booking-cancel", theirs.pk)).status_code == 404
    assert post(signed_in, url("booking-undo", theirs.pk)).status_code == 404
    assert get(signed_in, url("booking-reschedule", theirs.pk)).status_code == 404
    assert post(signed_in, url("waitlist-leave", their_entry.pk)).status_code == 404
    join = url("waitlist-join") + f"?session={session.pk}"
    assert post(signed_in, join, {"patient": stranger.pk}).status_code == 400  # not a choice
    assert get(signed_in, url("booking-cancel", 999999)).status_code == 404
    assert get(signed_in, url("waitlist-join") + "?session=abc").status_code == 404
    assert get(signed_in, url("waitlist-join") + "?session=999999").status_code == 404
    assert snapshot() == before
    assert theirs.pk not in cards(get(signed_in, url("mine")))


# --- my bookings -----------------------------------------------------------------------


def _bookings_of_every_status(clock, patient):
    """One booking per status word: three upcoming, three past (family members')."""
    confirmed = book(patient, slot_in(1))
    by_me = book(patient, slot_in(2))
    services.booking_cancel(booking=by_me, requested_by=patient.account)
    stopped = book(patient, slot_in(3))
    services.session_stop(
        session=stopped.session, reason="医生外出会诊", stopped_by=factories.StaffFactory()
    )
    # Booked six days ago for the days after, then seen, checked in, missed.
    clock.move_to(NOW - datetime.timedelta(days=6))
    past = {}
    for days_ago, status in ((3, "checked_in"), (4, "completed"), (5, "no_show")):
        family = factories.PatientFactory(account=patient.account)
        booking = book(family, slot_in(-days_ago))
        Booking.objects.filter(pk=booking.pk).update(status=status)
        past[status] = booking
    clock.move_to(NOW)
    return confirmed, by_me, stopped, past


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Booked",
                "Cancelled (by you)",
                "Cancelled (by the hospital)",
                "Checked in",
                "Seen by the doctor",
                "Missed (no-show)",
            ],
        ),
        pytest.param(
            "zh-hans",
            ["预约成功", "已取消（本人）", "已取消（医院）", "已签到", "已就诊", "爽约"],
            marks=needs_compiled_catalogue,
        ),
    ],
)
def test_my_bookings_says_each_status_in_words(clock, signed_in, patient, language, words):
    confirmed, by_me, stopped, past = _bookings_of_every_status(clock, patient)

    response = get(signed_in, url("mine"), language)

    assert response.status_code == 200
    expected = [confirmed, by_me, stopped, *past.values()]
    assert status_words(response) == {b.pk: w for b, w in zip(expected, words, strict=True)}
    html = response.content.decode()
    upcoming, _, rest = html.partition('id="waitlist-heading"')
    assert [f"booking-{b.pk}" in upcoming for b in expected] == [True] * 3 + [False] * 3
    assert all(f"booking-{b.pk}" in rest for b in past.values())
    stopped_card = cards(response)[stopped.pk]
    assert "医生外出会诊" in stopped_card
    assert ("[停诊]" if language == "zh-hans" else "[Session stopped]") in stopped_card
    # Cancel and change only where the rules may allow them; details link by code.
    confirmed_card = cards(response)[confirmed.pk]
    assert url("booking-cancel", confirmed.pk) in confirmed_card
    assert url("booking-reschedule", confirmed.pk) in confirmed_card
    assert url("booking-detail", confirmed.code) in confirmed_card
    assert url("booking-cancel", stopped.pk) not in stopped_card


def test_a_stopped_session_offers_its_alternatives_with_one_tap_rebook(clock, signed_in, patient):
    booking = book(patient, slot_in(1))
    session = booking.session
    same_day = factories.SessionFactory(
        doctor__department=session.department,
        date=session.date,
        starts_at=session.starts_at + datetime.timedelta(hours=1),
        level=session.level,
    )
    free_slot = factories.slot_with_quotas(session=same_day, online=2)
    full = factories.SessionFactory(
        doctor__department=session.department, date=session.date, level=session.level
    )
    factories.slot_with_quotas(session=full, online=0)
    services.session_stop(session=session, reason="停诊", stopped_by=factories.StaffFactory())

    card = cards(get(signed_in, url("mine")))[booking.pk]

    assert f'data-alternative="{same_day.pk}"' in card
    assert f'data-alternative="{full.pk}"' not in card
    rebook = f"{url('confirm')}?slot={free_slot.pk}&amp;patient={patient.pk}"
    assert f'href="{rebook}"' in card


def test_alternatives_of_many_sessions_match_session_alternatives(clock):
    department = factories.DepartmentFactory()
    doctors = [factories.DoctorFactory(department=department) for _ in range(3)]
    sessions = []
    for day in (1, 2, 3):
        for index, doctor in enumerate(doctors):
            for hour, half_day in ((8, HalfDay.MORNING), (14, HalfDay.AFTERNOON)):
                session = session_in(
                    day, department=department, hour=hour, doctor=doctor, half_day=half_day
                )
                factories.slot_with_quotas(session=session, online=(day + index + hour) % 3)
                sessions.append(session)
    general = factories.DoctorFactory(department=department, level=ClinicLevel.GENERAL)
    other_level = session_in(1, department=department, hour=9, doctor=general)
    factories.slot_with_quotas(session=other_level, online=2)
    sessions.append(other_level)

    many = mine_selectors.session_alternatives_many(sessions=sessions, now=NOW)

    for session in sessions:
        one = session_alternatives(session=session, now=NOW)
        assert [s.pk for s in many[session.pk]] == [s.pk for s in one], session


# --- cancel and undo -------------------------------------------------------------------


def test_cancel_shows_what_and_the_cut_off_then_cancels_once(clock, signed_in, patient):
    booking = book(patient, slot_in(1))  # tomorrow 08:00: cut-off 06:00

    page = get(signed_in, url("booking-cancel", booking.pk))
    assert page.status_code == 200
    assert "Online cancellation is possible until 2026-11-24 06:00 (120 minutes" in text(page)
    assert booking.code in text(page)

    first = post(signed_in, url("booking-cancel", booking.pk))
    second = post(signed_in, url("booking-cancel", booking.pk))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == f"{url('mine')}?cancelled={booking.pk}#booking-{booking.pk}"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert OutboxMessage.objects.filter(kind="booking_cancelled").count() == 1
    assert HeldPlace.objects.filter(freed_by=booking).count() == 1
    assert_books_balance()
    after = get(signed_in, first["Location"])
    assert 'data-done="cancelled"' in after.content.decode()
    assert url("booking-undo", booking.pk) in cards(after)[booking.pk]
    assert "Possible until 09:10." in cards(after)[booking.pk]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_cancel_after_the_cut_off_is_refused_and_changes_nothing(
    clock, signed_in, patient, language
):
    booking = book(patient, slot_in(0, hour=10))  # today 10:00, cut-off 08:00, now 09:00
    before = snapshot()

    page = get(signed_in, url("booking-cancel", booking.pk), language)
    refused = post(signed_in, url("booking-cancel", booking.pk), language=language)

    expected = {
        "en": "Online cancellation closes 120 minutes before the visit.",
        "zh-hans": "就诊前 120 分钟内不能在线取消，请到挂号窗口办理。",
    }[language]
    assert 'data-code="cancel_too_late"' in page.content.decode()
    assert url("booking-cancel", booking.pk) not in page.content.decode().split("<main")[1]
    assert refused.status_code == 400
    assert 'data-code="cancel_too_late"' in refused.content.decode()
    assert expected in text(refused)
    assert snapshot() == before


def test_undo_within_ten_minutes_restores_the_same_booking(clock, signed_in, patient):
    booking = book(patient, slot_in(1))
    post(signed_in, url("booking-cancel", booking.pk))
    clock.shift(9 * MINUTE)

    response = post(signed_in, url("booking-undo", booking.pk))
    again = post(signed_in, url("booking-undo", booking.pk))

    assert response.status_code == again.status_code == 302
    assert response["Location"] == f"{url('mine')}?undone={booking.pk}#booking-{booking.pk}"
    restored = Booking.objects.get(pk=booking.pk)
    assert (restored.status, restored.code, restored.queue_number) == (
        Booking.Status.CONFIRMED,
        booking.code,
        booking.queue_number,
    )
    assert_books_balance()
    page = get(signed_in, response["Location"])
    assert 'data-done="undone"' in page.content.decode()
    assert status_words(page)[booking.pk] == "Booked"


def test_undo_after_ten_minutes_is_refused(clock, signed_in, patient):
    booking = book(patient, slot_in(1))
    post(signed_in, url("booking-cancel", booking.pk))
    clock.shift(10 * MINUTE + datetime.timedelta(seconds=1))
    page = get(signed_in, url("mine"))
    assert url("booking-undo", booking.pk) not in cards(page)[booking.pk]
    before = snapshot()

    response = post(signed_in, url("booking-undo", booking.pk))

    assert response.status_code == 409
    assert 'data-code="undo_expired"' in response.content.decode()
    assert "can be undone for 10 minutes only" in text(response)
    assert snapshot() == before


def test_undo_when_the_place_went_to_the_waitlist_is_refused(clock, signed_in, patient):
    booking = book(patient, slot_in(1, online=1))
    waiting = factories.PatientFactory()
    services.booking_cancel(booking=booking, requested_by=patient.account)
    # The freed place is held; someone joins, and the place is offered to them.
    entry = services.waitlist_join(
        patient=waiting, session=booking.session, requested_by=waiting.account
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(created_at=NOW - MINUTE)
    services.held_place_offer(held_place_id=HeldPlace.objects.get(freed_by=booking).pk)
    page = get(signed_in, url("mine"))
    assert url("booking-undo", booking.pk) not in cards(page)[booking.pk]
    before = snapshot()

    response = post(signed_in, url("booking-undo", booking.pk))

    assert response.status_code == 409
    assert 'data-code="undo_place_gone"' in response.content.decode()
    assert snapshot() == before


# --- reschedule ------------------------------------------------------------------------


def test_reschedule_in_three_steps_then_one_move_for_a_double_submit(clock, signed_in, patient):
    booking = book(patient, slot_in(1))
    department = booking.department
    other = session_in(2, department=department)
    first_slot = factories.slot_with_quotas(session=other, online=2)
    later_slot = factories.slot_with_quotas(
        session=other, starts_at=other.starts_at + 30 * MINUTE, online=1
    )
    elsewhere = slot_in(2)  # another department: not offered
    address = url("booking-reschedule", booking.pk)

    step1 = get(signed_in, address)
    assert f'data-session="{other.pk}"' in step1.content.decode()
    assert f'data-session="{elsewhere.session_id}"' not in step1.content.decode()
    step2 = get(signed_in, address, session=other.pk)
    assert [f'value="{s.pk}"' in step2.content.decode() for s in (first_slot, later_slot)] == [
        True,
        True,
    ]
    step3 = get(signed_in, address, session=other.pk, slot=later_slot.pk)
    key = re.search(r'name="idempotency_key" value="(\w+)"', step3.content.decode()).group(1)
    data = {"session": other.pk, "slot": later_slot.pk, "idempotency_key": key}

    first = post(signed_in, address, data)
    second = post(signed_in, address, data)

    moved = Booking.objects.get(rescheduled_from=booking)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == url("booking-detail", moved.code)
    assert moved.slot == later_slot
    assert Booking.objects.filter(patient=patient, status="confirmed").count() == 1
    assert_books_balance()
    page = get(signed_in, url("mine"))
    assert status_words(page)[booking.pk] == "Moved to another time"
    assert url("booking-undo", booking.pk) not in cards(page)[booking.pk]


def test_reschedule_to_a_place_that_filled_meanwhile_is_refused_with_alternatives(
    clock, signed_in, patient
):
    booking = book(patient, slot_in(1))
    wanted = slot_in(2, department=booking.department, online=1)
    alternative = slot_in(3, department=booking.department, online=2)
    address = url("booking-reschedule", booking.pk)
    step3 = get(signed_in, address, session=wanted.session_id, slot=wanted.pk)
    key = re.search(r'name="idempotency_key" value="(\w+)"', step3.content.decode()).group(1)
    book(factories.PatientFactory(), wanted)  # the last place goes while the page is open
    before = snapshot()

    response = post(
        signed_in,
        address,
        {"session": wanted.session_id, "slot": wanted.pk, "idempotency_key": key},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-code="slot_full"' in html
    assert f'data-session="{alternative.session_id}"' in html
    assert f'data-session="{wanted.session_id}"' not in html
    assert snapshot() == before


def test_reschedule_to_a_tampered_slot_is_not_found(clock, signed_in, patient):
    booking = book(patient, slot_in(1))
    elsewhere = slot_in(2)
    address = url("booking-reschedule", booking.pk)
    before = snapshot()

    data = {"session": elsewhere.session_id, "slot": elsewhere.pk, "idempotency_key": "k"}
    assert post(signed_in, address, data).status_code == 404
    assert get(signed_in, address, session=elsewhere.session_id).status_code == 404
    assert get(signed_in, address, session="x").status_code == 404
    assert post(signed_in, address, {"slot": "1"}).status_code == 404
    assert snapshot() == before


# --- waitlist --------------------------------------------------------------------------


def test_join_the_waitlist_see_the_position_and_leave(clock, signed_in, patient):
    session = full_session(2)
    ahead = factories.PatientFactory()
    services.waitlist_join(patient=ahead, session=session, requested_by=ahead.account)
    address = url("waitlist-join") + f"?session={session.pk}"

    page = get(signed_in, address)
    assert f'value="{patient.pk}"' in page.content.decode()
    joined = post(signed_in, address, {"patient": patient.pk})
    twice = post(signed_in, address, {"patient": patient.pk})

    entry = WaitlistEntry.objects.get(patient=patient)
    assert joined["Location"] == f"{url('mine')}?joined={entry.pk}#waitlist-{entry.pk}"
    assert twice.status_code == 409
    assert 'data-code="already_waitlisted"' in twice.content.decode()
    assert WaitlistEntry.objects.filter(patient=patient).count() == 1
    mine = get(signed_in, joined["Location"], "zh-hans")
    assert waitlist_position(entry=entry) == 2
    assert 'data-position="2"' in mine.content.decode()
    if _catalogue_compiled():
        assert "排在第2位" in text(mine)

    left = post(signed_in, url("waitlist-leave", entry.pk))
    again = post(signed_in, url("waitlist-leave", entry.pk))

    assert left.status_code == again.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert f'data-entry="{entry.pk}"' not in get(signed_in, url("mine")).content.decode()


def test_a_session_with_places_is_booked_not_waited_for(clock, signed_in, patient):
    slot = slot_in(2, online=2)
    address = url("waitlist-join") + f"?session={slot.session_id}"
    before = snapshot()

    page = get(signed_in, address)
    refused = post(signed_in, address, {"patient": patient.pk})

    assert "This session still has 2 free places" in text(page)
    assert f"{url('slot')}?session={slot.session_id}" in page.content.decode()
    assert refused.status_code == 409
    assert 'data-code="session_has_places"' in refused.content.decode()
    assert snapshot() == before


def test_join_without_choosing_a_patient_says_so(clock, signed_in, patient):
    factories.PatientFactory(account=patient.account)
    address = url("waitlist-join") + f"?session={full_session(2).pk}"

    response = post(signed_in, address, {})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-describedby="patient-error"' in html
    assert "Choose the patient who will see the doctor." in html
    assert not WaitlistEntry.objects.exists()


# --- messages --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_messages_newest_first_in_the_patients_language_with_links(
    clock, signed_in, patient, language
):
    Account.objects.filter(pk=patient.account_id).update(language=language)
    patient.account.refresh_from_db()
    booking = book(patient, slot_in(1, online=1))
    clock.shift(MINUTE)
    services.booking_cancel(booking=booking, requested_by=patient.account)
    clock.shift(MINUTE)
    message_enqueue(
        kind="sign_in_code",
        dedupe_key="sign-in:1",
        recipient=patient.account.phone,
        language=language,
        context={"code": "123456"},
        account_id=patient.account_id,
    )
    factories.PatientFactory()  # someone else's messages are not shown
    book(factories.PatientFactory(), slot_in(2))

    response = get(signed_in, url("messages"), language)

    html = response.content.decode()
    kinds = re.findall(r'data-kind="(\w+)"', html)
    assert kinds == ["booking_cancelled", "booking_confirmed"]
    assert html.count(f'href="{url("booking-detail", booking.code)}"') == 2
    assert "123456" not in html
    confirmed = {"en": "Booking " + booking.code + " confirmed", "zh-hans": "预约成功"}[language]
    assert confirmed in html


def test_the_waitlist_booked_message_links_to_the_booking(clock, signed_in, patient):
    slot = slot_in(2, online=1)
    other = factories.PatientFactory()
    taken = book(other, slot)
    entry = services.waitlist_join(
        patient=patient, session=slot.session, requested_by=patient.account
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(created_at=NOW - MINUTE)
    services.booking_cancel(booking=taken, requested_by=other.account)
    booked = services.held_place_offer(held_place_id=HeldPlace.objects.get(freed_by=taken).pk)

    html = get(signed_in, url("messages")).content.decode()

    assert re.findall(r'data-kind="(\w+)"', html) == ["waitlist_booked"]
    assert f'href="{url("booking-detail", booked.code)}"' in html


# --- query counts ----------------------------------------------------------------------


def _many(patient, count: int):
    """`count` confirmed bookings (family members': one patient may hold only 3 a
    week), one more the hospital cancelled by stopping its session (with an
    alternative), a waitlist entry, their messages."""
    staff = factories.StaffFactory()
    stopped = book(patient, slot_in(1, online=2))
    alternative = session_in(1, department=stopped.department, hour=9)
    factories.slot_with_quotas(session=alternative, online=2)
    services.session_stop(session=stopped.session, reason="停诊", stopped_by=staff)
    for day in range(count):
        family = factories.PatientFactory(account=patient.account)
        book(family, slot_in(day + 2, online=2))
    session = full_session(count + 2)
    services.waitlist_join(patient=patient, session=session, requested_by=patient.account)


@pytest.mark.parametrize("count", [1, 3])
def test_query_counts_do_not_grow_with_bookings(
    clock, signed_in, patient, count, django_assert_num_queries
):
    _many(patient, count)
    booking = Booking.objects.filter(patient__account=patient.account, status="confirmed").first()
    session = full_session(count + 2)
    # Every page: the session and the account, the notice area (notices, closures), and
    # the session's activity stamp (savepoint, update, release): 7. Then its own reads.
    pages = {
        # bookings upcoming and past (held places, moves annotated), waitlist entries,
        # their positions, the alternatives of the stopped session and their first slots
        url("mine"): 7 + 6,
        url("messages"): 7 + 1,
        # the booking, its department's policy
        url("booking-cancel", booking.pk): 7 + 2,
        # the booking, its policy, the policies, the sessions, their quotas, closures
        url("booking-reschedule", booking.pk): 7 + 6,
        url("booking-reschedule", booking.pk) + f"?session={booking.session_id}": 7 + 7,
        # the session with its places left, the account's patients
        url("waitlist-join") + f"?session={session.pk}": 7 + 2,
    }
    for address, queries in pages.items():
        cache.clear()  # the banner is cached for every page: count each page cold
        forget_local()
        with django_assert_num_queries(queries):
            response = signed_in.get(address)
        assert response.status_code == 200, address
    assert "data-alternative" in signed_in.get(url("mine")).content.decode()
