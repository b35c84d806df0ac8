"""Experiments: what-if comparisons and sweeps defined in config files, run on any executor.

``spec`` (the ``experiment:`` section), ``plan`` (the runs it implies), ``runner`` (running a
batch of them, wherever), ``store`` (atomic, resumable storage), ``stats`` (confidence
intervals, paired differences, sensitivity indices), ``driver`` (all of it, with progress),
``estimate`` (how long a study will take, from a few of its runs).
"""

#: Where runs can execute (``salesim run --executor``); here so the CLI need not import the runner.
EXECUTORS = ("sequential", "process", "dask")

#: Most runs an experiment may plan unless ``--max-runs`` raises it (checked before anything is
#: expanded; here, import-free, for the CLI).
DEFAULT_MAX_RUNS = 100_000
