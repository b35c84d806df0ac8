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

The interface they implement and ``@register_mechanism`` live in ``salesim.model.cycle``; the
registry of names in ``salesim.model.inputs.registry``. Importing this package registers the
default of every slot (each module below registers its own on import).
"""

from salesim.model.mechanisms import (  # noqa: F401  (each registers itself)
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
