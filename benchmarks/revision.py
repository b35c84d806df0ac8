"""Another git revision's code beside this tree's, for benchmarks that compare the two."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A temporary copy of ``rev``'s ``src`` and ``configs`` (from ``git archive``), removed on
    exit; nothing is registered in the repository, so an interrupted benchmark leaves no trace.
    """
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src", "configs"], capture_output=True, check=True
    ).stdout
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
        yield Path(tmp)
