"""salesim: agent-based simulation of a B2B sales organisation under alternative designs."""

from salesim.config import ConfigError, ModelConfig, SalesimConfig, load_config
from salesim.designs import OrganisationDesign, register, registered_designs
from salesim.model import SalesModel

__version__ = "0.1.0"

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
