"""Links between the patient pages: a doctor's card starts a booking with that doctor, a
full session leads to its waitlist."""

import pytest
from django.urls import reverse

from booking.services import booking_create
from clinics.models import Channel
from tests.booking.test_book_pages import DAY, TODAY, make_session
from tests.factories import DepartmentFactory, DoctorFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def department():
    return DepartmentFactory(code="glaucoma", name="青光眼门诊", name_en="Glaucoma clinic")


@pytest.fixture
def doctor(department):
    return DoctorFactory(department=department, name="李华", name_en="Li Hua")


def test_a_red_flag_check_with_a_doctor_chosen_goes_on_to_their_days(client, department, doctor):
    response = client.get(
        reverse("booking:start"),
        {"red_flags": "no", "department": department.pk, "doctor": doctor.pk},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("booking:session"))
    assert f"doctor={doctor.pk}" in response["Location"]


def test_a_doctors_card_books_with_that_doctor(client, department, doctor):
    page = client.get(reverse("browse-department", args=[department.code]), **EN)

    assert (
        f"{reverse('booking:start')}?department={department.pk}&amp;doctor={doctor.pk}"
        in page.content.decode()
    )


def test_a_full_session_leads_to_its_waitlist(client, department, doctor):
    session = make_session(TODAY + DAY, doctor=doctor, slots=1, online=1)
    holder = PatientFactory()
    booking_create(
        patient=holder,
        slot=session.slots.get(),
        channel=Channel.ONLINE,
        requested_by=holder.account,
    )
    join = f"{reverse('booking:waitlist-join')}?session={session.pk}"

    days = client.get(reverse("booking:session"), {"department": department.pk}, **EN)
    bands = client.get(reverse("booking:slot"), {"session": session.pk}, **EN)

    assert join in days.content.decode()
    assert join in bands.content.decode()
