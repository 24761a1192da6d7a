"""Deterministic demo data the size of the motivating clinic.

The eye department and its six sub-clinics, 15 doctors, a week of templates (expert
sessions of 15 places, general sessions of 35), sessions for the coming week, a
demo account with two patients, and some bookings. Safe to run again: nothing is
duplicated.
"""

import datetime
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Model
from django.utils import timezone, translation
from stdnum.cn import ric

from booking.models import Booking, BookingPolicy
from booking.selectors import session_horizon
from booking.services import booking_create
from clinics.models import ClinicLevel, Department, Doctor, HalfDay, Room, ScheduleTemplate, Slot
from clinics.services import sessions_generate
from core.errors import YuyueError
from patients.models import Account, Patient
from patients.services import account_create, patient_create

DEMO_ADMIN = ("admin", "yuyue-demo-2026")
# One demo member per staff role (staff/roles.py groups, made by the staff migration),
# same password as the admin; the doctor's account is 王建国's.
DEMO_STAFF = (("desk", "front_desk"), ("ops", "ops"), ("doctor", "doctor"))
DEMO_PHONE = "13800138000"

DEPARTMENTS = [
    ("ophthalmology", "眼科", "Ophthalmology", None, "门诊楼 3 层"),
    ("cataract", "白内障专科", "Cataract clinic", "ophthalmology", "门诊楼 3 层 A 区"),
    ("glaucoma", "青光眼专科", "Glaucoma clinic", "ophthalmology", "门诊楼 3 层 B 区"),
    ("retina", "眼底病专科", "Retina clinic", "ophthalmology", "门诊楼 3 层 C 区"),
    ("cornea", "角膜病专科", "Cornea clinic", "ophthalmology", "门诊楼 3 层 D 区"),
    ("paediatric", "小儿眼科", "Paediatric ophthalmology", "ophthalmology", "门诊楼 2 层"),
    ("optometry", "视光中心", "Optometry centre", "ophthalmology", "门诊楼 2 层"),
]

C, A, T = Doctor.Title.CHIEF, Doctor.Title.ASSOCIATE_CHIEF, Doctor.Title.ATTENDING
E, G = ClinicLevel.EXPERT, ClinicLevel.GENERAL
# name, pinyin, department, title, level, fee, specialties
DOCTORS = [
    ("王建国", "Wang Jianguo", "cataract", C, E, "100", "复杂白内障、人工晶体"),
    ("李淑珍", "Li Shuzhen", "glaucoma", C, E, "100", "青光眼、视神经疾病"),
    ("陈志强", "Chen Zhiqiang", "retina", C, E, "100", "糖尿病视网膜病变、黄斑病"),
    ("刘芳", "Liu Fang", "cornea", A, E, "80", "角膜炎、干眼、角膜移植"),
    ("赵明", "Zhao Ming", "paediatric", A, E, "80", "斜视、弱视、儿童近视"),
    ("孙丽华", "Sun Lihua", "retina", A, E, "80", "视网膜脱离、玻璃体手术"),
    ("周涛", "Zhou Tao", "cataract", A, E, "80", "白内障、屈光手术"),
    ("吴静", "Wu Jing", "ophthalmology", T, G, "50", "眼科常见病"),
    ("郑伟", "Zheng Wei", "ophthalmology", T, G, "50", "眼科常见病、眼外伤"),
    ("冯雪梅", "Feng Xuemei", "ophthalmology", T, G, "50", "结膜炎、睑板腺功能障碍"),
    ("何军", "He Jun", "ophthalmology", T, G, "50", "眼科常见病"),
    ("马秀兰", "Ma Xiulan", "glaucoma", T, G, "50", "青光眼随访"),
    ("胡斌", "Hu Bin", "optometry", T, G, "50", "验光配镜、角膜塑形"),
    ("林晓燕", "Lin Xiaoyan", "paediatric", T, G, "50", "儿童验光、弱视训练"),
    ("高鹏", "Gao Peng", "cornea", T, G, "50", "干眼、角膜病随访"),
]

