"""Where each design fails, in a real (tiny) Sobol study: the CSV, the section, the verdict.

Every box in scenario_discovery.csv is checked against the runs themselves: the losing points
are recomputed here from runs.parquet (each customer-manager run against the product run of
the same point and seed, the KPI's declared direction), and the box's limits must give the
coverage and density the CSV states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from report_checks import parse, text_of
from salesim import load_config
from salesim.experiments.discovery import COLUMNS
from salesim.experiments.driver import run_experiment
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.report.build import build_report
from salesim.report.verdict import lower_name

SKILL = "model.staff.cm_line_skill"
TRAVEL = "model.staff.travel_hours_per_region"


@pytest.fixture(scope="module")
def sobol_study(tmp_path_factory):
    """Sobol, N = 4 over two uncertainties: 16 points x 2 designs = 32 short runs."""
    out = tmp_path_factory.mktemp("discovery") / "out"
    cfg = load_config(
        None,
        {
            "model.population.customers": 120,
            "model.staff.sales_staff": 9,
            "model.horizon_days": 42,
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": 1,
                "seed": 1,
                "sweep": {
                    "method": "sobol",
                    "samples": 4,
                    "parameters": [
                        {"path": SKILL, "role": "uncertainty", "bounds": {"low": 0.3, "high": 1}},
                        {"path": TRAVEL, "role": "uncertainty", "bounds": {"low": 0.5, "high": 2}},
                    ],
                },
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return out, build_report(out)


def losing_points(out) -> pd.DataFrame:
    """Per point: the swept values and, per KPI, whether customer managers lose there."""
    runs = pd.read_parquet(out / "runs.parquet")
    runs = runs[runs.status == "ok"]
    cm = runs[runs.design == "customer_manager"].set_index(["point", "seed"])
    base = runs[runs.design == "product"].set_index(["point", "seed"])
    table = cm[[SKILL, TRAVEL]].copy()
    for kpi, o in OUTCOMES.items():
        if kpi in cm and o.direction != 0:
            gap = (cm[kpi] - base.loc[cm.index, kpi]).to_numpy(dtype=float)
            table[kpi] = np.where(np.isfinite(gap), gap * o.direction < 0, np.nan)
    return table.reset_index()


def test_the_csv_has_the_stable_columns_and_boxes_agree_with_the_runs(sobol_study):
    out, _ = sobol_study
    boxes = pd.read_csv(out / "scenario_discovery.csv")
    assert list(boxes.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(boxes) and set(boxes.design) == {"customer_manager"}
    points = losing_points(out)
    for (kpi, _, _), rows in boxes.groupby(["kpi", "design", "box"]):
        p = points[points[kpi].notna()]
        loses = p[kpi].astype(bool)
        inside = np.ones(len(p), dtype=bool)
        for r in rows.itertuples():
            assert r.lower <= r.upper and r.parameter in (SKILL, TRAVEL)
            inside &= (p[r.parameter] >= r.lower) & (p[r.parameter] <= r.upper)
        assert rows.coverage.iloc[0] == pytest.approx((inside & loses).sum() / loses.sum())
        assert rows.density.iloc[0] == pytest.approx((inside & loses).sum() / inside.sum())


def test_every_kpi_that_loses_somewhere_but_not_everywhere_is_said_in_words(sobol_study):
    out, report = sobol_study
    boxes = pd.read_csv(out / "scenario_discovery.csv")
    points = losing_points(out)
    section = parse(report).find(".//details[@id='discovery']")
    text = text_of(section)
    assert "PRIM (Friedman & Fisher 1999, the prim package)" in text
    names = {f.get("id") for f in section.findall(".//figure")}
    mixed = []
    for kpi in ["operating_profit", *[k for k, o in OUTCOMES.items() if o.headline]]:
        if kpi not in points or OUTCOMES[kpi].direction == 0:
            continue
        share = points[kpi].dropna().mean()
        if 0 < share < 1:
            mixed.append(kpi)
            said = (
                f"Customer-manager organisation is worse than Product organisation on "
                f"{lower_name(kpi)}"
            )
            if kpi in set(boxes.kpi):
                assert f"{said} when " in text
                assert f"fig-discovery-base-customer_manager-{kpi}" in names
                png = out / "figures" / f"discovery-base-customer_manager-{kpi}.png"
                assert png.stat().st_size > 5000
            else:  # 16 points: a box of two or three losing points may not be significant
                assert f"{said} at {int(points[kpi].sum())} of 16 points, scattered" in text
        elif share == 1:
            assert f"on {lower_name(kpi)} at every one of the" in text
    assert mixed  # the study is one where customer managers lose somewhere
    # The section's table has a row per box, the same boxes as the CSV.
    rows = section.findall(".//td[@class='conditions']")
    assert sorted((r.get("data-kpi"), int(r.get("data-box"))) for r in rows) == sorted(
        set(zip(boxes.kpi, boxes.box, strict=True))
    )
    assert set(boxes.kpi) <= set(mixed) and len(boxes)  # and at least one box is clear


def test_the_verdict_carries_one_recommendation_apart(sobol_study):
    _, report = sobol_study
    verdict = parse(report).find(".//section[@id='verdict']")
    found = verdict.findall(".//p[@class='recommendation']")
    assert len(found) == 1
    text = text_of(found[0])
    assert text.startswith("Recommendation. ")
    assert text.removeprefix("Recommendation. ").split(" ")[0] in ("Choose", "Keep")
    assert "points of the sweep" in text
