"""factory_boy factories shared by every test folder."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from modeltranslation.translator import translator
from stdnum.cn import ric

from booking.models import BookingPolicy
from clinics.models import (
    Channel,
    ClinicLevel,
    Department,
    Doctor,
    HalfDay,
    Quota,
    Room,
    ScheduleTemplate,
    Session,
    Slot,
)
from patients.models import Account, Patient

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def resident_id(*, birth_date: datetime.date, sequence: int = 1, area: str = "110105") -> str:
    """A valid GB 11643 number; an odd sequence is a man, an even one a woman."""
    body = f"{area}{birth_date:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"1380000{n:04d}")
    phone = factory.SelfAttribute("username")
    language = Account.Language.ZH_HANS


class StaffFactory(AccountFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    phone = None
    is_staff = True


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    account = factory.SubFactory(AccountFactory)
    real_name = factory.Sequence(lambda n: f"患者{n}")
    document_type = Patient.DocumentType.RESIDENT_ID
    birth_date = datetime.date(1956, 3, 14)
    document_number = factory.LazyAttribute(
        lambda o: resident_id(birth_date=o.birth_date, sequence=o.id_sequence)
    )
    sex = factory.LazyAttribute(lambda o: "M" if o.id_sequence % 2 else "F")
    phone = factory.LazyAttribute(lambda o: o.account.phone or "")
    medical_record_number = factory.Sequence(lambda n: f"T{n:09d}")

    class Params:
        id_sequence = factory.Sequence(lambda n: (n % 999) + 1)


class CatalogueFactory(factory.django.DjangoModelFactory):
    """`name="眼科"` is the Chinese text, whichever language a test has active
    (modeltranslation would write a plain `name` into the active language's column)."""

    class Meta:
        abstract = True

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        for field in translator.get_options_for_model(cls._meta.model).fields:
            if field in kwargs:
                kwargs.setdefault(f"{field}_zh_hans", kwargs.pop(field))
        return kwargs


class DepartmentFactory(CatalogueFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"眼科{n}")
    name_en = factory.Sequence(lambda n: f"Eye clinic {n}")


class DoctorFactory(CatalogueFactory):
    class Meta:
        model = Doctor

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"医生{n}")
    name_en = factory.Sequence(lambda n: f"Doctor {n}")
    title = Doctor.Title.CHIEF
    level = ClinicLevel.EXPERT
    fee = Decimal("100.00")


class RoomFactory(CatalogueFactory):
    class Meta:
        model = Room

    department = factory.SubFactory(DepartmentFactory)
    code = factory.Sequence(lambda n: f"R{n:03d}")
    name = factory.Sequence(lambda n: f"诊室{n}")


class ScheduleTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleTemplate

    doctor = factory.SubFactory(DoctorFactory)
    department = factory.SelfAttribute("doctor.department")
    room = factory.SubFactory(RoomFactory, department=factory.SelfAttribute("..department"))
    weekday = 0
    half_day = HalfDay.MORNING
    level = factory.SelfAttribute("doctor.level")
    start_time = datetime.time(8, 0)
    slot_minutes = 30
    slot_count = 5
    places_per_slot = 3


class SessionFactory(factory.django.DjangoModelFactory):
    """A session on `date` (default: tomorrow in Shanghai) starting at 08:00 local."""

    class Meta:
        model = Session

    doctor = factory.SubFactory(DoctorFactory)
    department = factory.SelfAttribute("doctor.department")
    room = factory.SubFactory(RoomFactory, department=factory.SelfAttribute("..department"))
    date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=1))
    half_day = HalfDay.MORNING
    level = factory.SelfAttribute("doctor.level")
    fee = factory.SelfAttribute("doctor.fee")
    starts_at = factory.LazyAttribute(
        lambda o: datetime.datetime.combine(o.date, datetime.time(8, 0), tzinfo=SHANGHAI)
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=4))


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    session = factory.SubFactory(SessionFactory)
    starts_at = factory.SelfAttribute("session.starts_at")
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(minutes=30))


class QuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quota

    slot = factory.SubFactory(SlotFactory)
    channel = Channel.ONLINE
    capacity = 3
    booked = 0


class BookingPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BookingPolicy
        django_get_or_create = ("department",)

    department = factory.SubFactory(DepartmentFactory)


def slot_with_quotas(*, session=None, starts_at=None, **capacities: int) -> Slot:
    """A slot with one quota per channel named: `slot_with_quotas(online=3, walkin=1)`."""
    session = session or SessionFactory()
    slot = SlotFactory(session=session, starts_at=starts_at or session.starts_at)
    for channel, capacity in capacities.items():
        QuotaFactory(slot=slot, channel=channel, capacity=capacity)
    return slot
