"""Waiting for a state without reading a clock: a wait that gives up is a failure, never a
measurement (speed is measured by benchmarks/, not by tests)."""

from __future__ import annotations

import time

INTERVAL = 0.05


def until(condition, seconds: float, what: str):
    """Return ``condition()``'s first true value, polled every INTERVAL for about ``seconds``.

    Counts polls instead of reading a clock, so a slow machine waits longer, never less.
    """
    for _ in range(max(1, round(seconds / INTERVAL))):
        value = condition()
        if value:
            return value
        time.sleep(INTERVAL)
    raise AssertionError(f"gave up waiting for {what} (about {seconds:g} s)")