# The English text of the tables' Chinese locations and specialties.
ENGLISH = {
    "门诊楼 2 层": "Outpatient building, 2nd floor",
    "门诊楼 3 层": "Outpatient building, 3rd floor",
    "门诊楼 3 层 A 区": "Outpatient building, 3rd floor, area A",
    "门诊楼 3 层 B 区": "Outpatient building, 3rd floor, area B",
    "门诊楼 3 层 C 区": "Outpatient building, 3rd floor, area C",
    "门诊楼 3 层 D 区": "Outpatient building, 3rd floor, area D",
    "复杂白内障、人工晶体": "complex cataract, intraocular lenses",
    "青光眼、视神经疾病": "glaucoma, optic nerve disease",
    "糖尿病视网膜病变、黄斑病": "diabetic retinopathy, macular disease",
    "角膜炎、干眼、角膜移植": "keratitis, dry eye, corneal transplant",
    "斜视、弱视、儿童近视": "squint, lazy eye, short sight in children",
    "视网膜脱离、玻璃体手术": "retinal detachment, vitreous surgery",
    "白内障、屈光手术": "cataract, refractive surgery",
    "眼科常见病": "common eye conditions",
    "眼科常见病、眼外伤": "common eye conditions, eye injuries",
    "结膜炎、睑板腺功能障碍": "conjunctivitis, meibomian gland dysfunction",
    "青光眼随访": "glaucoma follow-up",
    "验光配镜、角膜塑形": "eye tests and glasses, orthokeratology",
    "儿童验光、弱视训练": "children's eye tests, lazy eye training",
    "干眼、角膜病随访": "dry eye, corneal disease follow-up",
}

EXPERT_SESSION = {"slot_count": 5, "places_per_slot": 3}  # 15 places
GENERAL_SESSION = {"slot_count": 7, "places_per_slot": 5}  # 35 places
HALF_DAY_START = {HalfDay.MORNING: datetime.time(8, 0), HalfDay.AFTERNOON: datetime.time(13, 30)}


