"""The monthly mechanisms as named, swappable components (as organisation designs are).

Each mechanism fills one *slot* of the monthly cycle and is registered under a name; the config
(``model.mechanisms``) picks one per slot, and ``SalesModel(mechanisms={slot: obj})`` passes an
object directly, so a different churn rule needs no change to the model. State lives in the
model's columns (``model.customers``, ``model.acc``): a mechanism reads and writes them with
numpy, which is what keeps a month of 1,500 customers to a few milliseconds.

The cycle, in slot order, at the end of each month: ``sales`` (demand, orders, deliveries, price),
``satisfaction``, ``field_work`` (visits, relationships, prospecting), ``wallet``, ``churn``,
``channel``, ``newcomers``; then, for the month that starts, ``declarations`` (call-offs) and
``planning`` (plan and supply). While the start settles (``model.settling``), mechanisms with
``while_settling = False`` are skipped: the customers at day 0 stay the customers at day 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from salesim.params import ConfigError

if TYPE_CHECKING:
    from salesim.model import SalesModel

#: Slots in the order they run: month-end slots, then month-start slots.
END_SLOTS = ("sales", "satisfaction", "field_work", "wallet", "churn", "channel", "newcomers")
START_SLOTS = ("declarations", "planning")
SLOTS = END_SLOTS + START_SLOTS

_REGISTRY: dict[str, dict[str, type[Mechanism]]] = {slot: {} for slot in SLOTS}


class Mechanism:
    """Base of a monthly mechanism. Subclasses set ``slot`` and ``name``."""

    slot: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: Whether it runs while the start settles (mechanisms that change who our customers are
    #: or which channel they buy through do not).
    while_settling: ClassVar[bool] = True

    def setup(self, model: SalesModel) -> None:
        """Called once when the model is built, before the first month starts."""

    def year_start(self, model: SalesModel, year: int) -> None:
        """Called at the start of each business year (before that year's first month starts)."""

    def month_start(self, model: SalesModel, month: int) -> None:
        """Called as ``month`` starts (start slots)."""

    def month_end(self, model: SalesModel, month: int) -> None:
        """Called as ``month`` ends (end slots)."""


def register_mechanism(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator: make a mechanism available as ``model.mechanisms.<slot>: <name>``."""
    if cls.slot not in _REGISTRY:
        raise ValueError(f"unknown slot {cls.slot!r}; slots: {', '.join(SLOTS)}")
    _REGISTRY[cls.slot][cls.name] = cls
    return cls


def registered_mechanisms(slot: str) -> list[str]:
    """Names registered for ``slot``."""
    _load_defaults()
    return sorted(_REGISTRY[slot])


def make_mechanisms(
    names: dict[str, str], given: dict[str, Mechanism] | None = None
) -> dict[str, Mechanism]:
    """One instance per slot: ``given`` objects first, else the registered ``names``."""
    _load_defaults()
    given = dict(given or {})
    unknown = set(given) - set(SLOTS)
    if unknown:
        raise ConfigError(
            f"mechanisms: unknown slot(s) {', '.join(sorted(unknown))}; slots: {', '.join(SLOTS)}"
        )
    out: dict[str, Mechanism] = {}
    for slot in SLOTS:
        if slot in given:
            out[slot] = given[slot]
            continue
        cls = _REGISTRY[slot].get(names[slot])
        if cls is None:
            allowed = ", ".join(registered_mechanisms(slot))
            raise ConfigError(
                f"model.mechanisms.{slot}: unknown mechanism {names[slot]!r}; allowed: {allowed}"
            )
        out[slot] = cls()
    return out


def _load_defaults() -> None:
    # The default implementations register themselves on import.
    from salesim.mechanisms import (  # noqa: F401
        channel,
        churn,
        declarations,
        field_work,
        newcomers,
        planning,
        sales,
        satisfaction,
        wallet,
    )
