"""salesim: agent-based simulation of a B2B sales organisation under alternative designs.

The public names are imported on first use (PEP 562 module ``__getattr__``), so that
``import salesim.cli`` and the commands that need no simulation (``--help``, ``validate``,
``schema``, ``params``) do not pay for Mesa and pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesim.config import SalesimConfig, load_config
    from salesim.designs import OrganisationDesign, register, registered_designs
    from salesim.model import SalesModel
    from salesim.params import ConfigError, ModelConfig

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "ConfigError": "salesim.params",
    "ModelConfig": "salesim.params",
    "SalesimConfig": "salesim.config",
    "load_config": "salesim.config",
    "OrganisationDesign": "salesim.designs",
    "register": "salesim.designs",
    "registered_designs": "salesim.designs",
    "SalesModel": "salesim.model",
}

__all__ = [
    "ConfigError",
    "ModelConfig",
    "OrganisationDesign",
    "SalesModel",
    "SalesimConfig",
    "load_config",
    "register",
    "registered_designs",
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
