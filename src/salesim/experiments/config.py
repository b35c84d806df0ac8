"""The config-file schema (``model:`` and ``experiment:``) and loading a file into it.

A config file is YAML read safely (no Python object tags, no key given twice, size and alias limits:
``salesim.model.inputs.config_files``) and validated by pydantic with ``extra="forbid"`` and strict
types, so a misspelt key or a ``true`` where a number belongs is an error rather than a silently
ignored or converted setting. The layers point one way: ``salesim.model.inputs.params`` (the model's
parameters) <- the experiment layer (``salesim.experiments.spec``) <- this module.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from salesim.experiments.optimise_spec import OptimiseSpec, check_optimise
from salesim.experiments.plan import DEFAULT_MAX_RUNS, check_experiment
from salesim.experiments.spec import ExperimentSpec
from salesim.model.inputs.config_files import apply_overrides, parse_override, read_config_data
from salesim.model.inputs.params import (
    ConfigError as ConfigError,  # re-exported: the public error type
)
from salesim.model.inputs.params import F, ModelConfig, Section, check_name, error_line


class SalesimConfig(Section):
    """A config file: the model, and (for experiments) what to vary."""

    name: str = F("salesim", "a name for this configuration")
    model: ModelConfig = Field(default_factory=ModelConfig)
    experiment: ExperimentSpec | None = F(None, "what to compare and vary (salesim run)")
    optimise: OptimiseSpec | None = F(None, "levers to search and what for (salesim optimise)")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        return check_name("name", name)  # the default output directory is results/NAME

    @model_validator(mode="after")
    def _runs_are_valid(self, info: ValidationInfo) -> SalesimConfig:
        if self.experiment is not None:
            check_experiment(self, (info.context or {}).get("max_runs", DEFAULT_MAX_RUNS))
        if self.optimise is not None:
            check_optimise(self)
        return self


def _section_type(annotation: Any) -> Any:
    """The pydantic model inside Optional[...] / list[...] / dict[..., ...], else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _section_type(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(section: type[BaseModel], loc: tuple) -> str:
    """Names the fields allowed where an unknown key was found."""
    model: Any = section
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue  # an index into a list of sections
        field = model.model_fields.get(str(part))
        if field is None:
            return ""
        model = _section_type(field.annotation)
    return ", ".join(model.model_fields) if model is not None else ""


def validate_config(
    data: Any, source: str = "config", max_runs: int | None = DEFAULT_MAX_RUNS
) -> SalesimConfig:
    """Validate a parsed mapping; raise ConfigError with one line on the first problem.

    ``max_runs`` caps the runs an experiment may plan (None: no cap).
    """
    if data is None:
        raise ConfigError(
            f"{source}: the file is empty; expected a mapping with a 'model:' section"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return SalesimConfig.model_validate(data, context={"max_runs": max_runs})
    except ValidationError as err:
        first = err.errors()[0]
        line = error_line(err, SalesimConfig)
        if first["type"] == "extra_forbidden":
            allowed = _allowed_keys(SalesimConfig, first["loc"])
            line += f"; allowed: {allowed}" if allowed else ""
        raise ConfigError(f"{source}: {line}") from None


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    max_runs: int | None = DEFAULT_MAX_RUNS,
) -> SalesimConfig:
    """Load, override and validate a config and its data files; ``path=None`` gives the defaults.

    Data files are checked here, before anything runs or is written; ``max_runs`` as for
    ``validate_config``.
    """
    data = read_config_data(path) if path is not None else {}
    source = str(path) if path is not None else "defaults"
    return check_data_files(validate_config(apply_overrides(data, overrides), source, max_runs))


def designs_used(cfg: SalesimConfig) -> list[str]:
    """The designs a config builds: the experiment's (else its own), and a reorganisation's.

    ``salesim simulate`` on an experiment config builds ``model.design``, which the model
    checks against the roster when it is built.
    """
    names = list(cfg.experiment.designs) if cfg.experiment is not None else [cfg.model.design]
    if cfg.model.reorganisation.month is not None:
        names.append(cfg.model.reorganisation.design)
    return list(dict.fromkeys(names))


def check_data_files(cfg: SalesimConfig) -> SalesimConfig:
    """Read and check the customer file and roster; counts follow the customer file.

    Every design the config may build is checked against the roster, and every scenario that
    names other data files has them checked too, so a bad file stops ``salesim run`` before its
    output directory exists.
    """
    named = [key for key in ("customers_file", "roster_file") if _data_file(cfg.model, key)]
    if cfg.experiment is not None:
        named += [
            key
            for overrides in cfg.experiment.scenario_overrides().values()
            for key in overrides
            if key.endswith("_file")
        ]
    if not named:
        return cfg  # nothing to read (and no need to load the table readers)
    from salesim.model.data_files import own_data
    from salesim.model.designs import make_design

    models = [cfg.model]
    if cfg.experiment is not None:
        from salesim.experiments.plan import Run, model_config, seed_of

        for scenario, overrides in cfg.experiment.scenario_overrides().items():
            if any(key.endswith("_file") for key in overrides):
                run = Run("probe", 0, scenario, cfg.model.design, 0, seed_of(cfg), {})
                models.append(model_config(cfg, run))
    _nothing_varies_what_the_file_sets(cfg)
    for i, model in enumerate(models):
        synced, _, roster = own_data(model)
        if i == 0 and synced is not cfg.model:
            cfg.model = synced
        if roster is not None:
            for name in designs_used(cfg):
                make_design(name).roster_people(roster, synced)
    return cfg


def _data_file(model: ModelConfig, key: str) -> Any:
    section = model.population if key == "customers_file" else model.staff
    return getattr(section, key)


def _nothing_varies_what_the_file_sets(cfg: SalesimConfig) -> None:
    """With a customer file, sweeping or overriding its counts would silently do nothing."""
    exp = cfg.experiment
    if cfg.model.population.customers_file is None or exp is None:
        return
    fixed = ("model.population.customers", "model.population.regions")
    for where, path in exp.varied():
        if path in fixed:
            raise ConfigError(
                f"experiment.{where}: {path} follows model.population.customers_file and cannot "
                "be varied"
            )


def _scenario_overrides(name: str, pairs: list[str]) -> dict[str, Any]:
    """``--scenario NAME KEY=VALUE ...`` as a scenario's mapping of dotted paths to values."""
    if "=" in name:
        raise ConfigError(
            f"--scenario {name}: give the scenario's NAME first, then KEY=VALUE pairs, "
            "e.g. --scenario hire5 model.staff.sales_staff=35"
        )
    if not pairs:
        raise ConfigError(
            f"--scenario {name}: needs at least one KEY=VALUE, e.g. model.staff.sales_staff=35"
        )
    overrides: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(
                f"--scenario {name}: {pair!r} is not KEY=VALUE, e.g. model.staff.sales_staff=35"
            )
        try:
            parts, value = parse_override(pair)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("--set", f"--scenario {name}", 1)) from None
        overrides[".".join(parts)] = value
    return overrides


