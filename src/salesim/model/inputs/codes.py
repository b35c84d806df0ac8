"""The codes customer columns hold: channels and segments, and the names of drawn regions.

Here, below the rest of the model, because a customer file is read into these codes before any
model exists (``salesim.model.own_data.customers``).
"""

from __future__ import annotations

#: A customer's channel (``CustomerBook.channel``): bought from us directly or through a
#: distributor, lost to a competitor, open (new, not yet won or settled elsewhere), a future
#: customer's slot, or a newcomer that settled elsewhere.
DIRECT, DISTRIBUTOR, LOST, OPEN, FUTURE, ELSEWHERE = range(6)
CHANNELS = ("direct", "distributor", "lost", "open", "future", "elsewhere")
SEGMENTS = ("key", "medium", "small")


def synthetic_region_names(count: int) -> tuple[str, ...]:
    """Names of drawn regions (R1, R2, ...), as a roster or a template file writes them."""
    return tuple(f"R{i + 1}" for i in range(count))
