"""The report: every figure there, table numbers equal summary.csv, well-formed HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from salesim import load_config
from salesim.experiments import driver
from salesim.experiments.driver import Interrupted, run_experiment
from salesim.report import build_report

SMALL = {"model.horizon_days": 63, "model.population.customers": 150, "model.staff.sales_staff": 9}


def parse(path):
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>"))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    cfg = load_config(
        None,
        {
            **SMALL,
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": 3,
                "scenarios": {
                    "surge": {"model.market.surge": True, "model.market.surge_start_month": 0}
                },
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return out, build_report(out)


def test_every_figure_exists_is_embedded_and_not_empty(study):
    out, report = study
    root = parse(report)
    pngs = sorted((out / "figures").glob("*.png"))
    kinds = {p.name.split("-")[0] for p in pngs}
    assert kinds == {"forest", "timeseries", "responses", "utilisation"}
    assert len(pngs) == 4 * 2  # four figures per scenario
    images = root.findall(".//img")
    assert len(images) == len(pngs)
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    for img in images:
        assert img.get("src").startswith("data:image/png;base64,") and len(img.get("src")) > 5000


def test_table_numbers_equal_summary_csv(study):
    out, report = study
    summary = pd.read_csv(out / "summary.csv").set_index(["scenario", "design", "metric"])
    cells = parse(report).findall(".//td[@data-kind]")
    assert len(cells) > 40
    scenarios = [h.text for h in parse(report).findall(".//h2")]
    assert scenarios == ["Scenario base", "Scenario surge"]
    per_table = len(cells) // 2
    for i, cell in enumerate(cells):
        scenario = "base" if i < per_table else "surge"
        row = summary.loc[(scenario, cell.get("data-design"), cell.get("data-metric"))]
        column = (
            ("mean", "ci95_half_width")
            if cell.get("data-kind") == "mean"
            else ("diff_mean", "diff_ci95_half_width")
        )
        assert float(cell.get("data-value")) == pytest.approx(
            row[column[0]], rel=1e-12, nan_ok=True
        )
        assert float(cell.get("data-ci")) == pytest.approx(row[column[1]], rel=1e-12, nan_ok=True)
    # Differences whose CI excludes zero are marked.
    marked = [c for c in cells if c.get("class") == "sig"]
    expected = summary[
        (summary.index.get_level_values("design") == "customer_manager")
    ].diff_excludes_zero
    assert len(marked) == int(expected.sum())


def test_header_and_summary_sentences(study):
    _, report = study
    text = report.read_text()
    assert "Partial results" not in text
    assert "6 of 6" not in text and "12 of 12 planned runs stored, 0 failed" in text
    assert "<details><summary>Configuration</summary>" in text
    assert "relative to product (95% CI" in text


def test_partial_run_says_so(tmp_path, monkeypatch):
    calls = []
    real = driver.run_batch

    def stop_after_three(cfg, runs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(cfg, runs)

    monkeypatch.setattr(driver, "run_batch", stop_after_three)
    cfg = load_config(
        None,
        {**SMALL, "experiment": {"designs": ["product", "customer_manager"], "replications": 4}},
    )
    with pytest.raises(Interrupted):
        run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
    text = build_report(tmp_path / "out").read_text()
    assert "Partial results" in text and "3 of 8 planned runs are stored" in text
    parse(tmp_path / "out" / "report.html")


def test_sweep_report_has_sweep_and_sensitivity_figures(tmp_path):
    sweep = {
        "method": "morris",
        "samples": 2,
        "levels": 4,
        "parameters": [
            {
                "path": "model.staff.pm_hours_per_day",
                "role": "lever",
                "bounds": {"low": 2, "high": 6},
            },
            {
                "path": "model.competition.pressure",
                "role": "uncertainty",
                "bounds": {"low": 0.1, "high": 0.9},
            },
        ],
    }
    cfg = load_config(
        None,
        {
            **SMALL,
            "model.horizon_days": 42,
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": 1,
                "sweep": sweep,
                "metrics": ["retention_rate", "mean_response_hours"],
            },
        },
    )
    run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
    build_report(tmp_path / "out")
    names = {p.name.split("-")[0] for p in (tmp_path / "out" / "figures").glob("*.png")}
    assert {"sweep", "sensitivity"} <= names
    parse(tmp_path / "out" / "report.html")
