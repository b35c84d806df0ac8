"""The switch verdict's words: which candidate, and whether the choice holds across settings."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from salesim.experiments.spec import Switch
from salesim.experiments.switch import SwitchResult
from salesim.report import switch


def result(candidate, scenario, npv_values, payback):
    values = np.array(npv_values, dtype=float)
    hw = 4.303 * values.std(ddof=1) / math.sqrt(len(values))
    return SwitchResult(
        candidate=candidate,
        scenario=scenario,
        point=0,
        switch_month=3,
        replications=len(values),
        curve=pd.DataFrame(
            {
                "mean": [0.0],
                "ci95_half_width": [0.0],
                "cum_mean": [1.0],
                "cum_ci95_half_width": [0.0],
            },
            index=[1],
        ),  # fmt: skip
        payback=payback,
        payback_low=payback or math.inf,
        payback_high=payback or math.inf,
        paid_back_share=1.0 if payback else 0.0,
        npv=float(values.mean()),
        npv_hw=hw,
        one_off_cost=1.5e6,
        horizon_months=36,
        npv_values=values,
        replication_ids=list(range(len(values))),
    )


STUDY = SimpleNamespace(
    exp=SimpleNamespace(switch=Switch()),
    currency="CU",
    reference="base",
    swept=[],
    where=lambda point: "",
)


def test_the_recommendation_is_the_best_npv_above_zero_and_says_if_it_beats_the_next():
    cm = result("customer_manager", "base", [10e6, 11e6, 12e6], 9)
    tio = result("three_in_one", "base", [9e6, 10.2e6, 11.1e6], 10)
    text = switch._recommendation([cm, tio], "product", "CU")
    assert text.startswith("Switch to customer_manager")
    assert "Against three_in_one, the next best" in text and "detectably ahead." in text
    close = result("three_in_one", "base", [12e6, 9e6, 12.5e6], 10)
    assert "not detectably ahead" in switch._recommendation([cm, close], "product", "CU")


def test_no_candidate_above_zero_means_stay_or_not_shown_to_pay():
    losing = [result(c, "base", [-3e6, -2e6, -4e6], None) for c in Switch().candidates]
    assert switch._recommendation(losing, "product", "CU").startswith("Stay with product")
    unsure = [result(c, "base", [-3e6, 2e6, 1e6], None) for c in Switch().candidates]
    assert "not shown to pay" in switch._recommendation(unsure, "product", "CU")


def test_the_robustness_sentence_names_the_setting_where_the_decision_changes():
    results = [
        result("customer_manager", "base", [10e6, 11e6, 12e6], 9),
        result("three_in_one", "base", [5e6, 6e6, 7e6], 12),
        result("customer_manager", "slow", [-1e6, 2e6, -2e6], None),
        result("three_in_one", "slow", [-3e6, -2e6, -4e6], None),
    ]
    table, sentence = switch._robustness(STUDY, results, "product")
    assert "switch to customer_manager under the reference assumptions" in sentence
    assert "slow: stay with product" in sentence
    assert "customer_manager pays back from month 9 (base) to beyond the horizon (slow)" in sentence
    decisions = [row[-1]["text"] for row in table["rows"]]
    assert decisions == ["switch to customer_manager", "stay with product"]
    paybacks = [c["attrs"]["payback"] for row in table["rows"] for c in row
                if "payback" in c["attrs"]]  # fmt: skip
    assert paybacks == ["9", "12", "none", "none"]
