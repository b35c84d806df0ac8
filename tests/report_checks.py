"""Checks shared by the report tests: parse the page, and what a verdict should be."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from salesim.model.inputs.outcomes import OUTCOMES


def parse(path):
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>"))


def text_of(element) -> str:
    return ET.tostring(element, encoding="unicode", method="text")


def expected_verdict(row: pd.Series, prefix: str, metric: str) -> str:
    """Better / worse / none from the paired CI's side of zero and the KPI's declared direction."""
    d, h = row[f"{prefix}_mean"], row[f"{prefix}_ci95_half_width"]
    direction = OUTCOMES[metric].direction
    if direction == 0 or not (np.isfinite(d) and np.isfinite(h)):
        return "none"
    side = 1 if d - h > 0 else -1 if d + h < 0 else 0
    if side == 0:
        return "none"
    return "better" if side == direction else "worse"


def check_verdict_cells(root, summary: pd.DataFrame) -> list:
    """Every data-verdict cell of the verdict section agrees with summary.csv; returns them."""
    verdict = root.find(".//section[@id='verdict']")
    cells = verdict.findall(".//td[@data-verdict]")
    table = summary.set_index(["scenario", "point", "design", "metric"]).sort_index()
    for c in cells:
        metric = c.get("data-kpi")
        key = (c.get("data-scenario"), int(c.get("data-point")), c.get("data-design"), metric)
        want = expected_verdict(table.loc[key], c.get("data-compare"), metric)
        assert c.get("data-verdict") == want, (key, c.text)
        assert c.get("class") == want
    return cells


def sweep_verdicts(summary: pd.DataFrame) -> pd.Series:
    """Each row's verdict against the baseline, computed here from the CI and the direction."""
    return pd.Series(
        [expected_verdict(r, "diff", r["metric"]) for _, r in summary.iterrows()],
        index=summary.index,
    )
