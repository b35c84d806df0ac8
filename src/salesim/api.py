"""salesim from Python (a notebook, a script): run a study and get its tables as DataFrames.

    import salesim
    study = salesim.run_study("configs/compare_designs.yaml", replications=5)
    study.verdict          # one row per candidate design, scenario and headline KPI
    study.report()         # report.html, as `salesim run` writes it

``run_study`` is ``salesim run`` without the shell: the same validation (a ConfigError names
the bad field), the same results directory, resumable the same way.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesim.experiments.compare import verdict_metrics
from salesim.experiments.config import SalesimConfig, check_data_files, validate_config
from salesim.experiments.driver import run_experiment
from salesim.experiments.store import Store
from salesim.model.inputs.config_files import apply_overrides, read_config_data
from salesim.model.inputs.params import ConfigError
from salesim.report.build import HEADLINE_FILE, build_report
from salesim.report.study import load

VERDICT_COLUMNS = [
    "scenario", "point", "design", "baseline", "kpi", "baseline_level", "level",
    "difference", "ci95_half_width", "pct_change", "verdict",
]  # fmt: skip


@dataclass
class Study:
    """A study's results: the stored tables as DataFrames, and its report on demand."""

    out: Path
    config: SalesimConfig
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    summary: pd.DataFrame
    verdict: pd.DataFrame
    headline: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, out: str | Path) -> Study:
        """The study stored in ``out`` (as ``salesim run`` or ``run_study`` left it).

        Read as the report reads it (``salesim.report.study.load``): checked against the
        manifest, and from the verified parts if the study is unfinished.
        """
        out = Path(out)
        study, stored = load(Store(out))
        if study is None:
            raise ConfigError(f"{out}: every run failed; nothing to summarise (see runs.parquet)")
        headline = out / HEADLINE_FILE
        return cls(
            out=out,
            config=study.cfg,
            runs=study.runs,
            timeseries=study.monthly.reset_index(),  # flat: a row per run and month
            summary=study.summary,
            verdict=verdict_table(study.summary, study.cfg),
            headline=headline.read_text(encoding="utf-8").splitlines()
            if headline.is_file()
            else [],
        )

    def report(self) -> Path:
        """Write (or rewrite) OUT/report.html and return its path."""
        path = build_report(self.out, progress=False)
        self.headline = (self.out / HEADLINE_FILE).read_text(encoding="utf-8").splitlines()
        return path

    def __repr__(self) -> str:
        lines = [f"Study({str(self.out)!r}: {len(self.runs)} runs)", *self.headline]
        return "\n".join(lines)


def verdict_table(summary: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Each candidate design against the baseline, per scenario, point and headline KPI."""
    exp = cfg.experiment
    base = exp.baseline_design
    keys = ["scenario", "point", "metric"]
    s = summary[summary.metric.isin(verdict_metrics(summary))]
    levels = s[s.design == base][[*keys, "mean"]].rename(columns={"mean": "baseline_level"})
    rows = s[s.design != base].merge(levels, on=keys, how="left")
    out = pd.DataFrame(
        {
            "scenario": rows.scenario,
            "point": rows.point,
            "design": rows.design,
            "baseline": base,
            "kpi": rows.metric,
            "baseline_level": rows.baseline_level,
            "level": rows["mean"],
            "difference": rows.diff_mean,
            "ci95_half_width": rows.diff_ci95_half_width,
            "pct_change": 100
            * rows.diff_mean
            / rows.baseline_level.abs().where(rows.baseline_level != 0),
            "verdict": rows.diff_verdict,
        }
    )
    return out[VERDICT_COLUMNS].reset_index(drop=True)


def _config(
    config: str | Path | dict | SalesimConfig,
    overrides: dict[str, Any] | None,
    replications: int | None,
    scenarios: dict[str, dict[str, Any]] | None,
) -> SalesimConfig:
    if isinstance(config, SalesimConfig):
        data, source = config.model_dump(mode="json"), "config"
    elif isinstance(config, dict):
        data, source = config, "config"
    elif isinstance(config, str | Path):
        data, source = read_config_data(config), str(config)
    else:
        raise ConfigError(
            f"config: expected a file path, a mapping or a SalesimConfig, got "
            f"{type(config).__name__}"
        )
    data = apply_overrides(data, overrides)
    if replications is not None:
        data = apply_overrides(data, {"experiment.replications": replications})
    for name, values in (scenarios or {}).items():
        known = data.setdefault("experiment", {}).setdefault("scenarios", {})
        if name in known or name == "base":
            raise ConfigError(f"scenarios: {name!r} is already a scenario of the config")
        known[name] = dict(values)
    cfg = check_data_files(validate_config(data, source))
    if cfg.experiment is None:
        raise ConfigError(f"{source}: no 'experiment:' section; see configs/compare_designs.yaml")
    return cfg


def run_study(
    config: str | Path | dict | SalesimConfig,
    out: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    replications: int | None = None,
    scenarios: dict[str, dict[str, Any]] | None = None,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    report: bool = True,
) -> Study:
    """Run a study (as ``salesim run``) and return its tables; ``report=True`` writes report.html.

    ``config`` is a file, a mapping as a config file holds, or a ``SalesimConfig``;
    ``overrides`` are dotted keys (``{"model.horizon_days": 252}``); ``scenarios`` adds named
    what-ifs (``{"hire5": {"model.staff.sales_staff": 35}}``). ``out`` defaults to a new
    temporary directory. ``executor`` is ``process`` (all cores), ``sequential`` or ``dask``.
    """
    cfg = _config(config, overrides, replications, scenarios)
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"salesim-{cfg.name}-"))
    run_experiment(
        cfg,
        out,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
    )
    if report:
        build_report(out, progress=False)
    return Study.open(out)