def _add_scenarios(
    data: dict, scenarios: list[list[str]], max_runs: int | None = None
) -> SalesimConfig:
    """Add command-line scenarios to a config's data; validated exactly like the file's own."""
    experiment = data.setdefault("experiment", {})
    named = experiment.setdefault("scenarios", {}) or {}
    experiment["scenarios"] = named
    cfg = None
    for name, *pairs in scenarios:
        if name in named or name == "base":
            raise ConfigError(
                f"--scenario {name}: the experiment already has a scenario of that name"
                + (" (the unmodified model)" if name == "base" else "")
            )
        named[name] = _scenario_overrides(name, pairs)
        try:
            cfg = validate_config(data, "--scenario", max_runs)
        except ConfigError as exc:
            message = str(exc).removeprefix("--scenario: ")
            message = message.removeprefix(f"experiment.scenarios.{name}: ")
            raise ConfigError(f"--scenario {name}: {message}") from None
    return cfg


def study_config(
    path: str | Path,
    sets: list[str] | None = None,
    replications: int | None = None,
    scenarios: list[list[str]] | None = None,
    max_runs: int | None = DEFAULT_MAX_RUNS,
) -> SalesimConfig:
    """A study's config as the command line gives it: ``--set``, ``--replications``, ``--scenario``.

    ``scenarios`` are ``[NAME, KEY=VALUE, ...]`` lists, validated like the file's own.
    """
    sets = list(sets or [])
    if replications is not None:
        if replications < 1:
            raise ConfigError(f"--replications: must be at least 1, got {replications}")
        sets.append(f"experiment.replications={replications}")
    data = apply_overrides(read_config_data(path), sets)
    cfg = check_data_files(validate_config(data, str(path), max_runs))
    if cfg.experiment is None:
        raise ConfigError(f"{path}: no 'experiment:' section; see configs/compare_designs.yaml")
    if replications is not None and cfg.experiment.precision is not None:
        raise ConfigError("--replications: the experiment uses 'precision' (adaptive replications)")
    if scenarios:
        cfg = check_data_files(_add_scenarios(data, scenarios, max_runs))
    return cfg
