"""Robustness across uncertainties, regret, gap sensitivity and win maps: files, report, figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from report_checks import check_verdict_cells, parse, sweep_verdicts, text_of
from salesim import load_config
from salesim.experiments.compare import robustness, verdict_metrics
from salesim.experiments.driver import run_experiment
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.report import plots, units
from salesim.report.build import build_report

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "model.population.customers=120",
    "model.staff.sales_staff=9",
    "experiment.horizon_days=42",
    "experiment.replications=2",
]


@pytest.fixture(scope="module")
def sensitivity_study(tmp_path_factory):
    """configs/sensitivity.yaml shrunk: two Morris trajectories on a tiny world."""
    out = tmp_path_factory.mktemp("sens") / "out"
    cfg = load_config(ROOT / "configs/sensitivity.yaml", [*TINY, "experiment.sweep.samples=2"])
    run_experiment(cfg, out, executor="sequential", progress=False)
    return cfg, out, build_report(out)


def test_uncertainty_sweep_writes_robustness_csv_as_defined(sensitivity_study):
    cfg, out, _ = sensitivity_study
    robust = pd.read_csv(out / "robustness.csv")
    summary = pd.read_csv(out / "summary.csv")
    metrics = verdict_metrics(summary)
    assert metrics[0] == "operating_profit"
    assert set(robust.metric) == set(metrics)
    assert set(robust.design) == {"product", "customer_manager"}
    n_points = summary.point.nunique()
    assert n_points == 2 * (6 + 1) and (robust.points == n_points).all()
    summary["verdict"] = sweep_verdicts(summary)
    for metric in metrics:
        m = summary[summary.metric == metric]
        cm = m[m.design == "customer_manager"]
        row = robust[(robust.metric == metric) & (robust.design == "customer_manager")].iloc[0]
        for column, word in (
            ("win_share", "better"),
            ("tie_share", "none"),
            ("lose_share", "worse"),
        ):
            assert row[column] == pytest.approx((cm.verdict == word).mean())
        # Regret: best design's mean minus this one's, oriented so that more is better.
        oriented = m.pivot(index="point", columns="design", values="mean") * (
            OUTCOMES[metric].direction
        )
        regret = oriented.max(axis=1).to_numpy()[:, None] - oriented
        for design in ("product", "customer_manager"):
            r = robust[(robust.metric == metric) & (robust.design == design)].iloc[0]
            assert r.regret_mean == pytest.approx(regret[design].mean())
            assert r.regret_max == pytest.approx(regret[design].max())
        both = robust[robust.metric == metric]
        assert (both.regret_max >= 0).all()
        assert both.regret_max.min() >= 0 and (regret.min(axis=1) == 0).all()
    base = robust[robust.design == "product"]
    assert base[["win_share", "tie_share", "lose_share"]].isna().all().all()


def test_gap_indices_are_on_the_paired_difference(sensitivity_study):
    cfg, out, _ = sensitivity_study
    gaps = pd.read_csv(out / "sensitivity_gap.csv")
    assert set(gaps.design) == {"customer_manager"} and set(gaps.baseline) == {"product"}
    assert set(gaps.parameter) == {p.path for p in cfg.experiment.sweep.parameters}
    assert set(gaps.role) == {"uncertainty"}
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(gaps.columns)
    # The gap is not either design's level: its indices differ from the level's.
    levels = pd.read_csv(out / "sensitivity.csv")
    for metric in set(gaps.metric) & {"retention_rate", "operating_profit"}:
        g = gaps[gaps.metric == metric].set_index("parameter").mu_star
        lv = levels[(levels.metric == metric) & (levels.design == "customer_manager")]
        assert not np.allclose(g.sort_index(), lv.set_index("parameter").mu_star.sort_index())


def test_sensitivity_report_shows_robustness_gap_and_win_map(sensitivity_study):
    _, out, report = sensitivity_study
    root = parse(report)
    robust = root.find(".//details[@id='robustness']")
    text = text_of(robust)
    assert "Regret at a point is the best design's mean there minus this design's" in text
    assert "What the gap customer_manager − product hangs on (Morris mu*)" in text
    assert "beats product on operating profit in" in text
    assert robust.find(".//figure[@id='fig-gap-base-customer_manager']") is not None
    wins = root.find(".//details[@id='wins']")
    assert wins.find(".//figure[@id='fig-winmap-base-customer_manager']") is not None
    assert (out / "figures" / "winmap-base-customer_manager.png").stat().st_size > 5000
    verdict = text_of(root.find(".//section[@id='verdict']"))
    assert "Across the 14 points of the sweep, operating profit is better at" in verdict
    assert "The gap in operating profit depends most on " in verdict
    assert "robustness section varies the uncertain parameters" in verdict


def test_sweep_verdict_counts_agree_with_summary(sensitivity_study):
    _, out, report = sensitivity_study
    summary = pd.read_csv(out / "summary.csv")
    summary["verdict"] = sweep_verdicts(summary)
    cells = parse(report).find(".//section[@id='verdict']").findall(".//td[@data-better]")
    assert len(cells) == len(verdict_metrics(summary))
    for c in cells:
        part = summary[
            (summary.metric == c.get("data-kpi")) & (summary.design == "customer_manager")
        ]
        for word in ("better", "none", "worse"):
            assert int(c.get(f"data-{word}")) == int((part.verdict == word).sum())


@pytest.fixture(scope="module")
def grid_study(tmp_path_factory):
    """A 3 x 2 grid: an uncertainty (multi-line share) by a lever (PM hours)."""
    out = tmp_path_factory.mktemp("grid") / "out"
    sweep = {
        "method": "grid",
        "parameters": [
            {
                "path": "model.population.multi_line_share",
                "role": "uncertainty",
                "values": [0.0, 0.4, 0.8],
            },
            {"path": "model.staff.pm_hours_per_day", "role": "lever", "values": [1.0, 6.0]},
        ],
    }
    cfg = load_config(
        None,
        {
            "model.horizon_days": 42,
            "model.population.customers": 120,
            "model.staff.sales_staff": 9,
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": 3,
                "sweep": sweep,
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return cfg, out, build_report(out)


def test_a_2d_grid_gets_a_win_map_that_agrees_with_summary(grid_study):
    cfg, out, report = grid_study
    root = parse(report)
    assert root.find(".//figure[@id='fig-winmap-base-customer_manager']") is not None
    summary = pd.read_csv(out / "summary.csv")
    summary["verdict"] = sweep_verdicts(summary)
    metrics = verdict_metrics(summary)
    axes = cfg.experiment.map_axes()
    assert axes == ["model.population.multi_line_share", "model.staff.pm_hours_per_day"]
    fig = plots.win_map(summary, axes, metrics, "customer_manager")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == [units.label(m) for m in metrics]
    for ax, metric in zip(panels, metrics, strict=True):
        rgb = ax.images[0].get_array()
        cm = summary[(summary.metric == metric) & (summary.design == "customer_manager")]
        xs, ys = sorted(cm[axes[0]].unique()), sorted(cm[axes[1]].unique())
        for _, r in cm.iterrows():
            i, j = ys.index(r[axes[1]]), xs.index(r[axes[0]])
            assert tuple(rgb[i, j]) == pytest.approx(to_rgb(plots.VERDICT_COLOURS[r.verdict]))
    plots.plt.close(fig)


def test_grid_robustness_is_per_lever_setting(grid_study):
    cfg, out, report = grid_study
    robust = pd.read_csv(out / "robustness.csv")
    assert set(robust["model.staff.pm_hours_per_day"]) == {1.0, 6.0}
    assert (robust.points == 3).all()  # the three multi-line shares at each PM setting
    summary = pd.read_csv(out / "summary.csv")
    again = robustness(summary, cfg)
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True), robust, check_dtype=False, check_exact=False
    )
    root = parse(report)
    captions = [c.text for c in root.findall(".//details[@id='robustness']//caption")]
    assert captions == [
        "customer_manager vs product (base scenario): share of the uncertainty values where it "
        "beats / loses, per lever setting",
        "Worst-case regret on operating profit (base scenario) per lever setting; the smallest "
        "is marked",
    ]
    cells = root.findall(".//details[@id='robustness']//td[@data-win-share]")
    assert len(cells) == 2 * len(verdict_metrics(summary))
    for c in cells:
        row = robust[(robust.metric == c.get("data-kpi")) & (robust.design == "customer_manager")]
        assert float(c.get("data-win-share")) in set(row.win_share)
    # Six points: too many for per-point tables, so the verdict counts wins over the sweep.
    assert not check_verdict_cells(root, summary)


def test_one_replication_per_point_counts_by_the_sign_of_the_paired_run(tmp_path):
    """A sampled sweep with one replication per point has no CI at a point: robustness counts
    each point by the sign of its one paired difference (oriented by the KPI's direction),
    says so in robustness.csv and the report, and the win map colours points the same way."""
    cfg = load_config(
        ROOT / "configs/sensitivity.yaml",
        [*TINY[:-1], "experiment.replications=1", "experiment.sweep.samples=2"],
    )
    out = tmp_path / "out"
    run_experiment(cfg, out, executor="sequential", progress=False)
    report = build_report(out)
    robust = pd.read_csv(out / "robustness.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert (summary.diff_n.fillna(1) <= 1).all() and (summary.diff_verdict == "none").all()
    assert set(robust.basis) == {"sign of one paired run"}
    decided = 0.0
    for metric in verdict_metrics(summary):
        cm = summary[(summary.metric == metric) & (summary.design == "customer_manager")]
        signed = np.sign(cm.diff_mean * OUTCOMES[metric].direction)
        row = robust[(robust.metric == metric) & (robust.design == "customer_manager")].iloc[0]
        assert row.win_share == pytest.approx((signed > 0).mean())
        assert row.lose_share == pytest.approx((signed < 0).mean())
        assert row.tie_share == pytest.approx((signed == 0).mean())
        decided += row.win_share + row.lose_share
    assert decided > 0  # the runs differ, so some points are decided
    assert "its one paired run is better (worse)" in text_of(parse(report))
