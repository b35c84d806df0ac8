"""Fit unstated parameters so that the model reproduces observed KPIs.

A targets file names KPIs to hit (value and tolerance), KPIs to keep inside plausible bands,
and the parameters to fit with their bounds. The objective is the sum of squared misses, each
in units of its tolerance, averaged over replications on fixed seeds (common random numbers,
so the objective is a deterministic function of the parameters). It is minimised with
scipy.optimize (Nelder-Mead with bounds by default) on parameters scaled to [0, 1].

The targets do not identify one point: two 2005 figures fix two of the fitted parameters only
given the unstated assumptions (docs/case.md). ``calibrate_samples`` therefore draws the
assumptions the targets file names (``assumptions:``) by Latin hypercube, refits the fitted
parameters at each draw (a multi-start fit over structurally different worlds) and keeps the
draws whose fit meets every target within tolerance and every band: a sample of parameter sets
that all reproduce the targets. No maintained approximate-Bayesian-computation library is
installed; this is the multi-start fallback the issue allows, and it gives no posterior weights
(every accepted set counts once).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, model_validator
from scipy import optimize
from tqdm import tqdm

from salesim.experiments.config import SalesimConfig, validate_config
from salesim.experiments.spec import is_integer, parameter_type
from salesim.model.inputs.config_files import apply_overrides, read_config_data, read_yaml
from salesim.model.inputs.outcomes import outcome
from salesim.model.inputs.params import ConfigError, F, Section, error_line
from salesim.model.kpis import RUN as KPI_NAMES

#: The first line of a fitted config: ``calibrate --out`` overwrites only a file that has it.
FITTED_HEADER = "# Fitted by `salesim calibrate"


def kpi_range(name: str) -> tuple[float, float]:
    """The values a KPI can take, from its unit (a share is 0 to 1, hours are not negative)."""
    unit = outcome(name).unit
    if unit in ("share", "share/year", "0-1"):
        return 0.0, 1.0
    if unit in ("currency",):
        return -np.inf, np.inf
    return 0.0, np.inf


class Target(Section):
    """A KPI to reproduce."""

    value: float = F(..., "observed value")
    tolerance: float = F(..., "acceptable miss; the unit of the objective", "", gt=0)


class Band(Section):
    """A KPI to keep inside a plausible range."""

    low: float = F(..., "lower end")
    high: float = F(..., "upper end")
    tolerance: float = F(0.02, "unit of the penalty outside the band", "", gt=0)


class FitParameter(Section):
    """A parameter to fit."""

    path: str = F(..., "dotted model parameter path")
    low: float = F(..., "lower bound")
    high: float = F(..., "upper bound")
    start: float | None = F(None, "starting value (default: the config's value)")

    @model_validator(mode="after")
    def _check(self) -> FitParameter:
        kind = parameter_type(self.path)
        if kind not in (int, float):
            raise ValueError(
                f"{self.path}: not a number; calibrate fits numeric parameters (to compare "
                "designs, use salesim run)"
            )
        if not self.high > self.low:
            raise ValueError(
                f"{self.path}: high ({self.high}) must be greater than low ({self.low})"
            )
        if self.start is not None and not self.low <= self.start <= self.high:
            raise ValueError(
                f"{self.path}: start {self.start} is outside [{self.low}, {self.high}]"
            )
        return self


class CalibrationSpec(Section):
    """A targets file."""

    targets: dict[str, Target] = F(..., "KPIs to reproduce", min_length=1)
    bands: dict[str, Band] = Field(default_factory=dict, description="KPIs to keep in a range")
    parameters: list[FitParameter] = F(..., "parameters to fit", min_length=1)
    assumptions: list[FitParameter] = Field(
        default_factory=list,
        description="unstated parameters that `calibrate --samples` draws by Latin hypercube "
        "between low and high, refitting the parameters at each draw",
    )
    draws_per_sample: int = F(
        3,
        "calibrate --samples N tries at most N x this many draws before it gives up",
        "",
        ge=1,
        le=100,
    )
    replications: int = F(
        4, "replications per evaluation (seeds seed .. seed + n - 1)", "", ge=1, le=1000
    )
    seed: int = F(1, "seed of the first replication", "", ge=0)
    method: Literal["nelder-mead", "powell"] = F("nelder-mead", "scipy.optimize.minimize method")
    max_evaluations: int = F(150, "most objective evaluations", "", ge=1, le=100_000)

    @model_validator(mode="after")
    def _kpis(self) -> CalibrationSpec:
        fitted = {p.path for p in self.parameters}
        for a in self.assumptions:
            if a.path in fitted:
                raise ValueError(
                    f"assumptions: {a.path} is also a fitted parameter; name it in one list only"
                )
        for name in [*self.targets, *self.bands]:
            if name not in KPI_NAMES:
                raise ValueError(f"unknown KPI {name!r}; allowed: {', '.join(KPI_NAMES)}")
        for name, target in self.targets.items():
            low, high = kpi_range(name)
            if not low <= target.value <= high:
                raise ValueError(
                    f"targets.{name}: value {target.value:g} cannot be reached; {name} is "
                    f"{low:g} to {high:g}"
                )
        for name, band in self.bands.items():
            low, high = kpi_range(name)
            if band.low > band.high:
                raise ValueError(f"bands.{name}: low {band.low:g} is above high {band.high:g}")
            if band.high < low or band.low > high:
                raise ValueError(
                    f"bands.{name}: [{band.low:g}, {band.high:g}] cannot be reached; {name} is "
                    f"{low:g} to {high:g}"
                )
        return self


def check_spec(base: SalesimConfig, spec: CalibrationSpec, where: str) -> None:
    """Every bound of every fitted parameter inside the parameter's own range (before fitting)."""
    for p in [*spec.parameters, *spec.assumptions]:
        for end in ("low", "high"):
            value = getattr(p, end)
            value = int(round(value)) if is_integer(parameter_type(p.path)) else value
            try:
                validate_config(
                    apply_overrides({"model": base.model.model_dump()}, {p.path: value}), where
                )
            except ConfigError as exc:
                raise ConfigError(
                    f"{where}: parameters: {p.path}: {end} {value:g} is outside the parameter's "
                    f"range ({str(exc).removeprefix(where + ': ')})"
                ) from None


