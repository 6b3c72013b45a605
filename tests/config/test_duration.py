from __future__ import annotations

from datetime import timedelta

import pytest

from layer_webhooks import InvalidDuration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (1500, 1.5),
        (600000, 600.0),
        (2.5, 0.0025),
        (timedelta(minutes=2), 120.0),
        ("100ms", 0.1),
        ("100", 0.1),
        ("20sec", 20.0),
        ("20 secs", 20.0),
        ("1s", 1.0),
        ("10 minutes", 600.0),
        ("5m", 300.0),
        ("2 mins", 120.0),
        ("1h", 3600.0),
        ("2 hrs", 7200.0),
        ("1.5 days", 129600.0),
        ("1d", 86400.0),
        ("1 week", 604800.0),
        ("1y", 31557600.0),
        (".5h", 1800.0),
        ("10 MINUTES", 600.0),
        ("  3 seconds ", 3.0),
    ],
)
def test_parses_like_the_node_module(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["", "ten minutes", "10 fortnights", "1h30m", "-5s", -1, float("nan"), float("inf"), True, None, [1], "1" * 200],
)
def test_refuses_anything_else(value: object) -> None:
    with pytest.raises(InvalidDuration) as info:
        parse_duration(value)  # type: ignore[arg-type]
    assert info.value.value == value or value != value  # NaN is not equal to itself
    assert isinstance(info.value, ValueError)
