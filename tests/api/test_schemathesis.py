"""schemathesis against the live schema: every operation, as a patient and as staff.

The schema is the one /api/v1/schema serves, loaded through the project's WSGI
application, so a new operation is fuzzed as soon as it is routed and documented. Each
operation gets >= 100 generated requests (valid and invalid: both generation modes),
derandomized so a run is repeatable (the seed comes from the test's name), once with
patient A's bearer token and once with front-desk staff's. Every response must be:
no 5xx, a documented status code, a body and content type matching its schema.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.api_fuzz, pytest.mark.django_db]

EXAMPLES = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _InTestTransaction:
    """Django's WSGI application, minus the connection closing at each request's start
    and end (Django's test client does the same): the test's transaction stays open, so
    the requests see the fixtures and everything is rolled back afterwards."""

    def __init__(self) -> None:
        self.app = get_wsgi_application()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return self.app(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v1/schema", _InTestTransaction())
schema.config.generation.update(deterministic=True, max_examples=EXAMPLES)


@pytest.mark.parametrize("caller", ["patient_a", "front_desk"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case, caller, api_world):
    # Throttles would answer 429 (documented) after a few examples and keep the
    # generated requests from the code under test; they have their own tests. The cache
    # is this process's own (api_world), so clearing it touches no other test.
    cache.clear()
    headers = api_world.callers[caller].headers
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
