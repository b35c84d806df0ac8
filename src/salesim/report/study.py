"""What a report reads from a results directory: the stored tables, checked, loaded once.

``load(store)`` checks every stored batch against the plan and its checksums and returns the
``Study`` (config, runs, summary, monthly series, response histograms, sensitivity and
robustness tables) and what the checks found. The report's text, tables and figures are all
built from a ``Study``. Loading only reads: the consolidated tables are used when the
manifest's checksums vouch for them, else the tables are built in memory from the verified
parts; no stored file is ever rewritten, shrunk or deleted by a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from salesim.experiments.compare import robustness, verdict_metrics, with_keys
from salesim.experiments.config import ConfigError, SalesimConfig
from salesim.experiments.plan import seed_of, sweep_plan
from salesim.experiments.stats import gap_sensitivity, sensitivity, summarise
from salesim.experiments.store import TABLES, Store, StoreError, read_parquet
from salesim.model.inputs.params import ModelConfig, error_line
from salesim.report import units

#: Sweeps with more points than this get no per-point tables; the sweep figures carry them.
MAX_TABLE_POINTS = 4


@dataclass
class Study:
    """Everything the report reads from a results directory, loaded once."""

    out: Path
    manifest: dict[str, Any]
    cfg: SalesimConfig
    runs: pd.DataFrame
    summary: pd.DataFrame
    monthly: pd.DataFrame
    responses: pd.DataFrame
    sensitivity: pd.DataFrame
    gaps: pd.DataFrame
    robust: pd.DataFrame

    def __post_init__(self) -> None:
        exp = self.cfg.experiment
        self.exp = exp
        self.ok = self.runs[self.runs.status == "ok"]
        self.currency = exp.report.currency or self.cfg.model.costs.currency
        self.months, self.period = measured_period(self.cfg.model)
        self.baseline = exp.baseline_design
        # (Sets made once: a sweep's summary has a row per point, design and KPI.)
        designs, scenarios = set(self.summary.design.unique()), set(self.summary.scenario.unique())
        self.designs = [d for d in exp.designs if d in designs]
        self.scenarios = [s for s in exp.scenario_overrides() if s in scenarios]
        self.reference = exp.reference
        self.swept = [p.path for p in exp.sweep.parameters] if exp.sweep else []
        self.n_points = int(self.runs.point.max()) + 1
        self.small = self.n_points <= MAX_TABLE_POINTS
        metrics = set(self.summary.metric.unique())
        self.metrics = [m for m in exp.metrics if m in metrics]
        self.verdict_metrics = verdict_metrics(self.summary)
        self.replications = int(self.runs.replication.max()) + 1
        self._cells = self.summary.set_index(["scenario", "point", "design", "metric"]).sort_index()

    def row(self, scenario: str, point: int, design: str, metric: str) -> pd.Series | None:
        """The summary row of one cell, design and KPI (None if absent)."""
        key = (scenario, point, design, metric)
        return self._cells.loc[key] if key in self._cells.index else None

    def where(self, point: int) -> str:
        """The swept values of a point, in words."""
        if not self.swept:
            return ""
        first = self.summary[self.summary.point == point].iloc[0]
        return ", ".join(f"{units.label(p)} = {first[p]:g}" for p in self.swept)


def measured_period(model: ModelConfig) -> tuple[float, str]:
    """The measured horizon in months and in words ("24 months (Jan 2005 to Dec 2006)")."""
    cal = model.calendar
    months = (model.horizon_days - model.warmup_days) / cal.days_per_month
    text = f"{months:g} months" if months != 1 else "1 month"
    if cal.start and months >= 1:
        year, month = map(int, cal.start.split("-"))
        first = (year * 12 + month - 1) + model.warmup_days // cal.days_per_month
        last = first + math.ceil(months) - 1
        text += f" ({_MONTHS[first % 12]} {first // 12} to {_MONTHS[last % 12]} {last // 12})"
    return months, text


_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def title(cfg: SalesimConfig, out: Path) -> str:
    """The study's name; its --out folder's when that differs (a what-if run under another name)."""
    name = Path(out).resolve().name
    return cfg.name if name in ("", cfg.name) else f"{name} ({cfg.name})"


def _read(out: Path, name: str) -> pd.DataFrame:
    """A derived CSV table of the study (absent, or not a regular file: none)."""
    path = out / name
    if not path.is_file():
        return pd.DataFrame()
    if name.endswith(".parquet"):
        return read_parquet(path)
    with open(path, "rb") as fh:  # a file, never a URL: a directory may be named "file:x"
        return pd.read_csv(fh)


def _stored(store: Store, cfg: SalesimConfig, manifest: dict[str, Any]) -> dict[str, Any]:
    """Check the stored batches against the plan; the tables from what can be trusted.

    The consolidated tables are read when the study is complete and their checksums match
    the manifest's; otherwise they are built in memory from the verified parts.
    """
    from salesim.experiments.driver import expected_batches

    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    expected = expected_batches(cfg, plan, max(1, manifest.get("rounds", 1)))
    bad = store.check(manifest.get("fingerprint", ""), expected)
    missing = sorted(set(expected) - set(store.good))
    complete = manifest.get("status") == "complete" and not missing
    files = {"runs": "runs.parquet", **TABLES}
    if complete and store.outputs_intact(manifest):
        tables = {kind: read_parquet(store.out / name) for kind, name in files.items()
                  if (store.out / name).is_file()}  # fmt: skip
    else:
        tables = {kind: store.table(kind) for kind in files}
    first = missing[0] if missing else None
    return {
        "complete": complete,
        "n_missing": len(missing),
        "missing_runs": sum(expected[n] for n in missing),
        "missing_why": f"{first}: {bad.get(first, 'missing')}" if first else "",
        "tables": tables,
    }


def load(store: Store) -> tuple[Study | None, dict[str, Any]]:
    """The study in a results directory, and what its checks found (None: every run failed)."""
    out = store.out
    manifest = store.manifest()
    try:
        cfg = SalesimConfig.model_validate(manifest["config"], context={"max_runs": None})
    except ValidationError as err:
        raise StoreError(
            f"{store.manifest_path}: the stored config does not validate "
            f"({error_line(err, SalesimConfig)}); it was written by another salesim version"
        ) from None
    stored = _stored(store, cfg, manifest)
    tables = stored.pop("tables")
    runs = tables.get("runs", pd.DataFrame())
    if runs.empty:
        raise ConfigError(f"{out}: no runs stored yet; nothing to report")
    stored.update(manifest=manifest, cfg=cfg, runs=runs)
    if (runs.status != "ok").all():
        return None, stored
    summary = summarise(runs, cfg)
    monthly = tables.get("ts", pd.DataFrame())
    sweep = cfg.experiment.sweep
    sens, gaps = _read(out, "sensitivity.csv"), _read(out, "sensitivity_gap.csv")
    if stored["complete"] and sweep is not None and sweep.method in ("sobol", "morris"):
        # Results written before the gap indices existed: compute them (and nothing is lost).
        plan = sweep_plan(sweep, seed_of(cfg))
        sens = sens if len(sens) else sensitivity(runs, cfg, plan)
        if gaps.empty and len(cfg.experiment.designs) > 1:
            gaps = gap_sensitivity(runs, cfg, plan)
    study = Study(
        out=out,
        manifest=manifest,
        cfg=cfg,
        runs=runs,
        summary=summary,
        monthly=with_keys(monthly, runs) if len(monthly) else monthly,
        responses=tables.get("responses", pd.DataFrame()),
        sensitivity=sens,
        gaps=gaps,
        robust=robustness(summary, cfg),
    )
    return study, stored
