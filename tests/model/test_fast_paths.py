"""Shortcuts taken for speed give, bit for bit, what the plain numpy they replace gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from salesim.model.distributions import MixedVariates, unit_variates
from salesim.model.inputs.params import ServiceTime
from salesim.model.kpis import quantile
from salesim.model.requests import Needs, _stable_argsort
from salesim.model.streams import keyed_uniforms

# Few distinct values, so ties are common; nan where allowed.
tied = st.sampled_from([0.0, 0.5, 1.0, 2.25, 7.0, 1e-300])
values = arrays(np.float64, st.integers(1, 40), elements=tied | st.floats(0, 1e6))


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.95, 1.0]), st.booleans())
def test_quantile_is_numpys_linear_quantile(x, q, with_nan):
    if with_nan:
        x[len(x) // 2] = np.nan
    np.testing.assert_array_equal(quantile(x, q), np.quantile(x, q))


def test_quantile_rounds_as_numpy_does():
    # Interpolating from the nearer end rounds differently in a few percent of cases.
    rng = np.random.default_rng(0)
    for n in range(2, 400):
        x = rng.exponential(3.0, n)
        for q in (0.9, 0.95, 0.25):
            assert quantile(x, q) == np.quantile(x, q), (n, q)


def test_quantile_of_nothing_is_nan():
    assert np.isnan(quantile(np.zeros(0), 0.9))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 60), elements=tied))
def test_stable_argsort_keeps_ties_in_order(x):
    np.testing.assert_array_equal(_stable_argsort(x), np.argsort(x, kind="stable"))


def test_mixed_variates_give_each_element_its_shapes_variate():
    specs = [
        ServiceTime(distribution="exponential", mean_hours=1.0),
        ServiceTime(distribution="lognormal", mean_hours=2.0, cv=0.7),
        None,
        ServiceTime(distribution="fixed", mean_hours=3.0),
        ServiceTime(distribution="lognormal", mean_hours=1.0, cv=2.0),
    ]
    rng = np.random.default_rng(3)
    which = rng.integers(0, len(specs), 5000)
    u = rng.random(5000)
    got = MixedVariates(specs)(which, u)
    for k, spec in enumerate(specs):
        rows = which == k
        want = unit_variates(spec, u[rows]) if spec else np.ones(rows.sum())
        np.testing.assert_array_equal(got[rows], want)


def test_variates_asked_together_are_those_asked_one_by_one():
    n = 50
    keys = np.random.default_rng(4).bit_generator.random_raw(n)
    needs = Needs(np.arange(n), np.zeros(n, int), np.zeros(n), np.zeros((n, 2), int), keys)
    rows = np.array([3, 1, 49, 3])
    asked = [(rows, 2), (slice(None), 7), (rows[:0], 1), (rows, np.array([0, 1, 2, 3]))]
    together = needs.variates_of(*asked)
    assert len(together) == len(asked)
    for (r, column), got in zip(asked, together, strict=True):
        np.testing.assert_array_equal(got, needs.variates(r, column))
        np.testing.assert_array_equal(got, keyed_uniforms(keys[r], column))
