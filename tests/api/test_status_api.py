"""The status and staff closure endpoints in the schema: real serializers as named
components, enums for every choice, every error code with an example. The JSON itself
is pinned by tests/booking/test_status.py."""

import pytest
from django.contrib.auth.models import Permission

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def test_the_status_is_described_by_named_components(schema):
    components = schema["components"]["schemas"]
    ok = schema["paths"]["/api/v1/status"]["get"]["responses"]["200"]

    assert ok["content"]["application/json"]["schema"] == ref("Status")
    status = components["Status"]["properties"]
    assert status["departments"]["items"] == ref("DepartmentStatus")
    assert status["closures"]["items"] == ref("StatusClosure")
    assert status["notices"]["items"] == ref("StatusNotice")
    department = components["DepartmentStatus"]["properties"]
    assert department["channels"] == ref("DepartmentChannels")
    assert components["DepartmentChannels"]["properties"] == {
        "online": ref("ChannelState"),
        "phone": ref("ChannelState"),
        "walkin": ref("ChannelState"),
    }
    assert components["ChannelState"]["properties"]["state"] == ref("ChannelStateEnum")
    assert components["LocalizedText"]["required"] == ["en", "zh-hans"]
    closure = components["StatusClosure"]["properties"]
    assert closure["scope"] == ref("ClosureScopeEnum")
    assert closure["reason"] == ref("ClosureReasonEnum")
    assert closure["channels"]["items"] == ref("PatientFacingChannelEnum")
    assert closure["target"]["allOf"] == [ref("LocalizedText")]
    assert closure["target"]["nullable"] is True
    assert components["StatusNotice"]["properties"]["severity"] == ref("NoticeSeverityEnum")


def test_the_enums_list_every_value(schema):
    components = schema["components"]["schemas"]

    def values(name):
        return components[name]["enum"]

    assert values("ChannelStateEnum") == ["open", "closed", "partial"]
    assert values("PatientFacingChannelEnum") == ["online", "phone", "walkin"]
    assert values("ClosureScopeEnum") == ["hospital", "department", "doctor", "session"]
    assert values("ClosureReasonEnum") == [
        "maintenance",
        "capacity",
        "security",
        "doctor_unavailable",
        "other",
    ]
    assert values("NoticeSeverityEnum") == ["info", "warning", "critical"]
    assert values("LanguageEnum") == ["zh-hans", "en"]


def error_codes(operation: dict, status: str) -> set[str]:
    content = operation["responses"][status]["content"]["application/json"]
    assert content["schema"] == ref("Error")
    return {example["value"]["code"] for example in content["examples"].values()}


def test_the_staff_closures_document_bodies_and_errors(schema):
    closures = schema["paths"]["/api/v1/staff/closures"]
    reopen = schema["paths"]["/api/v1/staff/closures/{closure_id}/reopen"]["post"]
    create = closures["post"]

    assert create["requestBody"]["content"]["application/json"]["schema"] == ref(
        "ClosureCreateRequest"
    )
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == ref("Closure")
    assert error_codes(create, "400") == {
        "invalid",
        "closure_no_channel",
        "closure_target_mismatch",
        "closure_ends_before_start",
        "closure_already_over",
        "closure_notice_missing",
        "closure_notice_too_long",
    }
    assert error_codes(create, "401") == {"not_authenticated"}
    assert error_codes(create, "403") == {"permission_denied"}
    assert error_codes(create, "429") == {"throttled"}
    assert closures["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": ref("Closure"),
    }
    assert reopen["requestBody"]["content"]["application/json"]["schema"] == ref(
        "ClosureReopenRequest"
    )
    assert error_codes(reopen, "409") == {"closure_already_ended"}
    assert error_codes(reopen, "404") == {"not_found"}
    request = schema["components"]["schemas"]["ClosureCreateRequest"]["properties"]
    assert request["channels"]["items"] == ref("PatientFacingChannelEnum")
    assert request["reason"] == ref("ClosureReasonEnum")
    assert request["scope"] == ref("ClosureScopeEnum")


def test_the_auth_operations_document_every_refusal(schema):
    code = schema["paths"]["/api/v1/auth/code"]["post"]
    token = schema["paths"]["/api/v1/auth/token"]
    staff = schema["paths"]["/api/v1/auth/staff-token"]["post"]

    assert set(code["responses"]) == {"202", "400", "405", "415", "429"}
    assert error_codes(code, "400") == {"invalid", "invalid_phone"}
    assert error_codes(code, "429") == {
        "throttled",
        "code_too_soon",
        "code_daily_limit",
        "code_ip_limit",
    }
    assert error_codes(token["post"], "400") == {
        "invalid",
        "invalid_phone",
        "code_expired",
        "code_wrong",
        "code_locked",
    }
    assert error_codes(token["post"], "403") == {"sign_in_not_allowed"}
    assert set(token["delete"]["responses"]) == {"204", "401", "405", "429"}
    assert token["delete"]["security"] == [{"bearerAuth": []}]
    assert error_codes(staff, "400") == {"invalid", "invalid_credentials"}
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.fixture
def ops(db):
    user = factories.StaffFactory()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_closure", "add_closure"])
    )
    return user


def test_an_unknown_channel_or_reason_is_a_validation_error(client, ops):
    department = factories.DepartmentFactory()
    client.force_login(ops)

    response = client.post(
        "/api/v1/staff/closures",
        {
            "scope": "department",
            "target_id": department.pk,
            "channels": ["reserved"],
            "reason": "lunch",
            "notice": "暂停",
            "notice_en": "Paused",
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"channels", "reason"}
