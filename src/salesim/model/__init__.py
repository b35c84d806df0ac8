"""One replication of the sales organisation.

Its layers, from the bottom up:

- ``inputs/``: what a replication is given (the parameter schema, the plug-in registries, the
  KPIs' declared directions, config files read safely); imports nothing else of the model;
- ``own_data/``: a company's customer and roster files, read and checked;
- this folder: the engine (streams, population, market, agents, requests, queueing, network,
  organisation designs, the monthly cycle, information, the steady start, history, KPIs and the
  Mesa model itself, ``sales_model.SalesModel``);
- ``mechanisms/``: the monthly submodels, plug-ins of the cycle.

Importing this package registers the built-in designs and mechanisms (neither needs Mesa), so
that the schema knows their names; ``SalesModel`` itself is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from salesim.model import designs, mechanisms  # noqa: F401  (they register themselves)

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

__all__ = ["SalesModel"]


def __getattr__(name: str) -> Any:
    if name == "SalesModel":
        value = importlib.import_module("salesim.model.sales_model").SalesModel
        globals()[name] = value
        return value
    raise AttributeError(f"module 'salesim.model' has no attribute {name!r}")
