"""Service-time and delay distributions drawn from standardised variates.

A stage's work is ``mean * z`` where ``z`` is a unit-mean variate of the chosen shape, made from
one uniform by inversion. Drawing the uniform for every need once, whatever the design, keeps
service-time draws in step across designs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from salesim.model.inputs.params import ServiceTime


def _lognormal_sigma2(spec: ServiceTime) -> float:
    """sigma^2 of the unit-mean lognormal with ``spec``'s coefficient of variation."""
    return np.log1p(spec.cv**2)


def unit_variates(spec: ServiceTime, uniforms: np.ndarray) -> np.ndarray:
    """Unit-mean variates of ``spec``'s shape from pre-drawn uniforms (inverse CDF)."""
    if spec.distribution == "fixed":
        return np.ones_like(uniforms)
    if spec.distribution == "exponential":
        return _exponential(uniforms)
    sigma2 = _lognormal_sigma2(spec)
    return _lognormal(uniforms, np.sqrt(sigma2), sigma2 / 2)


def _exponential(uniforms: np.ndarray) -> np.ndarray:
    return -np.log1p(-uniforms)


def _lognormal(uniforms: np.ndarray, sigma, half_sigma2) -> np.ndarray:
    """exp(sigma z - sigma^2 / 2), z standard normal by inversion: unit mean."""
    return np.exp(sigma * ndtri(uniforms) - half_sigma2)


class MixedVariates:
    """Unit-mean variates where each element has its own shape, ``specs[which]`` (None: 1).

    Elements are inverted a family at a time (every exponential at once, every lognormal at
    once with its own sigma), each only on its own elements; each element gets what
    ``unit_variates`` gives.
    """

    def __init__(self, specs: list[ServiceTime | None]) -> None:
        kinds = [None if s is None else s.distribution for s in specs]
        self.exponential = np.array([k == "exponential" for k in kinds])
        self.lognormal = np.array([k == "lognormal" for k in kinds])
        sigma2 = np.array(
            [
                _lognormal_sigma2(s) if on else 0.0
                for s, on in zip(specs, self.lognormal, strict=True)
            ]
        )
        self.sigma, self.half_sigma2 = np.sqrt(sigma2), sigma2 / 2

    def __call__(self, which: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """The variates of ``uniforms``, element i of shape ``specs[which[i]]``."""
        out = np.ones(len(uniforms))  # fixed shapes, and elements of no shape
        if self.exponential.any():
            rows = self.exponential[which]
            out[rows] = _exponential(uniforms[rows])
        if self.lognormal.any():
            rows = self.lognormal[which]
            k = which[rows]
            out[rows] = _lognormal(uniforms[rows], self.sigma[k], self.half_sigma2[k])
        return out


def draw(spec: ServiceTime, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` draws in hours."""
    return spec.mean_hours * unit_variates(spec, rng.random(size))
