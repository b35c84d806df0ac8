"""Field work: how each person spends the time not taken by requests.

The same policy for every design: a person's field time is the business hours its request work
left this month (at most the design's ``field_hours_per_day``, if it sets one). It keeps
``field_work.prospecting_share`` of that time for prospecting and visits its portfolio with the
rest, each customer it owns lines of at the segment's target rate
(``relationship.visits_per_month``), scaled down when time is short; visit time left over also
goes to prospecting. A visit takes ``staff.visit_hours`` (longer by
``field_work.extra_line_visit_share`` for each further line the visitor owns at that customer)
plus travel, which grows with the regions the person covers. A visit builds the relationship on
each line the visitor owns (``relationship.gain_per_visit``). Field staff (a design's people who
own no customers) prospect with the whole business day. Designs differ only in who owns what,
who covers which territory and how many are in the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, owners_per_line, register_mechanism, sigmoid
from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR, OPEN, SEGMENTS

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class ReservedProspecting(Mechanism):
    """Visits with most of the field time, prospecting with a reserved share and what is left."""

    slot = "field_work"
    name = "reserved_prospecting"

    def __init__(self) -> None:
        self.field_hours: np.ndarray | None = None  # per sales person, last month with requests
        self.attempts_per_group = np.zeros(0)

    def travel_per_visit(self, model: SalesModel, people: list | None = None) -> np.ndarray:
        """Travel hours per visit of each sales person (or of ``people``), from their territory."""
        staff = model.config.staff
        people = model.sales_staff if people is None else people
        covered = np.array([len(s.regions) for s in people], dtype=float)
        return staff.travel_hours_per_region * covered**staff.travel_region_exponent

    def _field_hours(self, model: SalesModel) -> np.ndarray:
        """Hours each sales person had outside requests this month."""
        acc = model.acc
        work = model.stations.work_done
        sales = model.sales_stations
        start = np.zeros(len(work))
        if acc.work_at_month_start is not None:
            start[: len(acc.work_at_month_start)] = acc.work_at_month_start
        done = (work - start)[sales]
        acc.work_at_month_start = work.copy()
        if model.settling and self.field_hours is not None and not done.any():
            return self.field_hours  # while the start settles, most months simulate no requests
        self.field_hours = np.maximum(0.0, model.hours_per_day * model.days_per_month - done)
        if model.field_cap is not None:  # a design that keeps idle desk time at the desk
            self.field_hours = np.minimum(self.field_hours, model.field_cap)
        return self.field_hours

    def month_end(self, model: SalesModel, month: int) -> None:
        """Visits (relationships), travel, then prospecting."""
        cfg = model.config
        staff = cfg.staff
        book = model.customers
        acc = model.acc
        field = self._field_hours(model)
        flat, person, target, wanted, need, travel = model.by_portfolio(
            "field_work.visit_plan", lambda: self._visit_plan(model)
        )
        for_visits = (1 - cfg.field_work.prospecting_share) * field
        frac = np.where(need > 0, np.minimum(1.0, for_visits / np.maximum(need, 1e-12)), 1.0)
        visits = frac[person] * target  # the owner's visits to the customer, per line

        rel = cfg.relationship
        r = book.relationship
        r.put(flat, np.clip(r.take(flat) * (1 - rel.decay) + rel.gain_per_visit * visits, 0, 1))
        made = frac * wanted
        acc.month["visits"] = float(made.sum())
        acc.month["travel_hours"] = float((made * travel).sum())

        spare = np.maximum(0.0, field - frac * need)
        attempts = spare / (staff.visit_hours + travel)
        groups = model.prospect_groups
        if model.field_staff:  # people in the field all day prospect with every business hour
            out = self.travel_per_visit(model, model.field_staff)
            hours = model.hours_per_day * model.days_per_month
            travel = np.concatenate([travel, out])
            attempts = np.concatenate([attempts, hours / (staff.visit_hours + out)])
            groups = np.concatenate([groups, [p.group for p in model.field_staff]])
        self.attempts_per_group = np.bincount(
            groups, weights=attempts, minlength=model.prospect_member.shape[1]
        )
        if not cfg.prospecting.enabled:
            self.attempts_per_group[:] = 0.0
            return
        acc.month["travel_hours"] += float((attempts * travel).sum())
        if not model.settling:
            self._prospect(model)

    def _visit_plan(self, model: SalesModel) -> tuple[np.ndarray, ...]:
        """Who visits which (customer, line), the visits wanted and the hours they take.

        Depends on owners and on which customers are ours only (``model.by_portfolio``).
        """
        cfg = model.config
        staff = cfg.staff
        book = model.customers
        sales = model.sales_stations
        travel = self.travel_per_visit(model)
        index = np.full(len(model.stations), -1)
        index[sales] = np.arange(len(sales))
        segment_target = np.array([cfg.relationship.visits_per_month[s] for s in SEGMENTS])
        same = owners_per_line(model)
        valid = book.active[:, None] & book.buys & (model.owner >= 0)
        rows, cols = np.nonzero(valid)
        person = index[model.owner[rows, cols]]
        target = segment_target[book.segment[rows]]
        # Each (customer, person) pair once: every line counts 1 / (lines that person owns).
        pair = 1.0 / same[rows, cols]
        length = staff.visit_hours * (
            1 + cfg.field_work.extra_line_visit_share * (same[rows, cols] - 1)
        )
        wanted = np.bincount(person, weights=pair * target, minlength=len(sales))
        need = np.bincount(
            person, weights=pair * target * (length + travel[person]), minlength=len(sales)
        )
        flat = rows * book.volume.shape[1] + cols  # (customer, line) as one flat index
        return flat, person, target, wanted, need, travel

    def conversion_probability(self, model: SalesModel) -> np.ndarray:
        """Per customer: chance a prospecting visit converts it (distributor) or wins it (new)."""
        cfg = model.config
        book = model.customers
        ch = cfg.channel
        p = sigmoid(
            ch.convert_intercept
            + ch.convert_log_volume * book.log_volume
            + ch.convert_satisfaction * (book.satisfaction - 0.5)
        )
        if not ch.enabled:
            p = np.where(book.channel == DISTRIBUTOR, 0.0, p)
        return np.where(book.channel == OPEN, cfg.prospecting.new_direct_prob, p)

    def monthly_hit(self, model: SalesModel, eligible: np.ndarray) -> np.ndarray:
        """Per customer: chance a prospecting visit reaches it in a month, if it is a candidate.

        ``eligible`` weighs each customer as a candidate (1 for a distributor customer, or its
        expected number of candidates); attempts spread evenly over a group's candidates.
        """
        member = model.prospect_member
        w = self.target_weight(model)
        candidates = (eligible * w) @ member
        per_candidate = self.attempts_per_group / np.maximum(candidates, 1e-12)
        return np.minimum(1.0, w * (member @ per_candidate))

    def target_weight(self, model: SalesModel) -> np.ndarray | float:
        """Per customer: its weight as a prospecting target (1: uniform; by volume to a power)."""
        t = model.config.prospecting.volume_targeting
        if t == 0:
            return 1.0
        volume = model.customers.volume.sum(axis=1)
        return (volume / max(float(volume.mean()), 1e-12)) ** t

    def _prospect(self, model: SalesModel) -> None:
        book = model.customers
        acc = model.acc
        rng = model.streams["prospecting"]
        eligible = (book.channel == DISTRIBUTOR) | (book.channel == OPEN)
        p_convert = self.conversion_probability(model)
        w = self.target_weight(model)
        weight = None if np.isscalar(w) else w
        won_new: list[np.ndarray] = []
        total = 0
        for g, attempts in enumerate(self.attempts_per_group):
            cand = np.flatnonzero(model.prospect_member[:, g] & eligible)
            k = int(attempts) + int(rng.random() < attempts - int(attempts))
            if k == 0 or len(cand) == 0:
                continue
            total += k
            # The candidates hit at least once, in order (cand is sorted): np.unique, cheaper.
            reached = np.zeros(len(cand), dtype=bool)
            if weight is None:
                reached[rng.integers(0, len(cand), k)] = True
            else:  # visits aimed at the large candidates (prospecting.volume_targeting)
                p = weight[cand] / weight[cand].sum()
                reached[rng.choice(len(cand), k, p=p)] = True
            hit = cand[reached]
            win = hit[rng.random(len(hit)) < p_convert[hit]]
            is_new = book.channel[win] == OPEN
            book.channel[win] = DIRECT
            won_new.append(win[is_new])
            eligible[win] = False
            acc.month["converted"] += float((~is_new).sum())
        acc.month["prospect_attempts"] = float(total)
        if won_new:
            new = np.concatenate(won_new)
            acc.month["won_direct"] = float(len(new))
            model.welcome(new)
