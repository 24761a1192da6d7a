from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinics.exceptions import InvalidScheduleTemplate
from clinics.services import CHANNEL_ORDER, quota_split


def split(online: int, phone: int, walkin: int, reserved: int) -> dict[str, int]:
    return {"online": online, "phone": phone, "walkin": walkin, "reserved": reserved}


@pytest.mark.parametrize(
    ("places", "percents", "expected"),
    [
        (10, split(60, 10, 30, 0), split(6, 1, 3, 0)),
        # 1.8 / 0.3 / 0.9 / 0: the two largest remainders (walk-in .9, online .8) round up.
        (3, split(60, 10, 30, 0), split(2, 0, 1, 0)),
        (1, split(60, 10, 30, 0), split(1, 0, 0, 0)),
        (7, split(60, 10, 30, 0), split(4, 1, 2, 0)),
        (0, split(60, 10, 30, 0), split(0, 0, 0, 0)),
        (5, split(100, 0, 0, 0), split(5, 0, 0, 0)),
        (4, split(0, 0, 0, 100), split(0, 0, 0, 4)),
        # Ties go in channel order: online, phone, walk-in, reserved.
        (1, split(50, 50, 0, 0), split(1, 0, 0, 0)),
        (1, split(0, 50, 50, 0), split(0, 1, 0, 0)),
        (2, split(25, 25, 25, 25), split(1, 1, 0, 0)),
        (3, split(25, 25, 25, 25), split(1, 1, 1, 0)),
        (6, split(34, 33, 33, 0), split(2, 2, 2, 0)),
    ],
)
def test_quota_split_rounds_by_largest_remainder(places, percents, expected):
    assert quota_split(places=places, split=percents) == expected


def test_quota_split_gives_every_channel_a_part_even_when_missing_from_the_split():
    assert quota_split(places=4, split={"online": 50, "walkin": 50}) == split(2, 0, 2, 0)


@pytest.mark.parametrize(
    "percents",
    [
        split(60, 10, 20, 0),  # 90
        split(60, 10, 30, 10),  # 110
        split(110, -10, 0, 0),
        {"online": 70, "fax": 30},
    ],
)
def test_quota_split_refuses_a_split_that_is_not_100_percent(percents):
    with pytest.raises(InvalidScheduleTemplate) as refused:
        quota_split(places=3, split=percents)

    assert refused.value.code == "invalid_schedule_template"
    assert refused.value.detail == (
        "The schedule template is not valid: "
        "the channel percentages must each be 0 to 100 and add up to 100"
    )


def test_quota_split_refuses_negative_places():
    with pytest.raises(InvalidScheduleTemplate):
        quota_split(places=-1, split=split(60, 10, 30, 0))


@st.composite
def percentages(draw) -> dict[str, int]:
    """Four whole percentages adding up to 100: three cuts of 0..100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)))
    bounds = [0, *cuts, 100]
    return {
        channel: bounds[index + 1] - bounds[index] for index, channel in enumerate(CHANNEL_ORDER)
    }


@given(places=st.integers(1, 200), percents=percentages())
def test_quota_split_properties(places, percents):
    parts = quota_split(places=places, split=percents)

    assert sum(parts.values()) == places
    assert set(parts) == set(CHANNEL_ORDER)
    for channel, part in parts.items():
        exact = Fraction(places * percents[channel], 100)
        assert abs(part - exact) < 1
        if percents[channel] == 0:
            assert part == 0
    # Deterministic: the same input gives the same split.
    assert quota_split(places=places, split=dict(reversed(percents.items()))) == parts
