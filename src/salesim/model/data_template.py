"""Template data files: a config's synthetic customer book or staff in the file format.

A user starts from a valid file and replaces the numbers with the company's own
(``docs/own-data.md``). The customer template is the book the model would simulate for the config
and its seed at day 0 (after the steady start), so running the template gives that world again.
``salesim template customers|roster`` writes them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from salesim.model.data_files import own_data
from salesim.model.inputs.codes import DIRECT, SEGMENTS, synthetic_region_names
from salesim.model.inputs.params import ModelConfig
from salesim.model.own_data.customers import FILE_CHANNELS
from salesim.model.own_data.roster import roster_frame
from salesim.model.population import CustomerBook
from salesim.model.sales_model import SalesModel


def template_frame(cfg: ModelConfig, what: Literal["customers", "roster"]) -> pd.DataFrame:
    """The template table of ``what`` for a model config."""
    cfg, table, _ = own_data(cfg)
    if what == "customers":
        # The customers as they are at day 0: after the steady start settled their state.
        return customers_frame(SalesModel(cfg).customers, cfg)
    regions = table.region_names if table else synthetic_region_names(cfg.population.regions)
    return roster_frame(cfg, regions)


def customers_frame(book: CustomerBook, cfg: ModelConfig) -> pd.DataFrame:
    """The book's customers at the start in the file format (the ``salesim template``)."""
    n0 = book.n_initial
    lines = cfg.population.lines
    wallet = book.wallet[:n0]
    sales = book.volume[:n0] * wallet[:, None]
    channel = np.asarray(FILE_CHANNELS)[np.where(book.channel[:n0] == DIRECT, 0, 1)]
    frame = pd.DataFrame(
        {
            "customer_id": book.customer_ids()[:n0],
            "region": np.asarray(book.region_names, dtype=object)[book.region[:n0]],
            "channel": channel,
        }
    )
    for i, line in enumerate(lines):
        frame[line] = np.round(sales[:, i], 2)
    frame["segment"] = np.asarray(SEGMENTS)[book.segment[:n0]]
    frame["satisfaction"] = np.round(book.satisfaction[:n0], 3)
    frame["relationship"] = np.round(book.customer_relationship()[:n0], 3)
    frame["wallet_share"] = np.round(wallet, 4)
    return frame
