"""The report: verdict first and right, tables equal summary.csv, figures equal the tables."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import yaml

from report_checks import check_verdict_cells, expected_verdict, parse
from salesim import ConfigError, load_config
from salesim.experiments import driver
from salesim.experiments.driver import Interrupted, run_experiment
from salesim.experiments.stats import summarise
from salesim.experiments.store import sha256
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.model.kpis import HEADLINE
from salesim.report import plots
from salesim.report.build import build_report

SMALL = {"model.horizon_days": 63, "model.population.customers": 150, "model.staff.sales_staff": 9}
TARGETS = [
    {"kpi": "plan_completion_rate", "at_least": 0.999, "label": "2006-07"},
    {"kpi": "budget_fulfilment_rate", "value": 0.01, "tolerance": 0.001, "label": "2005"},
    {"kpi": "retention_rate", "at_most": 1.0, "label": "always"},
]


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
                "targets": TARGETS,
                "report": {"currency": "CNY"},
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return out, build_report(out)


def test_the_report_opens_with_the_verdict(study):
    _, report = study
    body = parse(report).find("body")
    first_section = next(el for el in body if el.tag in ("section", "details"))
    assert first_section.get("id") == "verdict"
    text = ET.tostring(first_section, encoding="unicode", method="text")
    assert "Customer-manager organisation vs Product organisation." in text
    assert "simulation noise at fixed assumptions only" in text
    assert "Money in CNY" in text
    # Money figures say their period: 63 business days of 21 are 3 months.
    assert "Operating profit over 3 months:" in text
    assert "Operating profit (3 months)" in text
    assert "ul" not in {el.tag for el in first_section.iter()}  # no lists of sentences


def test_every_verdict_cell_agrees_with_the_paired_ci_and_the_direction(study):
    out, report = study
    summary = pd.read_csv(out / "summary.csv")
    cells = check_verdict_cells(parse(report), summary)
    # One cell per verdict KPI and scenario; profit first and every headline KPI there.
    kpis = [c.get("data-kpi") for c in cells]
    assert kpis[0] == "operating_profit"
    assert set(kpis) == {m for m in HEADLINE if OUTCOMES[m].direction != 0}
    assert len(cells) == len(set(kpis)) * 2
    assert {c.get("data-scenario") for c in cells} == {"base", "surge"}
    assert {c.get("data-verdict") for c in cells} <= {"better", "worse", "none"}


def test_verdict_cells_write_differences_in_the_kpis_unit(study):
    out, report = study
    summary = pd.read_csv(out / "summary.csv").set_index(["scenario", "design", "metric"])
    verdict = parse(report).find(".//section[@id='verdict']")
    pct = r"( \([+-]\d+\.\d%\))?$"
    for c in verdict.findall(".//td[@data-verdict]"):
        kind = OUTCOMES[c.get("data-kpi")].kind
        pattern = {
            "rate": r"^[+-]\d+\.\d+ pts ± \d+\.\d+ pts",
            "hours": r"^[+-]\d+\.\d+ h ± \d+\.\d+ h",
            "money": r"^[+-][\d,]+\.\d+ (bn |M |k )?CNY ± [\d,]+\.\d+ (bn |M |k )?CNY",
        }.get(kind, r"^[+-]\d+\.\d+ ± \d+\.\d+")
        assert pd.Series([c.text]).str.match(pattern + pct).all(), c.text
        # Beside the difference: the baseline's level, the candidate's and the % change.
        base = summary.loc[(c.get("data-scenario"), "product", c.get("data-kpi"))]
        mine = summary.loc[(c.get("data-scenario"), c.get("data-design"), c.get("data-kpi"))]
        assert float(c.get("data-reference-level")) == pytest.approx(base["mean"], rel=1e-5)
        assert float(c.get("data-level")) == pytest.approx(mine["mean"], rel=1e-5)
        if base["mean"]:
            expected = 100 * mine["diff_mean"] / abs(base["mean"])
            assert float(c.get("data-pct-change")) == pytest.approx(expected, rel=1e-3)
        assert " → " in c.find("span[@class='levels']").text


def test_table_numbers_equal_summary_csv(study):
    out, report = study
    summary = pd.read_csv(out / "summary.csv").set_index(["scenario", "design", "metric"])
    cells = parse(report).findall(".//td[@data-kind]")
    assert len(cells) > 40
    columns = {
        "mean": ("mean", "ci95_half_width"),
        "diff": ("diff_mean", "diff_ci95_half_width"),
        "scenario_diff": ("scenario_diff_mean", "scenario_diff_ci95_half_width"),
    }
    for cell in cells:
        row = summary.loc[
            (cell.get("data-scenario"), cell.get("data-design"), cell.get("data-metric"))
        ]
        value, ci = columns[cell.get("data-kind")]
        assert float(cell.get("data-value")) == pytest.approx(row[value], rel=1e-12, nan_ok=True)
        assert float(cell.get("data-ci")) == pytest.approx(row[ci], rel=1e-12, nan_ok=True)
        if cell.get("data-kind") != "mean":  # a coloured difference is a detectable one
            assert (cell.get("class") or "none") == expected_verdict(
                row, cell.get("data-kind"), cell.get("data-metric")
            )
    # The surge scenario has its own columns against the reference scenario, for each design.
    kinds = {(c.get("data-scenario"), c.get("data-kind")) for c in cells}
    assert ("surge", "scenario_diff") in kinds and ("base", "scenario_diff") not in kinds
    surge = [c for c in cells if c.get("data-kind") == "scenario_diff"]
    assert {c.get("data-design") for c in surge} == {"product", "customer_manager"}


def test_figures_exist_are_embedded_and_agree_with_the_table(study):
    out, report = study
    root = parse(report)
    pngs = sorted((out / "figures").glob("*.png"))
    kinds = {p.name.split("-")[0] for p in pngs}
    assert kinds == {"forest", "timeseries", "responses", "utilisation"}
    images = root.findall(".//img")
    assert len(images) == len(pngs) == 4 * 2
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    # The p90 in the ECDF legend and the differences on the forest plot are the table's text.
    summary = pd.read_csv(out / "summary.csv")
    runs = pd.read_parquet(out / "runs.parquet")
    responses = pd.read_parquet(out / "responses.parquet")
    table = {
        (c.get("data-scenario"), c.get("data-design"), c.get("data-metric"), c.get("data-kind")): c
        for c in root.findall(".//td[@data-kind]")
    }
    for scenario in ("base", "surge"):
        s = summary[summary.scenario == scenario]
        r = runs[runs.scenario == scenario]
        fig = plots.response_ecdf(responses[responses.run_id.isin(r.run_id)], r, s)
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        for design in ("product", "customer_manager"):
            p90 = table[(scenario, design, "p90_response_hours", "mean")].text
            assert f"{design} (p90 {p90})" in legend
        fig = plots.forest(s, list(HEADLINE), currency="CNY")
        notes = {t.get_text() for t in fig.axes[0].texts}
        shown = [m for m in HEADLINE if (scenario, "customer_manager", m, "diff") in table]
        assert len(notes) == len(shown) > 5
        for metric in shown:
            diff = table[(scenario, "customer_manager", metric, "diff")].text
            assert f"customer_manager: {diff}" in notes
        plt_close(fig)


def plt_close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_each_missed_target_is_flagged_in_words(study):
    out, report = study
    root = parse(report)
    summary = pd.read_csv(out / "summary.csv")
    base = summary[(summary.scenario == "base") & (summary.design == "product")]
    mean = base.set_index("metric")["mean"]
    section = root.find(".//section[@id='targets']")
    misses = [li.text for li in section.findall(".//ul[@class='misses']/li")]
    status = {c.get("data-kpi"): c.get("data-met") for c in section.findall(".//td[@data-met]")}
    expected = {
        "plan_completion_rate": mean["plan_completion_rate"] >= 0.999,
        "budget_fulfilment_rate": abs(mean["budget_fulfilment_rate"] - 0.01) <= 0.001,
        "retention_rate": mean["retention_rate"] <= 1.0,
    }
    assert status == {k: str(v).lower() for k, v in expected.items()}
    assert expected == {
        "plan_completion_rate": False,
        "budget_fulfilment_rate": False,
        "retention_rate": True,
    }
    assert len(misses) == 2
    assert misses[0].startswith("Plan completion (2006-07): the model gives ")
    assert "below the observed at least 99.9%" in misses[0]
    assert misses[1].startswith("Budget fulfilment (2005): the model gives ")
    assert "above the observed 1.0% ± 0.1 pts by " in misses[1]
    verdict = ET.tostring(root.find(".//section[@id='verdict']"), encoding="unicode", method="text")
    assert "the model misses 2 of 3: Plan completion (2006-07) and Budget fulfilment (2005)" in (
        verdict
    )


TARGET_ERRORS = [
    (
        {"kpi": "profitt", "at_least": 1},
        ["experiment.targets.0.kpi", "unknown KPI 'profitt'", "allowed: retention_rate"],
    ),
    ({"kpi": "retention_rate"}, ["experiment.targets.0", "give value (with tolerance), at_least"]),
    ({"kpi": "retention_rate", "value": 0.5, "at_least": 0.4}, ["value or at_least/at_most"]),
    ({"kpi": "retention_rate", "at_least": 0.5, "scenario": "boom"}, ["unknown scenario 'boom'"]),
    ({"kpi": "retention_rate", "at_least": 0.5, "colour": "red"}, ["colour: unknown field"]),
    ({"kpi": "retention_rate", "at_least": 0.5, "tolerance": 0.1}, ["tolerance goes with value"]),
]


@pytest.mark.parametrize(("target", "expected"), TARGET_ERRORS)
def test_bad_targets_are_one_line_errors(tmp_path, target, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump({"model": {"horizon_days": 42}, "experiment": {"targets": [target]}})
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "\n" not in text
    for part in expected:
        assert part in text


def test_a_bad_target_on_the_command_line_is_one_line_exit_2(tmp_path):
    path = tmp_path / "bad.yaml"
    target, expected = TARGET_ERRORS[0]
    path.write_text(yaml.safe_dump({"experiment": {"targets": [target]}}))
    done = subprocess.run(
        [sys.executable, "-m", "salesim", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"salesim: error: {path}: experiment.targets.0.kpi: unknown KPI 'profitt'; allowed: "
        + ", ".join(OUTCOMES)
    ]


def test_results_without_operating_profit_fall_back_to_gross_margin(study, tmp_path):
    out, _ = study
    old = tmp_path / "old"
    shutil.copytree(out, old)
    runs = pd.read_parquet(old / "runs.parquet").drop(columns=["operating_profit"])
    runs.to_parquet(old / "runs.parquet")
    manifest = json.loads((old / "manifest.json").read_text())
    metrics = manifest["config"]["experiment"]["metrics"]
    metrics.remove("operating_profit")
    (old / "manifest.json").write_text(json.dumps(manifest))
    root = parse(build_report(old))
    cells = root.find(".//section[@id='verdict']").findall(".//td[@data-verdict]")
    assert cells[0].get("data-kpi") == "gross_margin"
    assert "operating_profit" not in {c.get("data-kpi") for c in cells}
    text = ET.tostring(root.find(".//section[@id='verdict']"), encoding="unicode", method="text")
    assert "predate it" in text and "gross margin" in text


def test_a_sign_change_between_years_is_called_a_transition(study, tmp_path):
    """A monthly gap that flips sign between the first and second year is reported with its
    series; an identical gap in both years is not."""
    out, _ = study
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    # In plan order (run ids sort in it), whatever order the batches stored the runs in.
    runs = pd.read_parquet(moved / "runs.parquet").sort_values("run_id")
    rng = np.random.default_rng(0)
    rows = []
    for r in runs.itertuples():
        for month in range(24):
            flip = -0.05 if month < 12 else 0.05
            gap = flip if r.design == "customer_manager" and r.scenario == "base" else 0.0
            rows.append(
                {
                    "run_id": r.run_id,
                    "month": month,
                    "retention_rate": 0.8 + gap + rng.normal(0, 0.002),
                    "direct_sales_rate": 0.5 + (0.03 if r.design == "customer_manager" else 0),
                }
            )
    pd.DataFrame(rows).to_parquet(moved / "timeseries.parquet")
    # Adopt the made-up table: the report rebuilds any table whose checksum does not match.
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["outputs"]["timeseries.parquet"] = sha256(moved / "timeseries.parquet")
    (moved / "manifest.json").write_text(json.dumps(manifest))
    root = parse(build_report(moved))
    verdict = root.find(".//section[@id='verdict']")
    text = ET.tostring(verdict, encoding="unicode", method="text")
    assert text.count("Transition effect on") == 1
    assert "Transition effect on retention: worse in the first year (-5.0 pts" in text
    assert "but better in the last (+5.0 pts" in text
    assert verdict.find(".//figure[@id='fig-transition-retention_rate']") is not None


def test_partial_run_says_so(tmp_path, monkeypatch):
    calls = []
    real = driver.run_batch

    def stop_after_three(cfg, runs, *rest):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(cfg, runs, *rest)

    monkeypatch.setattr(driver, "run_batch", stop_after_three)
    cfg = load_config(
        None,
        {**SMALL, "experiment": {"designs": ["product", "customer_manager"], "replications": 4}},
    )
    with pytest.raises(Interrupted):
        run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
    text = build_report(tmp_path / "out").read_text()
    # Three tasks landed, each with both designs of one replication.
    assert "Partial results" in text and "6 of 8 planned runs are stored" in text
    # No summary.csv yet: the verdict is checked against the stored runs' summary.
    summary = summarise(pd.read_parquet(tmp_path / "out" / "runs.parquet"), cfg)
    check_verdict_cells(parse(tmp_path / "out" / "report.html"), summary)


def test_one_design_in_one_scenario_has_nothing_to_compare(tmp_path):
    cfg = load_config(None, {**SMALL, "experiment": {"designs": ["product"], "replications": 2}})
    run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
    root = parse(build_report(tmp_path / "out"))
    text = ET.tostring(root.find(".//section[@id='verdict']"), encoding="unicode", method="text")
    assert "nothing to compare" in text
    assert not root.findall(".//td[@data-verdict]")


def test_one_design_compares_scenarios_with_the_reference(tmp_path):
    cfg = load_config(
        None,
        {
            **SMALL,
            "experiment": {
                "designs": ["product"],
                "replications": 3,
                "scenarios": {"busy": {"model.requests.needs_per_customer_year": 40}},
                "reference_scenario": "busy",
            },
        },
    )
    run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
    root = parse(build_report(tmp_path / "out"))
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert set(summary.reference_scenario) == {"busy"}
    cells = check_verdict_cells(root, summary)
    assert cells and {c.get("data-compare") for c in cells} == {"scenario_diff"}
    assert {c.get("data-scenario") for c in cells} == {"base"}
    assert {c.get("data-reference") for c in cells} == {"busy"}


def test_summary_xlsx_holds_the_summary_as_numbers_with_units(study):
    import openpyxl

    out, _ = study
    book = openpyxl.load_workbook(out / "summary.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["levels", "differences", "summary"]
    rows = list(book["summary"].values)
    sheet = pd.DataFrame(rows[1:], columns=rows[0])
    csv = pd.read_csv(out / "summary.csv")
    assert len(sheet) == len(csv)
    for column in ("n", "mean", "std", "ci95_half_width", "diff_mean", "diff_ci95_half_width"):
        assert all(isinstance(x, int | float) for x in sheet[column].dropna())
        np.testing.assert_allclose(sheet[column].astype(float), csv[column], rtol=1e-12)
    assert (sheet.metric == csv.metric).all()
    assert set(sheet.loc[sheet.metric == "operating_profit", "unit"]) == {"CNY"}
    levels = list(book["levels"].values)
    assert "Operating profit (CNY)" in levels[0] and "Retention (%)" in levels[0]
    assert "Mean response (business hours)" in levels[0]
    formats = dict(zip(levels[0], (c.number_format for c in book["levels"][2]), strict=True))
    assert formats["Retention (%)"] == "0.0%" and formats["Operating profit (CNY)"] == "#,##0"


def test_every_figure_is_saved_as_png_and_svg(study):
    out, _ = study
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    svgs = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert pngs and pngs == svgs
    assert (out / "figures" / f"{svgs[0]}.svg").read_text().lstrip().startswith("<?xml")


def test_summary_xlsx_is_rewritten_only_when_its_tables_change(study, monkeypatch):
    import openpyxl

    from salesim.report import export

    out, _ = study
    path = out / "summary.xlsx"
    before = path.stat().st_mtime_ns, path.read_bytes()
    digest = export.stored_digest(path)
    assert digest is not None
    build_report(out)
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before  # same tables: left alone
    path.write_bytes(b"not a workbook")
    # A large summary goes to a process of its own while the report draws; the same workbook.
    monkeypatch.setattr(export, "BIG", 0)
    build_report(out)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames[:3] == ["levels", "differences", "summary"]
    assert export.stored_digest(path) == digest
    rows = list(book["summary"].values)
    assert len(rows) - 1 == len(pd.read_csv(out / "summary.csv"))


def test_periods_are_dated_from_the_calendar_start_after_the_warm_up():
    from salesim.report.study import measured_period

    # January 2005 is day 0; g_company_2006 measures after a year's warm-up.
    assert measured_period(load_config("configs/g_company_2006.yaml").model) == (
        24.0,
        "24 months (Jan 2006 to Dec 2007)",
    )
    assert measured_period(load_config(None, SMALL).model) == (3.0, "3 months")
