"""Should we switch from product reps, and when does it pay back? (the Python API).

    .venv/bin/python experiments/switch_study.py [--replications N] [--out DIR]

The same study as ``salesim run configs/switch.yaml`` (``make compare``): each candidate
switches at the configured month, the stay runs keep the organisation in place, on common
random numbers. Prints, per transition scenario and candidate, the payback month with its
bootstrap CI and the NPV with its paired CI.
"""

from __future__ import annotations

import argparse
import math

import salesim
from salesim.experiments.compare import SIDE
from salesim.experiments.switch import analyse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", default="results/switch_api")
    args = parser.parse_args()
    study = salesim.run_study(
        "configs/switch.yaml", args.out, replications=args.replications, resume=True
    )
    print(f"{len(study.runs)} runs, report {study.out / 'report.html'}")
    monthly = study.timeseries.set_index(SIDE).sort_index()  # as the report reads it
    for r in analyse(study.config, monthly, study.runs):
        high = "beyond" if math.isinf(r.payback_high) else f"{r.payback_high:.0f}"
        low = "beyond" if math.isinf(r.payback_low) else f"{r.payback_low:.0f}"
        print(
            f"{r.scenario:>8} {r.candidate:>16}: payback month {r.payback or 'none'} "
            f"(95% CI {low}-{high}), NPV {r.npv / 1e6:+.1f} M ± {r.npv_hw / 1e6:.1f} M"
        )


if __name__ == "__main__":
    main()
