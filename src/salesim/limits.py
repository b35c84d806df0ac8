"""Limits every plan is checked against before anything is expanded (import-free, for the CLI)."""

#: Most runs an experiment may plan unless ``--max-runs`` raises it.
DEFAULT_MAX_RUNS = 100_000
