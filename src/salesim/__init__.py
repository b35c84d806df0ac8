"""salesim: agent-based simulation of a B2B sales organisation under alternative designs.

The public names are imported on first use (PEP 562 module ``__getattr__``), so that
``import salesim.cli`` and the commands that need no simulation (``--help``, ``validate``,
``schema``, ``params``) do not pay for Mesa and pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesim.api import Study, run_study
    from salesim.experiments.config import SalesimConfig, load_config
    from salesim.model.designs import OrganisationDesign, register
    from salesim.model.inputs.params import ConfigError, ModelConfig
    from salesim.model.inputs.registry import registered_designs
    from salesim.model.sales_model import SalesModel

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "ConfigError": "salesim.model.inputs.params",
    "ModelConfig": "salesim.model.inputs.params",
    "SalesimConfig": "salesim.experiments.config",
    "load_config": "salesim.experiments.config",
    "OrganisationDesign": "salesim.model.designs",
    "register": "salesim.model.designs",
    "registered_designs": "salesim.model.inputs.registry",
    "SalesModel": "salesim.model.sales_model",
    "run_study": "salesim.api",
    "Study": "salesim.api",
}

__all__ = [
    "ConfigError",
    "ModelConfig",
    "OrganisationDesign",
    "SalesModel",
    "SalesimConfig",
    "Study",
    "load_config",
    "register",
    "registered_designs",
    "run_study",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'salesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
