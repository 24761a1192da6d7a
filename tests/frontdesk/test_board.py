"""The public waiting-room board: masked names only, read only, cheap."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from frontdesk import services
from tests import factories
from tests.frontdesk.test_queue import (
    NOW,
    booked,
    check_in,
    today_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def urls(room) -> tuple[str, str]:
    return (
        reverse("queue-board", args=[room.code]),
        reverse("queue-board-data", args=[room.code]),
    )


@pytest.fixture
def room_queue(clock, staff):
    """Room 3-12: Wang Xiaoming (#1) called, six more waiting (#2 to #7)."""
    room = factories.RoomFactory(code="3-12", name="第12诊室", name_en="Room 12")
    session = today_session(room=room, doctor__department=room.department)
    names = ["王小明", "李四", "John Smith", "赵六", "钱七", "孙八", "周九"]
    for name in names:
        check_in(booked(session, real_name=name), staff)
    services.queue_call_next(session=session, called_by=staff)
    return room


def test_the_board_data_shows_the_called_number_and_the_next_five_masked(client, room_queue):
    response = client.get(urls(room_queue)[1])

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert response.json() == {
        "room": {"code": "3-12", "name": "第12诊室", "name_en": "Room 12"},
        "current": {"number": 1, "name": "王*明"},
        "next": [
            {"number": 2, "name": "李*"},
            {"number": 3, "name": "J*** S****"},
            {"number": 4, "name": "赵*"},
            {"number": 5, "name": "钱*"},
            {"number": 6, "name": "孙*"},
        ],
    }


def test_the_board_shows_no_personal_data_beyond_masked_names(client, room_queue):
    patients = [t.booking.patient for t in room_queue.queue_tickets.select_related("booking")]

    for url in urls(room_queue):
        body = client.get(url).content.decode()
        for patient in patients:
            for secret in (
                patient.real_name,
                patient.document_number,
                patient.phone,
                patient.medical_record_number,
                patient.account.phone,
            ):
                assert secret and secret not in body, (url, secret)
        for ticket in room_queue.queue_tickets.all():
            assert ticket.booking.code not in body


def test_the_board_page_is_large_live_and_refreshes_without_javascript(client, room_queue):
    page, data = urls(room_queue)

    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-Hans">' in html
    assert '<p class="board__number" data-board-number>1</p>' in html
    assert '<p class="board__name" data-board-name>王*明</p>' in html
    assert 'aria-live="polite"' in html
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in html
    assert f'data-board-url="{data}"' in html and 'data-poll-ms="2000"' in html
    assert "/static/js/board.js" in html and "/static/css/board.css" in html
    assert html.count('class="board__item"') == 5
    assert '<span class="board__en" lang="en">Now calling</span>' in html


def test_an_empty_board_says_nobody_is_called(client, clock):
    room = factories.RoomFactory(code="5-01")
    page, data = urls(room)

    assert client.get(data).json()["current"] is None
    assert client.get(data).json()["next"] == []
    html = client.get(page).content.decode()
    assert "data-board-nobody>" in html  # shown: not hidden
    assert "data-board-number hidden" in html


def test_the_board_shows_only_todays_tickets_of_its_room(client, clock, staff, room_queue):
    other_room = today_session(doctor=factories.DoctorFactory())
    check_in(booked(other_room), staff)
    services.queue_call_next(session=other_room, called_by=staff)

    data = client.get(urls(room_queue)[1]).json()
    assert data["current"]["number"] == 1
    assert len(data["next"]) == 5

    tomorrow = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
    clock.move_to(tomorrow)
    data = client.get(urls(room_queue)[1]).json()
    assert (data["current"], data["next"]) == (None, [])


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_board_is_read_only(client, room_queue, method):
    for url in urls(room_queue):
        assert getattr(client, method)(url).status_code == 405


def test_an_unknown_room_is_not_found(client, db):
    assert client.get("/board/nowhere/").status_code == 404
    assert client.get("/board/nowhere/data").status_code == 404


def test_the_board_costs_three_queries_whatever_the_queue(
    client, room_queue, staff, django_assert_num_queries
):
    page, data = urls(room_queue)
    session = room_queue.queue_tickets.first().session
    for _ in range(10):
        check_in(booked(session, band=1), staff)

    with django_assert_num_queries(3):
        client.get(data)
    with django_assert_num_queries(3):
        client.get(page)
