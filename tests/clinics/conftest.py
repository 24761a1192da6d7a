import pytest
import time_machine

from tests.clinics.helpers import NOW


@pytest.fixture
def clock():
    """Time stands still at Monday 23 November 2026, 09:00 in Shanghai."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
