"""The queue's admin pages: who may look, who may press, and what each button does."""

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from frontdesk import services
from frontdesk.models import QueueTicket
from tests import factories
from tests.frontdesk.test_queue import (
    NOW,
    queue_of,
    queue_snapshot,
    today_session,
    waiting_numbers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


INDEX = reverse("admin:frontdesk_queue")


def page(session) -> str:
    return reverse("admin:frontdesk_queue_session", args=[session.pk])


def member(client, *codenames: str, **fields):
    user = factories.StaffFactory(**fields)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="frontdesk", codename__in=codenames)
    )
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


@pytest.fixture
def desk(client):
    member(client, "view_queueticket", "run_queue")
    return client


@pytest.fixture
def session(clock, staff):
    session = today_session()
    queue_of(session, staff, 4)
    return session


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_index_lists_todays_sessions_per_room_with_counts_and_the_board(desk, session):
    response = desk.get(INDEX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Today&#x27;s queue" in html
    assert f'href="{page(session)}"' in html
    assert f'href="/board/{session.room.code}/"' in html
    assert '<td data-count="waiting">4</td>' in html
    assert '<td data-count="called">0</td>' in html


def test_the_session_page_lists_the_queue_with_its_buttons(desk, session, staff):
    services.queue_call_next(session=session, called_by=staff)
    services.queue_skip(ticket=session.queue_tickets.get(number=2), skipped_by=staff)

    response = desk.get(page(session))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-called="1"' in html
    assert [t.number for t in response.context["queue"].waiting] == [3, 4, 2]
    assert 'data-mark="skipped"' in html and "Skipped once" in html
    for action in ("call_next", "recall", "skip", "done"):
        assert f'name="action" value="{action}"' in html
    assert "csrfmiddlewaretoken" in html


def test_call_next_is_a_post_that_calls_and_redirects_back(desk, session):
    response = desk.post(page(session), {"action": "call_next"}, follow=True)

    assert response.redirect_chain == [(page(session), 302)]
    assert messages_of(response) == ["Calling number 1."]
    assert QueueTicket.objects.get(state="called").number == 1


def test_recall_skip_and_done_buttons_call_their_service(desk, session, staff):
    called = services.queue_call_next(session=session, called_by=staff)

    response = desk.post(page(session), {"action": "recall", "ticket": called.pk}, follow=True)
    assert messages_of(response) == ["Calling number 1 again."]
    called.refresh_from_db()
    assert called.calls == 2

    response = desk.post(page(session), {"action": "skip", "ticket": called.pk}, follow=True)
    assert messages_of(response) == ["Number 1 waits again, after the next three patients."]
    assert waiting_numbers(session) == [2, 3, 4, 1]

    second = services.queue_call_next(session=session, called_by=staff)
    response = desk.post(page(session), {"action": "done", "ticket": second.pk}, follow=True)
    assert messages_of(response) == ["Number 2 has been seen."]
    second.refresh_from_db()
    assert second.state == "done"


def test_a_refused_button_shows_why_and_changes_nothing(desk, session):
    waiting = session.queue_tickets.get(number=2)
    before = queue_snapshot()

    response = desk.post(page(session), {"action": "done", "ticket": waiting.pk}, follow=True)

    assert messages_of(response) == [
        "Only the patient who is being called can be called again or finished."
    ]
    assert queue_snapshot() == before


def test_a_ticket_of_another_session_is_not_found(desk, session, staff):
    other = today_session(doctor=factories.DoctorFactory())
    (ticket,) = queue_of(other, staff, 1)

    response = desk.post(page(session), {"action": "skip", "ticket": ticket.pk})

    assert response.status_code == 404


def test_staff_without_the_view_right_are_refused(client, session):
    member(client)

    assert client.get(INDEX).status_code == 403
    assert client.get(page(session)).status_code == 403


def test_viewers_can_look_but_a_post_is_refused(client, session):
    member(client, "view_queueticket")
    before = queue_snapshot()

    html = client.get(page(session)).content.decode()
    response = client.post(page(session), {"action": "call_next"})

    assert 'name="action"' not in html
    assert "You can see this queue but not change it." in html
    assert response.status_code == 403
    assert queue_snapshot() == before


def test_a_doctor_sees_only_their_own_sessions_read_only(client, session, staff):
    doctor_account = member(client, "view_queueticket")
    session.doctor.account = doctor_account
    session.doctor.save()
    other = today_session(doctor=factories.DoctorFactory())

    index = client.get(INDEX)

    assert [s.pk for s in index.context["rooms"][0]["sessions"]] == [session.pk]
    assert len(index.context["rooms"]) == 1
    assert client.get(page(session)).status_code == 200
    assert client.get(page(other)).status_code == 404
    assert client.post(page(session), {"action": "call_next"}).status_code == 403


def test_the_session_page_costs_the_same_with_more_patients(
    desk, session, staff, django_assert_max_num_queries
):
    services.queue_call_next(session=session, called_by=staff)
    with django_assert_max_num_queries(12) as few:
        desk.get(page(session))
    queue_of(session, staff, 6)

    with django_assert_max_num_queries(len(few.captured_queries)):
        desk.get(page(session))
