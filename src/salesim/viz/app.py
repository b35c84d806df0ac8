"""The SolaraViz page. ``salesim viz CONFIG`` sets ``SALESIM_VIZ_CONFIG``; defaults come from it."""

from __future__ import annotations

import os

from mesa.visualization import SolaraViz

from salesim.config import load_config
from salesim.viz.components import KPICards, MonthlySeries, OrganisationView
from salesim.viz.model import VizModel, page_params


def make_page(config_path: str | None = None):
    """The page for a config file (or the defaults)."""
    base = load_config(config_path).model
    params = page_params(base)
    model = VizModel(config=base)
    return SolaraViz(
        model,
        components=[(KPICards, 0), (MonthlySeries, 0), (OrganisationView, 0)],
        model_params=params,
        name="salesim: the sales organisation, day by day",
        play_interval=150,
    )


page = make_page(os.environ.get("SALESIM_VIZ_CONFIG") or None)
