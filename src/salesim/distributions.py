"""Service-time and delay distributions drawn from standardised variates.

A stage's work is ``mean * z`` where ``z`` is a unit-mean variate of the chosen shape, made from
one uniform by inversion. Drawing the uniform for every need once, whatever the design, keeps
service-time draws in step across designs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from salesim.params import ServiceTime


def unit_variates(spec: ServiceTime, uniforms: np.ndarray) -> np.ndarray:
    """Unit-mean variates of ``spec``'s shape from pre-drawn uniforms (inverse CDF)."""
    if spec.distribution == "fixed":
        return np.ones_like(uniforms)
    if spec.distribution == "exponential":
        return -np.log1p(-uniforms)
    sigma2 = np.log1p(spec.cv**2)
    return np.exp(np.sqrt(sigma2) * ndtri(uniforms) - sigma2 / 2)


def draw(spec: ServiceTime, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` draws in hours."""
    return spec.mean_hours * unit_variates(spec, rng.random(size))
