"""How numbers are written: rates in % and points, hours in h, money with its currency label."""

from __future__ import annotations

import math

import pytest

from salesim.report import units

CASES = [
    # (metric, value, half-width, signed, expected)
    ("retention_rate", 0.7147, 0.0052, False, "71.5% ± 0.5 pts"),
    ("retention_rate", 0.063, 0.003, True, "+6.3 pts ± 0.3 pts"),
    ("retention_rate", 0.0004, 0.0003, True, "+0.04 pts ± 0.03 pts"),
    ("mean_response_hours", 3.2728, 0.0544, False, "3.27 h ± 0.05 h"),
    ("mean_response_hours", -0.2093, 0.0359, True, "-0.21 h ± 0.04 h"),
    ("operating_profit", 4.329e8, 2.61e7, False, "432.9 M CNY ± 26.1 M CNY"),
    ("operating_profit", 1.681e8, 5.04e6, True, "+168.1 M CNY ± 5.0 M CNY"),
    ("cost_to_serve", 2.8318e7, 4.65e4, False, "28.32 M CNY ± 0.05 M CNY"),
    ("revenue", 3.5906e9, 1.82e8, False, "3.59 bn CNY ± 0.18 bn CNY"),
    ("customer_lifetime_value", 5.808e5, 1.74e4, True, "+580.8 k CNY ± 17.4 k CNY"),
    ("price_index", 0.97513, 0.00082, False, "0.9751 ± 0.0008"),
    ("contacts_per_need", 1.4375, 0.0096, False, "1.438 ± 0.010"),
    ("customers_at_start", 1500.0, 0.0, False, "1,500 ± 0"),
    ("requests", 41315.5, 338.1, False, "41,316 ± 338"),
]


@pytest.mark.parametrize(("metric", "x", "hw", "signed", "expected"), CASES)
def test_a_value_and_its_interval_share_one_unit_and_scale(metric, x, hw, signed, expected):
    assert units.with_ci(metric, x, hw, signed=signed, currency="CNY") == expected


def test_missing_values_and_intervals():
    assert units.with_ci("retention_rate", math.nan, 0.01) == "–"
    assert units.with_ci("retention_rate", 0.5, math.nan) == "50.0%"
    assert units.value("operating_profit", 12.0) == "12.0 CU"  # the default currency label
    assert units.half_width("retention_rate", 0.012) == "1.2 pts"
    assert units.half_width("operating_profit", 1.2e7, currency="CNY") == "12.0 M CNY"
