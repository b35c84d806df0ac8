"""The config's own data files, read once a process and applied to it: the file is the book.

``own_data`` is the one step between a model config and the model built from it when the config
names a customer file or a staff roster (``salesim.model.own_data`` reads and checks them).
"""

from __future__ import annotations

from pydantic import ValidationError

from salesim.model.inputs.codes import synthetic_region_names
from salesim.model.inputs.params import ConfigError, ModelConfig, error_line
from salesim.model.own_data.customers import CustomerTable, read_customers
from salesim.model.own_data.customers import describe as describe_customers
from salesim.model.own_data.roster import Roster, read_roster
from salesim.model.own_data.roster import describe as describe_roster
from salesim.model.own_data.tables import shown


def own_data(cfg: ModelConfig) -> tuple[ModelConfig, CustomerTable | None, Roster | None]:
    """Read the config's data files (once per process) and make its counts follow them.

    With a customer file, ``population.customers`` and ``population.regions`` become the
    file's rows and distinct regions, whatever the config said: the file is the book.
    """
    pop = cfg.population
    table = None
    if pop.customers_file:
        table = read_customers(pop.customers_file, tuple(pop.lines))
        counts = {"customers": len(table), "regions": len(table.region_names)}
        if (pop.customers, pop.regions) != (counts["customers"], counts["regions"]):
            try:
                pop = type(pop).model_validate({**pop.model_dump(), **counts})
            except ValidationError as err:
                raise ConfigError(
                    f"{shown(table.path)}: model.population.{error_line(err)}"
                ) from None
            cfg = cfg.model_copy(update={"population": pop})
    roster = None
    if cfg.staff.roster_file:
        staff = cfg.staff
        regions = table.region_names if table else synthetic_region_names(pop.regions)
        hours = (staff.desk_hours_per_day, staff.outlet_hours_per_day, cfg.calendar.hours_per_day)
        roster = read_roster(staff.roster_file, tuple(pop.lines), regions, hours)
    return cfg, table, roster


def data_files(cfg: ModelConfig) -> list[str]:
    """The data files a model config reads."""
    return [p for p in (cfg.population.customers_file, cfg.staff.roster_file) if p]


def describe_data_files(cfg: ModelConfig) -> list[str]:
    """One line per data file a model config reads (for ``salesim validate``)."""
    _, table, staff = own_data(cfg)
    lines = []
    if table is not None:
        lines.append(describe_customers(table))
    if staff is not None:
        lines.append(describe_roster(staff))
    return lines
