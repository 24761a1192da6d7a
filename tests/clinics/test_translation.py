"""The catalogue in Chinese and English: the fields, the fallback, the admin, the migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from clinics.models import Department, Doctor
from clinics.translation import text_in, texts
from tests.factories import DepartmentFactory, DoctorFactory, RoomFactory

# Every patient-visible catalogue field: (factory, field, Chinese, English).
FIELDS = [
    (DepartmentFactory, "name", "白内障专科", "Cataract clinic"),
    (DepartmentFactory, "location", "门诊楼 3 层 A 区", "Outpatient building, 3rd floor, area A"),
    (DoctorFactory, "name", "王建国", "Wang Jianguo"),
    (DoctorFactory, "specialties", "复杂白内障、人工晶体", "complex cataract, intraocular lenses"),
    (DoctorFactory, "bio", "主任医师，擅长复杂白内障。", "Chief physician, complex cataract."),
    (RoomFactory, "name", "白内障诊室", "Cataract consulting room"),
]
FIELD_IDS = [f"{factory._meta.model.__name__}.{field}" for factory, field, *_ in FIELDS]


@pytest.mark.django_db
@pytest.mark.parametrize(("factory", "field", "chinese", "english"), FIELDS, ids=FIELD_IDS)
def test_each_field_reads_the_active_language(factory, field, chinese, english):
    row = factory(**{field: chinese, f"{field}_en": english})
    row = type(row).objects.get(pk=row.pk)

    with translation.override("zh-hans"):
        assert getattr(row, field) == chinese
    with translation.override("en"):
        assert getattr(row, field) == english
    assert text_in(row, field, "en") == english
    assert texts(row, field) == {"zh-hans": chinese, "en": english}


@pytest.mark.django_db
@pytest.mark.parametrize("empty", ["", None])
@pytest.mark.parametrize(("factory", "field", "chinese", "english"), FIELDS, ids=FIELD_IDS)
def test_each_field_falls_back_to_chinese_while_its_english_is_empty(
    factory, field, chinese, english, empty
):
    row = factory(**{field: chinese, f"{field}_en": empty})
    row = type(row).objects.get(pk=row.pk)

    with translation.override("en"):
        assert getattr(row, field) == chinese
    assert texts(row, field) == {"zh-hans": chinese, "en": chinese}


@pytest.mark.django_db
def test_a_plain_name_is_the_chinese_text_whatever_the_active_language():
    # given a test (or a command) running in English, like the shared fixtures
    with translation.override("en"):
        department = DepartmentFactory(name="眼科", name_en="Ophthalmology")

    department = Department.objects.get(pk=department.pk)
    assert (department.name_zh_hans, department.name_en) == ("眼科", "Ophthalmology")


@pytest.mark.django_db
def test_lookups_and_ordering_use_the_active_language():
    DoctorFactory(name="王建国", name_en="Wang Jianguo")
    DoctorFactory(name="李淑珍", name_en="Li Shuzhen")

    with translation.override("en"):
        assert list(Doctor.objects.filter(name="Wang Jianguo").values_list("name_zh_hans")) == [
            ("王建国",)
        ]
        assert [d.name for d in Doctor.objects.order_by("name")] == ["Li Shuzhen", "Wang Jianguo"]


# --- the admin ------------------------------------------------------------------------


LANGS = ("zh_hans", "en")


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("department", [f"{field}_{lang}" for field in ("name", "location") for lang in LANGS]),
        (
            "doctor",
            [f"{field}_{lang}" for field in ("name", "specialties", "bio") for lang in LANGS],
        ),
        ("room", [f"name_{lang}" for lang in LANGS]),
    ],
)
def test_the_admin_edits_both_languages(admin_client, model, fields):
    row = {"department": DepartmentFactory, "doctor": DoctorFactory, "room": RoomFactory}[model]()

    page = admin_client.get(reverse(f"admin:clinics_{model}_change", args=[row.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    for field in fields:
        assert f'name="{field}"' in html
    # The untranslated field is not a third, ambiguous input.
    assert 'name="name"' not in html


@pytest.mark.django_db
def test_the_admin_saves_both_names_of_a_department(admin_client):
    response = admin_client.post(
        reverse("admin:clinics_department_add"),
        {
            "code": "retina",
            "name_zh_hans": "眼底病专科",
            "name_en": "Retina clinic",
            "location_zh_hans": "门诊楼 3 层 C 区",
            "location_en": "",
            "phone": "",
            "sort_order": 4,
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    department = Department.objects.get(code="retina")
    assert (department.name_zh_hans, department.name_en) == ("眼底病专科", "Retina clinic")
    assert texts(department, "location") == {
        "zh-hans": "门诊楼 3 层 C 区",
        "en": "门诊楼 3 层 C 区",
    }


@pytest.mark.django_db
def test_the_admin_lists_and_finds_both_names(admin_client):
    RoomFactory(name="白内障诊室", name_en="Cataract consulting room")

    page = admin_client.get(reverse("admin:clinics_room_changelist"), {"q": "consulting"})

    html = page.content.decode()
    assert "白内障诊室" in html and "Cataract consulting room" in html


# --- the migration --------------------------------------------------------------------

MIGRATION = ("clinics", "0004_catalogue_translations")


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_english_names_and_copies_the_chinese_text():
    executor = MigrationExecutor(connection)
    [before] = [
        dependency
        for dependency in executor.loader.get_migration(*MIGRATION).dependencies
        if dependency[0] == "clinics"
    ]
    executor.migrate([before])
    try:
        # given the catalogue as it was: one text column, and name_en on two models
        old = executor.loader.project_state([before]).apps
        department = old.get_model("clinics", "Department").objects.create(
            code="cataract", name="白内障专科", name_en="Cataract clinic", location="3 层 A 区"
        )
        doctor = old.get_model("clinics", "Doctor").objects.create(
            department_id=department.pk,
            name="王建国",
            name_en="Wang Jianguo",
            title="chief",
            level="expert",
            fee=100,
            specialties="白内障",
            bio="擅长白内障。",
        )
        room = old.get_model("clinics", "Room").objects.create(
            department_id=department.pk, code="3-01", name="白内障诊室"
        )

        # when
        executor = MigrationExecutor(connection)
        executor.migrate([MIGRATION])

        # then the same rows carry both languages, the English names untouched
        new = executor.loader.project_state([MIGRATION]).apps
        department = new.get_model("clinics", "Department").objects.get(pk=department.pk)
        doctor = new.get_model("clinics", "Doctor").objects.get(pk=doctor.pk)
        room = new.get_model("clinics", "Room").objects.get(pk=room.pk)
        assert (department.name_zh_hans, department.name_en) == ("白内障专科", "Cataract clinic")
        assert (department.location_zh_hans, department.location_en) == ("3 层 A 区", None)
        assert (doctor.name_zh_hans, doctor.name_en) == ("王建国", "Wang Jianguo")
        assert (doctor.specialties_zh_hans, doctor.bio_zh_hans) == ("白内障", "擅长白内障。")
        assert (room.name_zh_hans, room.name_en) == ("白内障诊室", None)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