class Command(BaseCommand):
    help = "Load deterministic demo data: the eye clinic, a week of sessions, a demo account."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # The demo's staff password is public (README, Makefile): never in production.
            raise CommandError(
                "seed_demo makes accounts with published passwords and runs only with "
                "DJANGO_DEBUG=true (development), never in production."
            )
        departments = self._departments()
        doctors = self._doctors(departments)
        self._templates(doctors)
        result = sessions_generate(horizon_days=session_horizon())
        admin = self._admin()
        self._staff(doctors)
        patients = self._demo_patients()
        booked = self._bookings(patients, admin)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(departments)} departments, {len(doctors)} doctors, "
                f"{result.sessions_created} new sessions, {booked} bookings made. "
                f"Staff login {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]} (also "
                f"{', '.join(name for name, _ in DEMO_STAFF)} with the same password); "
                f"demo patient phone {DEMO_PHONE}."
            )
        )

    def _departments(self) -> dict[str, Department]:
        departments: dict[str, Department] = {}
        for order, (code, name, name_en, parent, location) in enumerate(DEPARTMENTS):
            texts = {
                "name_zh_hans": name,
                "name_en": name_en,
                "location_zh_hans": location,
                "location_en": ENGLISH[location],
            }
            departments[code], _ = Department.objects.get_or_create(
                code=code,
                defaults={
                    **texts,
                    "parent": departments.get(parent) if parent else None,
                    "phone": "010-0000-0000",
                    "sort_order": order,
                },
            )
            _fill_blank(departments[code], texts)
        BookingPolicy.objects.get_or_create(department=departments["ophthalmology"])
        return departments

    def _doctors(self, departments: dict[str, Department]) -> list[Doctor]:
        doctors = []
        for name, pinyin, code, title, level, fee, specialties in DOCTORS:
            with translation.override("zh-hans"):
                bio = f"{Doctor.Title(title).label}，擅长{specialties}。"
            with translation.override("en"):
                bio_en = f"{Doctor.Title(title).label}, special interests: {ENGLISH[specialties]}."
            texts = {
                "name_en": pinyin,
                "specialties_zh_hans": specialties,
                "specialties_en": ENGLISH[specialties],
                "bio_zh_hans": bio,
                "bio_en": bio_en,
            }
            doctor, _ = Doctor.objects.get_or_create(
                name_zh_hans=name,
                department=departments[code],
                defaults={**texts, "title": title, "level": level, "fee": Decimal(fee)},
            )
            _fill_blank(doctor, texts)
            doctors.append(doctor)
        return doctors

    def _templates(self, doctors: list[Doctor]) -> None:
        """Every day: one expert morning (15) and two general half-days (70)."""
        experts = [d for d in doctors if d.level == ClinicLevel.EXPERT]
        generals = [d for d in doctors if d.level == ClinicLevel.GENERAL]
        plan = []
        for weekday in range(7):
            plan.append((experts[weekday % len(experts)], weekday, HalfDay.MORNING))
            plan.append((generals[(2 * weekday) % len(generals)], weekday, HalfDay.MORNING))
            plan.append((generals[(2 * weekday + 1) % len(generals)], weekday, HalfDay.AFTERNOON))
        for doctor, weekday, half_day in plan:
            texts = {
                "name_zh_hans": f"{doctor.department.name_zh_hans}诊室",
                "name_en": f"{doctor.department.name_en} consulting room",
            }
            room, _ = Room.objects.get_or_create(
                code=f"3-{doctor.pk:02d}", defaults={"department": doctor.department, **texts}
            )
            _fill_blank(room, texts)
            shape = EXPERT_SESSION if doctor.level == ClinicLevel.EXPERT else GENERAL_SESSION
            ScheduleTemplate.objects.get_or_create(
                doctor=doctor,
                weekday=weekday,
                half_day=half_day,
                is_active=True,
                defaults={
                    "department": doctor.department,
                    "room": room,
                    "level": doctor.level,
                    "start_time": HALF_DAY_START[half_day],
                    "slot_minutes": 30,
                    **shape,
                },
            )

    def _admin(self) -> Account:
        username, password = DEMO_ADMIN
        admin = get_user_model().objects.filter(username=username).first()
        if admin is None:
            admin = get_user_model().objects.create_superuser(username=username, password=password)
        return admin

    def _staff(self, doctors: list[Doctor]) -> None:
        """A member of each role, so the desk, ops and doctor views can be tried."""
        users = get_user_model()
        for username, role in DEMO_STAFF:
            member = users.objects.filter(username=username).first()
            if member is None:
                member = users.objects.create_user(
                    username=username, password=DEMO_ADMIN[1], is_staff=True
                )
            member.groups.add(Group.objects.get(name=role))
            if role == "doctor" and doctors and doctors[0].account_id is None:
                doctors[0].account = member
                doctors[0].save(update_fields=["account"])

    def _demo_patients(self) -> list[Patient]:
        account = Account.objects.filter(phone=DEMO_PHONE).first() or account_create(
            phone=DEMO_PHONE
        )
        people = [
            ("张伟", "self", "110105198203154311"),
            ("张秀英", "parent", "110105195107082024"),
        ]
        patients = []
        for name, relationship, body in people:
            number = body[:17] + ric.calc_check_digit(body[:17] + "0")
            patient = Patient.objects.filter(account=account, document_number=number).first()
            if patient is None:
                patient = patient_create(
                    account=account,
                    real_name=name,
                    relationship=relationship,
                    document_type=Patient.DocumentType.RESIDENT_ID,
                    document_number=number,
                    phone=DEMO_PHONE,
                )
            patients.append(patient)
        return patients

    def _bookings(self, demo_patients: list[Patient], admin: Account) -> int:
        """A few bookings for the demo family and a deterministic spread of others."""
        rng = random.Random(2026)  # noqa: S311 - demo data, not security
        today = timezone.localdate()
        slots = list(
            Slot.objects.filter(
                session__date__range=(
                    today + datetime.timedelta(days=1),
                    today + datetime.timedelta(days=5),
                )
            )
            .select_related("session")
            .order_by("starts_at", "pk")
        )
        if not slots:
            return 0
        made = 0
        family_slots = [slots[0], slots[len(slots) // 2]]
        for patient, slot in zip(demo_patients, family_slots, strict=True):
            made += self._try_book(patient, slot, patient.account, key=f"seed-family-{patient.pk}")
        for n in range(40):
            phone = f"1390000{n:04d}"
            account = Account.objects.filter(phone=phone).first() or account_create(phone=phone)
            patient = account.patients.first() or patient_create(
                account=account,
                real_name=f"示例患者{n + 1}",
                document_type=Patient.DocumentType.PASSPORT,
                document_number=f"E{10000000 + n}",
                birth_date=datetime.date(1940 + n, 1 + n % 12, 1 + n % 28),
                sex="M" if n % 2 else "F",
                phone=phone,
            )
            made += self._try_book(patient, rng.choice(slots), account, key=f"seed-{n}")
        return made

    def _try_book(self, patient: Patient, slot: Slot, account: Account, *, key: str) -> int:
        before = Booking.objects.count()
        try:
            booking_create(
                patient=patient,
                slot=slot,
                channel="online",
                requested_by=account,
                idempotency_key=key,
            )
        except YuyueError:
            return 0  # full, or a rule refused it: demo data takes what it can get
        return Booking.objects.count() - before


def _fill_blank(row: Model, texts: dict[str, str]) -> None:
    """Give a row made by an older seed the text it lacks (English names, locations...),
    leaving any text staff have written since."""
    blank = [field for field in texts if not getattr(row, field)]
    for field in blank:
        setattr(row, field, texts[field])
    if blank:
        row.save(update_fields=blank)
