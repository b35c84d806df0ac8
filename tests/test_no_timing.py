"""No test measures speed (issue 24): speed is printed by benchmarks/, never asserted.

A test that reads a clock breaks when the code gets faster or the machine slower. Waiting is
allowed only as polling for a state (tests/waiting.py, tests/browser_page.py), which sleeps
between polls but never reads the time.
"""

import re
from pathlib import Path

TESTS = Path(__file__).parent
CLOCKS = re.compile(
    r"perf[_]counter|time\.time\(|monotonic\(|process_time|timeit|datetime\.now\(|"
    r"\btime\(\)\s*-|elaps[e]d|per_second|per second"
)
# A sleep is a poll only inside these two helpers, between checks of a condition.
POLLERS = {"waiting.py", "browser_page.py"}


def sources():
    return [p for p in TESTS.rglob("*.py") if p.name != Path(__file__).name]


def test_no_test_reads_a_clock():
    hits = [
        f"{p.relative_to(TESTS)}:{n}: {line.strip()}"
        for p in sources()
        for n, line in enumerate(p.read_text().splitlines(), 1)
        # Comments may talk about time (why a number cannot be compared); code may not read it.
        if CLOCKS.search(line) and not line.lstrip().startswith("#")
    ]
    assert hits == []


def test_sleeps_only_inside_the_polling_helpers():
    hits = [
        f"{p.relative_to(TESTS)}:{n}"
        for p in sources()
        if p.name not in POLLERS
        for n, line in enumerate(p.read_text().splitlines(), 1)
        # A child script's own sleep (a process to be killed) is text in a string, not a wait.
        if re.search(r"^\s*time\.sleep\(", line)
    ]
    assert hits == []


def test_the_guard_sees_a_clock():
    """The pattern is not blind: it flags the forms a timing assertion takes."""
    # Built from pieces, so that this file holds no clock read of its own for a scan to find.
    clock = "time."
    for line in (
        f"t0 = {clock}perf" + "_counter()",
        f"start = {clock}time()",
        "rate = n / el" + "apsed",
    ):
        assert CLOCKS.search(line)
