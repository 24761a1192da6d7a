import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026, 09:00 in Shanghai: after the 07:00 daily release.
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    """Time stands still at NOW unless a test moves it (`clock.move_to(...)`)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
