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


_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = (np.uint64(s) for s in (11, 27, 30, 31))


def keyed_uniforms(keys: np.ndarray, position: int | np.ndarray) -> np.ndarray:
    """Uniforms on [0, 1): the ``position``-th draw (0, 1, ...) of each entity with a 64-bit key.

    ``keys`` is an array (uint64); ``position`` an int or an array broadcast against it.

    Each key seeds a SplitMix64 sequence (Steele, Lea & Flood 2014, the generator behind Java's
    SplittableRandom, which passes BigCrush), so any draw of any entity is computed on its own:
    an entity that only some designs keep (a need a customer raises in one design, not in
    another) has the same draws wherever it appears, and nothing is drawn for the rest.
    """
    # Array arithmetic on uint64 wraps silently, as SplitMix64 wants; the scalar step is
    # computed in Python (numpy scalars would warn on the wrap).
    if np.ndim(position) == 0:
        step = np.uint64(((int(position) + 1) * _GOLDEN) & _MASK)
    else:
        step = (np.asarray(position, dtype=np.uint64) + np.uint64(1)) * np.uint64(_GOLDEN)
    z = np.asarray(keys, dtype=np.uint64) + step
    # The SplitMix64 finaliser, in place: this runs on every need of every month.
    t = z >> _S30
    z ^= t
    z *= _MIX1
    np.right_shift(z, _S27, out=t)
    z ^= t
    z *= _MIX2
    np.right_shift(z, _S31, out=t)
    z ^= t
    z >>= _S11
    return z * 2.0**-53
