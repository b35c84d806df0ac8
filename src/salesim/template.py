"""``salesim template customers|roster``: a config's synthetic book or staff in the file format.

A user starts from a valid file and replaces the numbers with the company's own
(``docs/own-data.md``). The customer template is the book the model would simulate for the config
and its seed at day 0 (after the steady start), so running the template gives that world again.
"""

from __future__ import annotations

import argparse
from typing import Any

from salesim.config import load_config
from salesim.datafiles import own_data, write_table


def cmd_template(args: argparse.Namespace) -> int:
    """Write the template table on stdout (CSV) or to --out (format from its suffix)."""
    cfg, table, _ = own_data(load_config(args.config, args.set).model)
    if args.what == "customers":
        from salesim.customer_file import customers_frame
        from salesim.model import SalesModel

        # The customers as they are at day 0: after the steady start settled their state.
        book = SalesModel(cfg).customers
        frame = customers_frame(book, cfg)
    else:
        from salesim.population import synthetic_region_names
        from salesim.roster import roster_frame

        regions = table.region_names if table else synthetic_region_names(cfg.population.regions)
        frame = roster_frame(cfg, regions)
    write_table(frame, args.out)
    return 0


def describe_data_files(cfg: Any) -> list[str]:
    """One line per data file a model config reads (for ``salesim validate``)."""
    from salesim.customer_file import describe as customers
    from salesim.roster import describe as roster

    _, table, staff = own_data(cfg)
    lines = []
    if table is not None:
        lines.append(customers(table))
    if staff is not None:
        lines.append(roster(staff))
    return lines
