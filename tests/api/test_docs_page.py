"""The API's docs page works without internet: its scripts are this project's static files."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_nothing_from_another_site(client):
    page = client.get("/api/v1/docs").content.decode()

    sources = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert sources, page
    for source in sources:
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/")), source
    assert "cdn" not in page.lower()
    assert 'spec-url="/api/v1/schema"' in page or "/api/v1/schema" in page


def test_the_schema_names_no_body_input_or_output(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    names = set(schema["components"]["schemas"])
    assert not {"Input", "Output"} & names
    assert not [n for n in names if n.endswith(("InputRequest", "Output"))], sorted(names)


def test_an_unknown_api_address_answers_in_the_error_shape(client):
    response = client.get("/api/v1/bookings/not-a-number")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert "html" in client.get("/no-such-page").headers["Content-Type"]