def load_targets(path: str | Path) -> CalibrationSpec:
    """Read and validate a targets file (one-line ConfigError on a problem)."""
    from pydantic import ValidationError

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with targets, bands, parameters")
    try:
        return CalibrationSpec.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{path}: {error_line(err, CalibrationSpec)}") from None


def run_once(cfg_and_seed: tuple[Any, int]) -> dict[str, float]:
    """KPIs of one replication: (model config, seed); picklable for a process pool."""
    from salesim.model.sales_model import SalesModel

    cfg, seed = cfg_and_seed
    return SalesModel(cfg, rng=seed).run().kpis()


def run_with_overrides(job: tuple[dict[str, Any], dict[str, Any], int]) -> dict[str, float]:
    """KPIs of one replication of (config data, overrides, seed); picklable for a pool."""
    data, overrides, seed = job
    cfg = validate_config(apply_overrides(data, overrides), "calibration").model
    return run_once((cfg, seed))


def scaled(parameters: list[FitParameter], unit: np.ndarray) -> dict[str, Any]:
    """Parameter values for a point of the unit cube (integers rounded)."""
    out = {}
    for p, u in zip(parameters, np.clip(unit, 0, 1), strict=True):
        v = p.low + float(u) * (p.high - p.low)
        out[p.path] = int(round(v)) if is_integer(parameter_type(p.path)) else v
    return out


