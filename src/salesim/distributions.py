"""Service-time and delay distributions drawn from standardised variates.

A stage's work is ``mean * z`` where ``z`` is a unit-mean variate of the chosen shape, made from
one uniform by inversion. Drawing the uniform for every need once, whatever the design, keeps
service-time draws in step across designs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from salesim.params import ServiceTime


def _lognormal_sigma2(spec: ServiceTime) -> float:
    """sigma^2 of the unit-mean lognormal with ``spec``'s coefficient of variation."""
    return np.log1p(spec.cv**2)


def unit_variates(spec: ServiceTime, uniforms: np.ndarray) -> np.ndarray:
    """Unit-mean variates of ``spec``'s shape from pre-drawn uniforms (inverse CDF)."""
    if spec.distribution == "fixed":
        return np.ones_like(uniforms)
    if spec.distribution == "exponential":
        return -np.log1p(-uniforms)
    sigma2 = _lognormal_sigma2(spec)
    return np.exp(np.sqrt(sigma2) * ndtri(uniforms) - sigma2 / 2)


class MixedVariates:
    """Unit-mean variates where each element has its own shape, ``specs[which]`` (None: 1).

    The lognormal shapes are inverted in one pass with each element's sigma, the others
    shape by shape through ``unit_variates``; each element gets what ``unit_variates`` gives.
    """

    def __init__(self, specs: list[ServiceTime | None]) -> None:
        self.specs = specs
        self.lognormal = [s is not None and s.distribution == "lognormal" for s in specs]
        sigma2 = np.array(
            [
                _lognormal_sigma2(s) if on else 0.0
                for s, on in zip(specs, self.lognormal, strict=True)
            ]
        )
        self.sigma, self.half_sigma2 = np.sqrt(sigma2), sigma2 / 2

    def __call__(self, which: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """The variates of ``uniforms``, element i of shape ``specs[which[i]]``."""
        out = np.exp(self.sigma[which] * ndtri(uniforms) - self.half_sigma2[which])
        for k, spec in enumerate(self.specs):
            if not self.lognormal[k]:
                rows = which == k
                if rows.any():
                    out[rows] = unit_variates(spec, uniforms[rows]) if spec else 1.0
        return out


def draw(spec: ServiceTime, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` draws in hours."""
    return spec.mean_hours * unit_variates(spec, rng.random(size))
