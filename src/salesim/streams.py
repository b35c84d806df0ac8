"""Named random streams: one seed in, one independent generator per stochastic process.

Each stream's seed is ``SeedSequence([seed, hash(name)])``, so adding a stream or drawing more
from one never shifts another. Draws from exogenous streams (customers, demand) have shapes that
do not depend on the organisation design, which is what makes two designs on one seed see the
same customers and the same demand (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


class RandomStreams:
    """A lazily created generator per name, all derived from one seed.

    ``prefix`` gives every stream but ``shared`` ones a separate family: the steady start runs a
    world of its own (``prefix="start/"``) on the same customers (``shared=("customers",)``)
    without drawing from the streams the measured run uses.
    """

    def __init__(self, seed: int, prefix: str = "", shared: tuple[str, ...] = ()) -> None:
        self.seed = int(seed)
        self.prefix = prefix
        self.shared = shared
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            key = name if name in self.shared else self.prefix + name
            seq = np.random.SeedSequence([self.seed, stream_key(key)])
            gen = self._streams[name] = np.random.Generator(np.random.PCG64(seq))
        return gen

    def names(self) -> list[str]:
        """Streams used so far."""
        return sorted(self._streams)