@dataclass
class Calibration:
    """An objective over a base config, and a record of every evaluation."""

    base: SalesimConfig
    spec: CalibrationSpec
    executor: Executor | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    #: A progress bar (tqdm) told of each evaluation and the best loss so far.
    on_evaluation: Any = None

    def values(self, unit: np.ndarray) -> dict[str, Any]:
        """Parameter values for a point of the unit cube."""
        return scaled(self.spec.parameters, unit)

    def kpis(self, values: dict[str, Any]) -> dict[str, float]:
        """Mean KPIs over the replications at these parameter values."""
        data = apply_overrides({"model": self.base.model.model_dump()}, values)
        cfg = validate_config(data, "calibration").model
        jobs = [(cfg, self.spec.seed + i) for i in range(self.spec.replications)]
        if self.executor:
            runs = list(self.executor.map(run_once, jobs))
        else:
            runs = [run_once(j) for j in jobs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # KPIs of roles a design lacks: NaN
            return {k: float(np.nanmean([r[k] for r in runs])) for k in runs[0]}

    def loss(self, kpis: dict[str, float]) -> float:
        """Squared misses in units of tolerance; band violations likewise."""
        total = 0.0
        for name, t in self.spec.targets.items():
            total += ((kpis[name] - t.value) / t.tolerance) ** 2
        for name, b in self.spec.bands.items():
            miss = max(b.low - kpis[name], 0.0, kpis[name] - b.high)
            total += (miss / b.tolerance) ** 2
        return total if np.isfinite(total) else 1e12

    def objective(self, unit: np.ndarray) -> float:
        """What the optimiser minimises; the first evaluation also checks every KPI exists."""
        values = self.values(unit)
        kpis = self.kpis(values)
        if not self.trace:
            absent = [k for k in [*self.spec.targets, *self.spec.bands] if not np.isfinite(kpis[k])]
            if absent:
                raise ConfigError(
                    f"targets: {absent[0]}: the {self.base.model.design} design has no value of "
                    "it (none of its staff do that work); drop it from the targets and bands"
                )
        loss = self.loss(kpis)
        self.trace.append(
            {**values, **{k: kpis[k] for k in [*self.spec.targets, *self.spec.bands]}, "loss": loss}
        )
        if self.on_evaluation is not None:
            best = min(row["loss"] for row in self.trace)
            self.on_evaluation.set_postfix(best_loss=f"{best:.3g}", refresh=False)
            self.on_evaluation.update(1)
        return loss

    def start(self) -> np.ndarray:
        """The starting point in the unit cube."""
        model = self.base.model.model_dump()
        unit = []
        for p in self.spec.parameters:
            v = p.start
            if v is None:
                node: Any = model
                for part in p.path.split(".")[1:]:
                    node = node[part]
                v = float(node)
            unit.append((min(max(v, p.low), p.high) - p.low) / (p.high - p.low))
        return np.array(unit)


@dataclass
class Fit:
    """The result: fitted values, KPIs there, and how it went."""

    values: dict[str, Any]
    kpis: dict[str, float]
    loss: float
    evaluations: int
    seconds: float
    trace: list[dict[str, Any]]

    def within_tolerance(self, spec: CalibrationSpec) -> dict[str, bool]:
        """Whether each target is met within its tolerance and each band holds."""
        ok = {k: abs(self.kpis[k] - t.value) <= t.tolerance for k, t in spec.targets.items()}
        ok.update({k: b.low <= self.kpis[k] <= b.high for k, b in spec.bands.items()})
        return ok


def _bar(total: int, desc: str, unit: str, progress: bool | None) -> tqdm:
    """A progress bar on stderr, by default only on a terminal.

    Redrawn at every step: a step is a whole model run or fit, however quick.
    """
    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not show,
        dynamic_ncols=True,
        leave=False,
        mininterval=0,
    )


