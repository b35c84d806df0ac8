"""Results on disk, written so that nothing is lost and nothing is counted twice.

Each batch of runs lands as its own set of Parquet parts (per-run tables first, then the run
records, which mark the batch done), each written to a temporary file and renamed into
place. A killed process leaves at most a temporary file, which the next start removes; a
resumed experiment skips the batches whose run records exist. ``runs.parquet``,
``timeseries.parquet`` and ``responses.parquet`` are rebuilt from the parts in plan order,
streaming one part at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesim.config import ConfigError, SalesimConfig
from salesim.datafiles import data_files, file_digests

#: Per-run tables: part prefix -> consolidated file.
TABLES = {"ts": "timeseries.parquet", "responses": "responses.parquet"}


def now() -> str:
    """UTC time stamp."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def fingerprint(cfg: SalesimConfig) -> str:
    """Identity of an experiment: its resolved config and the contents of its data files.

    An edited customer file or roster is another experiment, so ``--resume`` cannot mix runs
    on old and new data.
    """
    config = cfg.model_dump(mode="json")
    digests = file_digests(data_files(cfg.model))
    text = json.dumps({"config": config, "files": digests} if digests else config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write a Parquet file atomically."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("salesim", "mesa", "numpy", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _seeds(cfg: SalesimConfig) -> dict[str, Any]:
    from salesim.experiments.plan import seed_of

    exp = cfg.experiment
    most = exp.precision.maximum if exp.precision else exp.replications
    return {
        "first": seed_of(cfg),
        "replications": most,
        "rule": "replication i of every design, scenario and sweep point uses seed first + i",
    }


class Store:
    """An experiment's output directory."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.parts = self.out / "parts"
        self.manifest_path = self.out / "manifest.json"

    # --- opening -----------------------------------------------------------------------------

    def open(self, cfg: SalesimConfig, resume: bool) -> str:
        """Prepare the directory: 'new', 'resume' or 'complete'; refuse a foreign directory."""
        fp = fingerprint(cfg)
        if self.out.exists() and any(self.out.iterdir()):
            if not self.manifest_path.exists():
                raise ConfigError(
                    f"--out {self.out}: directory holds files but no salesim manifest; "
                    "choose an empty or new directory"
                )
            manifest = self.manifest()
            if manifest.get("fingerprint") != fp:
                raise ConfigError(
                    f"--out {self.out}: holds a different experiment ({manifest.get('name')!r}, "
                    f"started {manifest.get('started')}); choose another directory"
                )
            if manifest.get("status") == "complete":
                return "complete"
            if not resume:
                raise ConfigError(
                    f"--out {self.out}: holds an unfinished run of this experiment "
                    f"({manifest['runs']['done']} runs stored); add --resume to finish it"
                )
            self._clean()
            return "resume"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.write_manifest(
            {
                "name": cfg.name,
                "fingerprint": fp,
                "status": "running",
                "started": now(),
                "ended": None,
                "versions": _versions(),
                "git_commit": _git_commit(),
                "config": cfg.model_dump(mode="json"),
                "data_files": file_digests(data_files(cfg.model)),
                "runs": {"planned": 0, "done": 0, "failed": 0},
                "sessions": [],
                "seeds": _seeds(cfg),
            }
        )
        return "new"

    def _clean(self) -> None:
        """Remove temporary files and per-run tables whose run records never landed."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for tmp in self.parts.glob(".*.tmp-*"):
            tmp.unlink()
        for kind in TABLES:
            for part in self.parts.glob(f"{kind}-*.parquet"):
                if not (self.parts / part.name.replace(f"{kind}-", "runs-", 1)).exists():
                    part.unlink()

    # --- manifest ----------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """The manifest as stored."""
        return json.loads(self.manifest_path.read_text())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically."""
        atomic_write_bytes(self.manifest_path, json.dumps(manifest, indent=2).encode())

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        """Update fields of the manifest."""
        manifest = self.manifest()
        manifest.update(changes)
        self.write_manifest(manifest)
        return manifest

    # --- parts -------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """Whether batch ``name`` is stored."""
        return (self.parts / f"runs-{name}.parquet").exists()

    def write_batch(
        self, name: str, results: list[tuple[dict[str, Any], dict[str, pd.DataFrame]]]
    ) -> int:
        """Store one batch; return how many of its runs failed."""
        for kind in TABLES:
            frames = [tables[kind] for _, tables in results if kind in tables]
            if frames:
                table = pa.Table.from_pandas(
                    pd.concat(frames, ignore_index=True), preserve_index=False
                )
                atomic_write_table(self.parts / f"{kind}-{name}.parquet", table)
        records = pd.DataFrame([rec for rec, _ in results])
        atomic_write_table(
            self.parts / f"runs-{name}.parquet", pa.Table.from_pandas(records, preserve_index=False)
        )
        return int((records["status"] != "ok").sum())

    def part_names(self) -> list[str]:
        """Stored batches in plan order."""
        return sorted(
            p.name[len("runs-") : -len(".parquet")] for p in self.parts.glob("runs-*.parquet")
        )

    def read_runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All stored run records (or some columns of them), in plan order."""
        names = self.part_names()
        if not names:
            return pd.DataFrame()
        return pd.concat(
            [pd.read_parquet(self.parts / f"runs-{n}.parquet", columns=columns) for n in names],
            ignore_index=True,
        )

    def counts(self) -> tuple[int, int]:
        """(runs stored, of which failed)."""
        runs = self.read_runs(["status"])
        return (len(runs), int((runs["status"] != "ok").sum())) if len(runs) else (0, 0)

    # --- consolidation -----------------------------------------------------------------------

    def consolidate(self) -> None:
        """Rebuild runs.parquet and timeseries.parquet from the parts, one part at a time."""
        for kind, target in (("runs", "runs.parquet"), *TABLES.items()):
            files = [self.parts / f"{kind}-{n}.parquet" for n in self.part_names()]
            files = [f for f in files if f.exists()]
            if not files:
                continue
            schema = pa.unify_schemas(
                [pq.read_schema(f) for f in files], promote_options="permissive"
            )
            schema = schema.remove_metadata()
            tmp = self.out / f".{target}.tmp-{os.getpid()}"
            with pq.ParquetWriter(tmp, schema) as writer:
                for f in files:
                    table = pq.read_table(f).replace_schema_metadata(None)
                    for name in schema.names:
                        if name not in table.column_names:
                            table = table.append_column(
                                name, pa.nulls(len(table), schema.field(name).type)
                            )
                    writer.write_table(table.select(schema.names).cast(schema))
            os.replace(tmp, self.out / target)
