"""Mesa agents of the sales organisation.

Customers keep their state in ``model.customers`` (a column store) so monthly population-wide
updates are numpy operations; each Customer agent is a view on its row. Staff agents each own a
station of the request network (``model.stations``); their queue, load and utilisation are read
from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

from salesim.model.inputs.codes import CHANNELS, SEGMENTS

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


class Customer(Agent):
    """A buying organisation: region, segment, lines, volume, channel, satisfaction."""

    def __init__(self, model: SalesModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    @property
    def _book(self):
        return self.model.customers

    @property
    def region(self) -> int:
        """Region index."""
        return int(self._book.region[self.slot])

    @property
    def segment(self) -> str:
        """key, medium or small."""
        return SEGMENTS[self._book.segment[self.slot]]

    @property
    def lines(self) -> list[str]:
        """Product lines bought."""
        names = self.model.config.population.lines
        return [names[i] for i, buys in enumerate(self._book.buys[self.slot]) if buys]

    @property
    def channel(self) -> str:
        """direct, distributor, lost, open, future or elsewhere."""
        return CHANNELS[self._book.channel[self.slot]]

    @property
    def active(self) -> bool:
        """Buying from us, directly or via a distributor."""
        return bool(self._book.channel[self.slot] <= 1)

    @property
    def satisfaction(self) -> float:
        """Satisfaction, 0-1."""
        return float(self._book.satisfaction[self.slot])

    @property
    def relationship(self) -> float:
        """Relationship with the people who own its lines (volume-weighted), 0-1."""
        book = self._book
        vol = book.volume[self.slot] * book.buys[self.slot]
        return float((vol * book.relationship[self.slot]).sum() / max(vol.sum(), 1e-12))

    @property
    def share_of_wallet(self) -> float:
        """Share of its demand bought from us."""
        return float(self._book.wallet[self.slot])

    def history(self) -> dict:
        """This customer's story, from the model's history.

        ``months`` (satisfaction, relationship, share of wallet,
        knowledge, churn hazard and channel at each month end, months from 1), ``requests``
        (each with its response times), ``owners`` (changes of owner) and ``left`` (the month it
        left and the terms of its churn hazard, largest first; None if it did not leave).
        """
        return self.model.history.story(self.model, self.slot)

    @property
    def owners(self) -> set[int]:
        """Stations of the staff who own this customer's lines."""
        row = self.model.owner[self.slot]
        return {
            int(s)
            for s, buys in zip(row, self._book.buys[self.slot], strict=True)
            if buys and s >= 0
        }


class StationAgent(Agent):
    """A staff agent that serves requests at one station of the request network."""

    role = "staff"

    def __init__(self, model: SalesModel, station: int) -> None:
        super().__init__(model)
        self.station = station

    @property
    def queue_length(self) -> int:
        """Requests waiting or in service at this station now."""
        return int(self.model.queue_lengths()[self.station])

    @property
    def utilisation(self) -> float:
        """Work done / hours available for requests so far."""
        return float(self.model.station_utilisation()[self.station])


class SalesStaff(StationAgent):
    """A product rep (one line) or a customer manager (one region, all lines).

    ``field_hours`` a day at most in the field; None: every hour request work leaves.
    """

    def __init__(
        self,
        model: SalesModel,
        station: int,
        role: str,
        group: int,
        regions: tuple[int, ...],
        lines: tuple[int, ...],
        field_hours: float | None = None,
    ) -> None:
        super().__init__(model, station)
        self.role = role
        self.group = group
        self.regions = regions
        self.lines = lines
        self.field_hours = field_hours

    @property
    def portfolio(self) -> int:
        """Customer-lines this person owns among active customers."""
        return int(self.model.portfolio_sizes()[self.station])


class FieldStaff(Agent):
    """A front-line person in the field all day: owns no customers, serves no requests, prospects.

    Its group (a line, a region, or a line in a region) is the one whose distributor customers
    and open new customers it prospects, in the regions it covers.
    """

    def __init__(
        self,
        model: SalesModel,
        role: str,
        group: int,
        regions: tuple[int, ...],
        lines: tuple[int, ...],
    ) -> None:
        super().__init__(model)
        self.role = role
        self.group = group
        self.regions = regions
        self.lines = lines


class ProductManager(StationAgent):
    """Product manager of one line (a pooled team if several): prices, scarce volume, technical."""

    role = "product_manager"

    def __init__(self, model: SalesModel, station: int, line: int) -> None:
        super().__init__(model, station)
        self.line = line


class RegionalManager(StationAgent):
    """Takes escalations from the customer managers of a region."""

    role = "regional_manager"

    def __init__(self, model: SalesModel, station: int, region: int) -> None:
        super().__init__(model, station)
        self.region = region


class ServiceOutlet(StationAgent):
    """A regional outlet (three-in-one) taking settlement and logistics requests locally."""

    role = "service_outlet"

    def __init__(self, model: SalesModel, station: int, region: int, servers: int) -> None:
        super().__init__(model, station)
        self.region = region
        self.servers = servers


class Planner(Agent):
    """Planning & information staff: consolidates the demand records sales staff hold."""

    role = "planner"

    def __init__(self, model: SalesModel, records_per_month: float) -> None:
        super().__init__(model)
        self.records_per_month = records_per_month
