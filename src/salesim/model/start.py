"""The steady start: day 0 finds the world at the steady state of the organisation it has known.

Left to the drawn initial values, the world would spend its first year settling (satisfaction
climbing, a wave of early churn, relationships and shares of wallet drifting), and that drift
would be read as an effect. So before day 0, the same customers live ``start.settle_months``
months under ``start.design`` (by default the run's own design) in a world of their own: one
month of requests is simulated on streams of its own (``start/...``), then the monthly mechanisms
are iterated on that month's experience until satisfaction, relationships, share of wallet and
plans settle. Nobody leaves or arrives while it settles. Each customer's channel is then drawn
from the steady state of the flows that move it: prospecting conversions, fallbacks, and
turnover (a customer who leaves is replaced by a newcomer; see ``_direct_probability``). What a
company's own customer file gives (channel, satisfaction, relationship, share of wallet) is
kept as given.

The settled state depends on the config, the seed and the start design only, so every design
of a comparison that names the same ``start.design`` starts from the very same customers; it is
computed once per process and reused.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from salesim.model import cycle
from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR

if TYPE_CHECKING:
    from salesim.model.inputs.params import ModelConfig
    from salesim.model.population import CustomerBook
    from salesim.model.sales_model import SalesModel

_CACHE: OrderedDict[tuple, SettledState] = OrderedDict()
_CACHE_SIZE = 8
ROUNDS = 4


@dataclass(frozen=True)
class SettledState:
    """Customer columns at the end of the settling, and who owned what."""

    satisfaction: np.ndarray
    expectation: np.ndarray
    relationship: np.ndarray
    wallet: np.ndarray
    channel: np.ndarray
    owner: np.ndarray
    orders: np.ndarray | None


def settle(model: SalesModel, design: str, drawn: CustomerBook | None = None) -> None:
    """Give ``model``'s customers the settled state of ``design``'s world.

    ``drawn``: a copy of ``model``'s customers as drawn, which the world may take instead of
    drawing them again (the same draws).
    """
    state = settled_state(type(model), model.config, model.seed, design, drawn)
    book = model.customers
    book.satisfaction = state.satisfaction.copy()
    book.expectation = state.expectation.copy()
    book.wallet = state.wallet.copy()
    book.channel = state.channel.copy()
    book.relationship = state.relationship.copy()
    book.keep_given()  # what the company's own file says stands
    book.active_at_start = book.active.copy()
    if state.orders is not None:
        model.acc.orders_cl = state.orders.copy()
        model.acc.orders_month = 0
    if design != model.design.name:
        # A reorganisation at day 0: new owners inherit part of the relationship, and pay for it.
        model.station_appointed[model.sales_stations] = 0.0
        model.take_over(state.owner, model.config.reorganisation.relationship_kept)
        model.charge_reorganisation()
        model.apply_learning()
        model.adopt_new_rules()
    elif not np.array_equal(state.owner, model.owner):
        model.take_over(state.owner, 1.0)


def settled_state(
    world_class: type[SalesModel],
    cfg: ModelConfig,
    seed: int,
    design: str,
    drawn: CustomerBook | None = None,
) -> SettledState:
    """The settled state for (config, seed, design), computed once per process.

    The world that settles is a ``world_class`` (the class of the model asking, so this module
    needs no import of it). ``drawn``: the customers that config and seed draw, if already
    drawn; that world takes them over (and changes them) instead of drawing its own.
    """
    # The settling world never reorganises (``_settle``), so runs that differ only in their
    # reorganisation (a switch study's candidates and its stay runs) share one settled state.
    quiet = cfg.model_copy(update={"design": design, "reorganisation": type(cfg.reorganisation)()})
    key = (
        world_class.__qualname__,
        quiet.model_dump_json(),
        int(seed),
    )
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    state = _settle(world_class, cfg, seed, design, drawn)
    _CACHE[key] = state
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return state


def _settle(
    world_class: type[SalesModel],
    cfg: ModelConfig,
    seed: int,
    design: str,
    drawn: CustomerBook | None = None,
) -> SettledState:
    days = cfg.calendar.days_per_month
    # The same horizon: the customer book (future customers included) is drawn from it.
    quiet = cfg.model_copy(
        update={
            "warmup_days": 0,
            # No reorganisation, and none of its settings (the cache key leaves them out).
            "reorganisation": type(cfg.reorganisation)(),
            "start": cfg.start.model_copy(update={"settle_months": 0}),
        }
    )
    world = world_class(quiet, rng=seed, design=design, _settling=True, _customers=drawn)
    book = world.customers
    # The channel mix sets how many needs customers raise (distributor customers raise fewer),
    # which sets response times and field time, which set the channel flows: a few damped
    # rounds of (channel mix, a month of requests, the monthly mechanisms) find the fixed point.
    # A company's own file says who buys direct: its channels stand.
    known_channels = "channel" in book.given
    rounds = ROUNDS if cfg.start.channel_equilibrium and not known_channels else 1
    # Each round needs a month of its own: the flows are read from the month just simulated.
    rounds = max(1, min(rounds, cfg.start.settle_months))
    months = np.diff(np.linspace(0, cfg.start.settle_months, rounds + 1).round().astype(int))
    direct = (book.channel == DIRECT).astype(float)
    u = world.streams["channel.equilibrium"].random(book.size)
    active = book.active.copy()
    for r, n in enumerate(months):
        if r > 0:
            book.channel = np.where(
                active, np.where(u < direct, DIRECT, DISTRIBUTOR), book.channel
            ).astype(book.channel.dtype)
        world.run_days(r * days, (r + 1) * days)
        now = (r + 1) * days * world.hours_per_day
        for _ in range(n):
            cycle.month_end(world, 0, now)
            cycle.month_start(world, 0)
        if r + 1 < rounds:
            direct = 0.5 * (direct + _direct_probability(world, direct))
    return SettledState(
        satisfaction=book.satisfaction.copy(),
        expectation=book.expectation.copy(),
        relationship=book.relationship.copy(),
        wallet=book.wallet.copy(),
        channel=book.channel.copy(),
        owner=world.owner.copy(),
        orders=None if world.acc.orders_cl is None else world.acc.orders_cl.copy(),
    )


def _direct_probability(world: SalesModel, direct: np.ndarray) -> np.ndarray:
    """Per customer position: P(direct) at the steady state of the flows that move a channel.

    A customer converts with monthly chance c (prospecting, ``field_work``) and falls back with
    f (``channel``); customers also turn over: one leaves with its churn hazard h and a newcomer
    takes its place, direct with chance d (won by prospecting while open, else through a
    distributor). For a customer of exponential age, P(direct) = (c + h d) / (c + f + h).
    Prospecting attempts are shared with the newcomers open at any time.
    """
    cfg = world.config
    field = world.mechanisms["field_work"]
    channel = world.mechanisms["channel"]
    churn = world.mechanisms["churn"]
    needed = ("monthly_hit", "conversion_probability")
    if not cfg.channel.enabled or not all(hasattr(field, n) for n in needed):
        return direct  # no channel moves, or a swapped-in mechanism that cannot say its flows
    if not hasattr(channel, "fallback_probability"):
        return direct
    active = world.customers.active
    fall = channel.fallback_probability(world)
    convert = field.conversion_probability(world)
    hazard = np.zeros(len(direct))
    if cfg.churn.enabled and hasattr(churn, "terms"):
        hazard = cycle.sigmoid(sum(churn.terms(world, 0).values()))
    pro = cfg.prospecting
    window = pro.window_months
    open_share = cfg.population.new_customers_per_year / cfg.calendar.months_per_year * window
    p = direct
    for _ in range(50):
        # Candidates: the distributor customers, and the newcomers open at any time.
        hit = field.monthly_hit(world, active * (1.0 - p + open_share))
        won = 1.0 - (1.0 - hit * pro.new_direct_prob) ** window
        newcomer = won / np.maximum(won + (1.0 - won) * pro.distributor_share, 1e-300)
        conv = hit * convert
        flow = conv + fall + hazard
        new = np.where(
            active & (flow > 0), (conv + hazard * newcomer) / np.maximum(flow, 1e-300), direct
        )
        done = np.max(np.abs(new - p)) < 1e-6
        p = new
        if done:
            break
    return p