def calibrate(
    base: SalesimConfig,
    spec: CalibrationSpec,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> Fit:
    """Minimise the objective from the start point; return the best point seen.

    ``progress`` shows a bar on stderr (evaluations of ``max_evaluations``, best loss, ETA);
    by default only when stderr is a terminal. The optimiser may stop early, so the ETA is
    an upper bound.
    """
    # + the final evaluation at the best point
    bar = _bar(spec.max_evaluations + 1, "calibrating", "eval", progress)
    cal = Calibration(base, spec, executor, on_evaluation=bar)
    started = time.perf_counter()
    x0 = cal.start()
    bounds = [(0.0, 1.0)] * len(x0)
    options = {"maxfev": spec.max_evaluations}
    if spec.method == "nelder-mead":
        # A simplex wide enough to see past the flat steps that discrete events make.
        step = np.where(x0 < 0.75, 0.2, -0.2)
        simplex = np.vstack([x0, x0 + np.diag(step)])
        options.update(initial_simplex=simplex, xatol=0.01, fatol=0.05)
    with bar:
        optimize.minimize(cal.objective, x0, method=spec.method, bounds=bounds, options=options)
        best = min(cal.trace, key=lambda row: row["loss"])
        values = {p.path: best[p.path] for p in spec.parameters}
        kpis = cal.kpis(values)
        bar.update(1)
    return Fit(
        values, kpis, cal.loss(kpis), len(cal.trace), time.perf_counter() - started, cal.trace
    )


@dataclass
class Samples:
    """``calibrate_samples``'s result: one row per draw tried, and which were accepted."""

    draws: list[dict[str, Any]]
    seconds: float

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The draws whose fit met every target within tolerance and every band."""
        return [row for row in self.draws if row["accepted"]]


def calibrate_samples(
    base: SalesimConfig,
    spec: CalibrationSpec,
    samples: int,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> Samples:
    """Up to ``samples`` parameter sets that reproduce the targets, one fit per assumption draw.

    The draws are a Latin hypercube over ``spec.assumptions`` (seeded by ``spec.seed``, so a
    rerun draws the same worlds) of ``samples x spec.draws_per_sample`` points, fitted in order
    until ``samples`` are accepted. Each fit starts from the same point and uses the same seeds
    (common random numbers), so two draws differ only by their assumptions.
    """
    from scipy.stats import qmc

    if not spec.assumptions:
        raise ConfigError(
            "targets: assumptions: --samples needs unstated parameters to draw (a list of "
            "{path, low, high}); without them every fit is the same"
        )
    tries = samples * spec.draws_per_sample
    unit = qmc.LatinHypercube(d=len(spec.assumptions), seed=spec.seed).random(tries)
    bar = _bar(tries, "sampling", "fit", progress)
    started = time.perf_counter()
    draws: list[dict[str, Any]] = []
    with bar:
        for k, u in enumerate(unit):
            drawn = scaled(spec.assumptions, u)
            world = validate_config(
                apply_overrides({"model": base.model.model_dump()}, drawn), "calibration"
            )
            fit = calibrate(world, spec, executor, progress=False)
            ok = fit.within_tolerance(spec)
            draws.append(
                {
                    "salesim_draw": k,
                    **drawn,
                    **fit.values,
                    **{name: fit.kpis[name] for name in [*spec.targets, *spec.bands]},
                    "loss": fit.loss,
                    "evaluations": fit.evaluations,
                    "accepted": all(ok.values()),
                }
            )
            done = sum(row["accepted"] for row in draws)
            bar.set_postfix(accepted=f"{done}/{k + 1}", refresh=False)
            bar.update(1)
            if done >= samples:
                break
    return Samples(draws, time.perf_counter() - started)


#: The first cell of a samples file: ``calibrate --samples`` overwrites only a file that has it.
SAMPLES_HEADER = "salesim_draw,"


def samples_paths(out: str | Path) -> tuple[Path, Path]:
    """The accepted sets (``out``, CSV) and every draw tried (beside it, ``_draws.csv``)."""
    out = Path(out)
    return out, out.with_name(out.stem + "_draws.csv")


def write_samples(result: Samples, out: str | Path) -> tuple[Path, Path]:
    """The accepted sets to ``out`` and every draw beside it, each replaced only when whole."""
    import pandas as pd

    paths = samples_paths(out)
    frames = (pd.DataFrame(result.accepted), pd.DataFrame(result.draws))
    for path, frame in zip(paths, frames, strict=True):
        if frame.empty:
            frame = pd.DataFrame(columns=list(pd.DataFrame(result.draws).columns))
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            frame.to_csv(tmp, index=False)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return paths


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """The accepted parameter sets of a samples file: each a {model path: value} mapping."""
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a samples file ({exc})") from None
    if frame.columns[:1].tolist() != ["salesim_draw"]:
        raise ConfigError(f"{path}: not a samples file (written by salesim calibrate --samples)")
    columns = [c for c in frame.columns if c.startswith("model.")]
    if frame.empty or not columns:
        raise ConfigError(f"{path}: no accepted parameter sets in it")
    return [
        {c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()}
        for row in frame[columns].to_dict("records")
    ]


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, v in values.items():
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = v
    return out


def write_fitted_config(
    fit: Fit, spec: CalibrationSpec, base_path: str | Path, out: str | Path
) -> Path:
    """A config that extends the base with the fitted values, the fit recorded in comments."""
    out = Path(out)
    base_path = Path(base_path)
    rel = (
        Path(base_path.resolve()).relative_to(out.resolve().parent)
        if base_path.resolve().is_relative_to(out.resolve().parent)
        else base_path.resolve()
    )
    ok = fit.within_tolerance(spec)
    lines = [
        f"{FITTED_HEADER} {base_path}`: {fit.evaluations} evaluations x "
        f"{spec.replications} replications in {fit.seconds:.0f} s; loss {fit.loss:.3f}.",
    ]
    for k, t in spec.targets.items():
        lines.append(
            f"#   {k}: model {fit.kpis[k]:.4f}, target {t.value} +- {t.tolerance}"
            f" ({'met' if ok[k] else 'MISSED'})"
        )
    for k, b in spec.bands.items():
        lines.append(
            f"#   {k}: model {fit.kpis[k]:.4f}, band [{b.low}, {b.high}] "
            f"({'in' if ok[k] else 'OUT'})"
        )
    body = {
        "extends": str(rel),
        **_nest({k: round(v, 6) if isinstance(v, float) else v for k, v in fit.values.items()}),
    }
    text = "\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        validate_config(read_config_data(tmp), str(out))
        os.replace(tmp, out)  # the old file is replaced only by a complete, valid one
    finally:
        tmp.unlink(missing_ok=True)
    return out
