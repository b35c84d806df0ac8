"""Results on disk, written so that nothing is lost, nothing is counted twice, nothing is trusted.

Each batch of runs lands as its own set of Parquet parts (per-run tables first, then the run
records), each written to a temporary file and renamed into place, and then a small record
``batch-NAME.json`` with the number of runs and the SHA-256 of every part: the record marks
the batch done. A killed process leaves at most a temporary file or parts without a record,
which the next start removes. Whether an experiment is complete is decided from the data:
every batch the plan expects must have a record whose checksums match the files (a missing or
damaged batch is re-run by ``--resume``). ``runs.parquet``, ``timeseries.parquet`` and
``responses.parquet`` are rebuilt from the verified parts in plan order, one part at a time.

One process at a time may write a results directory: ``lock`` takes an exclusive lock
(``filelock``) and records who holds it, so a second ``salesim`` names the holder's PID.

Nothing here deletes or shrinks a table that was whole: the consolidated tables are written
only when every batch of the plan is verified (or, for a study never finished, when a session
stops), and a reader (``salesim report``) takes the verified parts in memory instead. The
study's identity (``fingerprint``) includes the SHA-256 of every data file it reads, the base
model's and each scenario's, and every batch record says which digests its runs read.
Stored JSON is read capped in size and checked in shape; Parquet is opened by us and handed
to pyarrow as a file, so a directory named like a URI (``file:x``, ``study:v2``) stays a path.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesim.experiments.config import ConfigError, SalesimConfig
from salesim.model.data_files import data_files
from salesim.model.inputs.files import cut, read_capped, regular
from salesim.model.own_data.tables import file_digests, shown

#: Per-run tables: part prefix -> consolidated file.
TABLES = {"ts": "timeseries.parquet", "responses": "responses.parquet"}
LOCK_FILE = ".salesim.lock"
HOLDER_FILE = ".salesim.lock.json"
#: Files of ours that may be in a directory before its manifest is written.
_BOOKKEEPING = {LOCK_FILE, HOLDER_FILE}
#: Largest manifest and batch record read (a 100,000-run study's manifest is a few MB).
MAX_MANIFEST_BYTES = 64_000_000
MAX_RECORD_BYTES = 1_000_000


class StoreError(ConfigError):
    """A results directory that cannot be used as asked (one line naming it and what to do)."""


def now() -> str:
    """UTC time stamp."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def study_files(cfg: SalesimConfig) -> list[str]:
    """Every data file a study reads: the base model's, then those its scenarios name."""
    files = list(data_files(cfg.model))
    if cfg.experiment is not None:
        from salesim.experiments.plan import Run, model_config, seed_of

        for scenario, overrides in cfg.experiment.scenario_overrides().items():
            if any(key.endswith("_file") for key in overrides):
                run = Run("probe", 0, scenario, cfg.model.design, 0, seed_of(cfg), {})
                files += data_files(model_config(cfg, run))
    return list(dict.fromkeys(files))


def input_digests(cfg: SalesimConfig) -> dict[str, str]:
    """SHA-256 of every data file the study reads, by path."""
    return file_digests(study_files(cfg))


def fingerprint(cfg: SalesimConfig, digests: dict[str, str] | None = None) -> str:
    """Identity of an experiment: its resolved config and the contents of its data files.

    An edited customer file, roster or scenario data file is another experiment, so
    ``--resume`` cannot mix runs on old and new data. ``digests``: ``input_digests(cfg)``.
    """
    config = cfg.model_dump(mode="json")
    digests = input_digests(cfg) if digests is None else digests
    text = json.dumps({"config": config, "files": digests} if digests else config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def changed_inputs(old: Any, new: dict[str, str]) -> list[str]:
    """The data files whose digest differs between a manifest's ``data_files`` and ``new``."""
    old = old if isinstance(old, dict) else {}
    return [p for p in dict.fromkeys([*old, *new]) if old.get(p) != new.get(p)]


def sha256(path: Path) -> str:
    """SHA-256 of a regular file, read in chunks (ConfigError for a FIFO, a directory...)."""
    regular(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left behind when writing failed (e.g. disk full)


def atomic_write_table(path: Path, table: pa.Table) -> str:
    """Write a Parquet file atomically; return its SHA-256."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:  # a file object: pyarrow never reads the name as a URI
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A stored Parquet file as a frame, opened by us (a name like ``study:v2`` is no URI)."""
    with open(path, "rb") as fh:
        return pd.read_parquet(fh, columns=columns)


def io_error(out: Path, exc: OSError, doing: str) -> StoreError:
    """One line for an operating-system error on the results directory, saying what to do."""
    where = exc.filename or out
    reason = exc.strerror or str(exc)
    hint = {
        28: "free some space",  # ENOSPC
        122: "free some space",  # EDQUOT
        13: "choose a directory you may write to",  # EACCES
        1: "choose a directory you may write to",  # EPERM
        30: "choose a writable file system",  # EROFS
        20: "choose a directory, not a file",  # ENOTDIR
        21: "choose a directory, not a file",  # EISDIR
    }.get(exc.errno or 0, "check the directory")
    return StoreError(f"--out {out}: cannot {doing} {where}: {reason}; {hint}")


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
    from salesim.experiments.plan import most_replications, seed_of

    return {
        "first": seed_of(cfg),
        "replications": most_replications(cfg),
        "rule": "replication i of every design, scenario and sweep point uses seed first + i",
    }


def check_out_name(out: Path) -> None:
    """StoreError if ``out`` cannot name a directory here: a NUL byte, bytes not UTF-8."""
    if "\0" in str(out):
        raise StoreError(f"--out {cut(repr(str(out)))}: not a valid directory name (NUL byte)")
    try:
        str(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(str(out)[exc.start]) & 0xFF  # surrogateescape keeps the byte
        raise StoreError(
            f"--out {cut(ascii(os.fsencode(out)))}: not UTF-8 (byte 0x{byte:02x}); use a "
            "name in UTF-8"
        ) from None


#: Directories this process holds the lock of (the lock is re-entrant within a process).
_HELD: dict[Path, int] = {}


class Store:
    """An experiment's output directory."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.parts = self.out / "parts"
        self.manifest_path = self.out / "manifest.json"
        #: Batches whose record and parts were verified (or written) in this session.
        self.good: dict[str, dict[str, Any]] = {}

    # --- the directory and its lock ----------------------------------------------------------

    def make_dir(self) -> None:
        """Create the output directory; one line if it cannot be."""
        check_out_name(self.out)
        if self.out.exists() and not self.out.is_dir():
            raise StoreError(f"--out {self.out}: is a file, not a directory; choose a directory")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise io_error(self.out, exc, "create") from None

    @contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the directory's exclusive lock; StoreError naming the holder if it is taken."""
        from filelock import FileLock, Timeout

        self.make_dir()
        self._refuse_foreign()  # before the lock file: leave other people's directories alone
        key = self.out.resolve()
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        lock = FileLock(str(self.out / LOCK_FILE), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"--out {self.out}: in use by {self.holder()}; wait for it to finish or stop "
                "it, then try again"
            ) from None
        except OSError as exc:
            raise io_error(self.out, exc, "lock") from None
        _HELD[key] = 1
        try:
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": command}
            try:
                atomic_write_bytes(self.out / HOLDER_FILE, json.dumps(holder).encode())
            except OSError as exc:
                raise io_error(self.out, exc, "write to") from None
            yield
        finally:
            _HELD.pop(key, None)
            (self.out / HOLDER_FILE).unlink(missing_ok=True)
            lock.release()

    def _refuse_foreign(self) -> None:
        """StoreError if the directory holds files but no salesim manifest."""
        try:
            present = [p for p in self.out.iterdir() if p.name not in _BOOKKEEPING]
        except OSError as exc:
            raise io_error(self.out, exc, "read") from None
        if present and not self.manifest_path.exists():
            raise StoreError(
                f"--out {self.out}: directory holds files but no salesim manifest; "
                "choose an empty or new directory"
            )

    def holder(self) -> str:
        """Who holds the lock, as recorded by the holder ('another salesim process' if unknown)."""
        try:
            info = json.loads((self.out / HOLDER_FILE).read_text())
            return f"salesim {info['command']} (PID {int(info['pid'])} on {info['host']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another salesim process"

    # --- opening -----------------------------------------------------------------------------

    def open(self, cfg: SalesimConfig, resume: bool, digests: dict[str, str] | None = None) -> str:
        """Prepare the directory: 'new', 'resume' or 'complete'; refuse a foreign directory.

        Call with the lock held. 'complete' only says what the manifest claims; ``check``
        decides from the parts. ``digests``: ``input_digests(cfg)``, read once by the caller.
        """
        digests = input_digests(cfg) if digests is None else digests
        fp = fingerprint(cfg, digests)
        self.make_dir()
        self._refuse_foreign()
        if self.manifest_path.exists():
            try:
                manifest = self.manifest()
            except StoreError:
                if not resume or not self._rebuild_manifest(cfg, digests):
                    raise
                manifest = self.manifest()
            if manifest.get("fingerprint") != fp:
                changed = changed_inputs(manifest.get("data_files"), digests)
                if changed and manifest.get("config") == cfg.model_dump(mode="json"):
                    raise StoreError(
                        f"--out {self.out}: {shown(changed[0])} changed since this study started "
                        "(its SHA-256 differs from the one recorded); put the original back to "
                        "finish the study, or run the new data into another --out"
                    )
                raise StoreError(
                    f"--out {self.out}: holds a different experiment ({manifest.get('name')!r}, "
                    f"started {manifest.get('started')}); choose another directory"
                )
            if manifest.get("status") == "complete":
                return "complete"
            if not resume:
                raise StoreError(
                    f"--out {self.out}: holds an unfinished run of this experiment "
                    f"({manifest.get('runs', {}).get('done', 0)} runs stored); add --resume to "
                    "finish it"
                )
            self._clean()
            return "resume"
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise io_error(self.out, exc, "create") from None
        self.write_manifest(self._new_manifest(cfg, digests))
        return "new"

    def _new_manifest(self, cfg: SalesimConfig, digests: dict[str, str]) -> dict[str, Any]:
        return {
            "name": cfg.name,
            "fingerprint": fingerprint(cfg, digests),
            "status": "running",
            "started": now(),
            "ended": None,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "config": cfg.model_dump(mode="json"),
            "data_files": digests,
            "runs": {"planned": 0, "done": 0, "failed": 0},
            "sessions": [],
            "seeds": _seeds(cfg),
        }

    def _rebuild_manifest(self, cfg: SalesimConfig, digests: dict[str, str]) -> bool:
        """Replace a damaged manifest when every stored batch belongs to this experiment."""
        fp = fingerprint(cfg, digests)
        records = [self._record(n) for n in self.part_names()]
        if not records or any(r is None or r.get("fingerprint") != fp for r in records):
            return False
        manifest = self._new_manifest(cfg, digests)
        manifest.update(status="interrupted", rebuilt=now())
        self.write_manifest(manifest)
        return True

    def _clean(self) -> None:
        """Remove temporary files and parts whose batch record never landed."""
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
            for tmp in [*self.parts.glob(".*.tmp-*"), *self.out.glob(".*.tmp-*")]:
                tmp.unlink()
            recorded = set(self.part_names())
            for part in self.parts.glob("*.parquet"):
                if part.stem.split("-", 1)[-1] not in recorded:
                    part.unlink()
        except OSError as exc:
            raise io_error(self.out, exc, "clean up") from None

    # --- manifest ----------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """The manifest as stored; StoreError (one line) if it is missing, damaged or too big."""
        if not os.path.lexists(self.manifest_path):
            raise StoreError(f"{self.out}: no manifest.json; not a salesim results directory")
        try:
            data = read_capped(self.manifest_path, MAX_MANIFEST_BYTES, "a manifest")
        except ConfigError as exc:
            raise StoreError(str(exc)) from None
        try:
            manifest = json.loads(data)
        except (ValueError, RecursionError) as exc:  # truncated, not JSON, not UTF-8
            raise StoreError(
                f"{self.manifest_path}: damaged ({type(exc).__name__}: {cut(exc)}); "
                "finish the experiment with salesim run CONFIG --out DIR --resume, which "
                "rebuilds it from the stored batches"
            ) from None
        problem = _manifest_problem(manifest)
        if problem:
            raise StoreError(
                f"{self.manifest_path}: damaged (not a salesim manifest: {problem}); finish the "
                "experiment with salesim run CONFIG --out DIR --resume, which rebuilds it"
            )
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically."""
        try:
            atomic_write_bytes(self.manifest_path, json.dumps(manifest, indent=2).encode())
        except OSError as exc:
            raise io_error(self.out, exc, "write") from None

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        """Update fields of the manifest."""
        manifest = self.manifest()
        manifest.update(changes)
        self.write_manifest(manifest)
        return manifest

    # --- batches -----------------------------------------------------------------------------

    def _record_path(self, name: str) -> Path:
        return self.parts / f"batch-{name}.json"

    def _record(self, name: str) -> dict[str, Any] | None:
        """A batch record, or None if it is unreadable, too big or not of a record's shape."""
        try:
            record = json.loads(read_capped(self._record_path(name), MAX_RECORD_BYTES, "a record"))
        except (ConfigError, ValueError, RecursionError):
            return None
        return record if _record_problem(record) is None else None

    def part_names(self) -> list[str]:
        """Batches with a record on disk (verified or not), in plan order."""
        return sorted(
            p.name[len("batch-") : -len(".json")] for p in self.parts.glob("batch-*.json")
        )

    def check(self, fp: str, sizes: dict[str, int]) -> dict[str, str]:
        """Verify every recorded batch; return {damaged batch: why}.

        A batch is good when its record belongs to experiment ``fp``, holds the number of runs
        the plan gives it (``sizes``) and every part matches its checksum. Good batches go to
        ``self.good``; nothing is deleted (see ``discard``).
        """
        bad: dict[str, str] = {}
        self.good = {}
        for name in self.part_names():
            why = self._verify(name, fp, sizes.get(name))
            if why is None:
                self.good[name] = self._record(name)
            else:
                bad[name] = why
        return bad

    def _verify(self, name: str, fp: str, size: int | None) -> str | None:
        record = self._record(name)
        if record is None:
            return "its record is unreadable"
        if record.get("fingerprint") != fp:
            return "it belongs to another experiment"
        if size is not None and record.get("runs") != size:
            return f"it holds {record.get('runs')} runs, the plan gives it {size}"
        for kind, info in record.get("files", {}).items():
            path = self.parts / f"{kind}-{name}.parquet"
            if not os.path.lexists(path):
                return f"{path.name} is missing"
            try:
                if sha256(path) != info:
                    return f"{path.name} fails its checksum"
            except FileNotFoundError:
                return f"{path.name} is missing"
            except ConfigError as exc:
                return str(exc).replace(str(path), path.name)
            except OSError as exc:
                return f"{path.name} cannot be read ({exc.strerror})"
        if "runs" not in record.get("files", {}):
            return "its record lists no runs part"
        return None

    def discard(self, names: list[str]) -> None:
        """Delete batches (record first, then parts) so that they are run again."""
        try:
            for name in names:
                self._record_path(name).unlink(missing_ok=True)
                for kind in ("runs", *TABLES):
                    (self.parts / f"{kind}-{name}.parquet").unlink(missing_ok=True)
                self.good.pop(name, None)
        except OSError as exc:
            raise io_error(self.out, exc, "delete in") from None

    def has(self, name: str) -> bool:
        """Whether batch ``name`` is stored and verified."""
        return name in self.good

    def write_batch(
        self,
        name: str,
        fp: str,
        results: list[tuple[dict[str, Any], dict[str, pd.DataFrame]]],
        inputs: dict[str, str] | None = None,
    ) -> int:
        """Store one batch (parts, then its record); return how many of its runs failed.

        ``inputs``: the SHA-256 of each data file, as the batch's runs read it.
        """
        files = {}
        for kind in TABLES:
            frames = [tables[kind] for _, tables in results if kind in tables]
            if frames:
                table = pa.Table.from_pandas(
                    pd.concat(frames, ignore_index=True), preserve_index=False
                )
                files[kind] = atomic_write_table(self.parts / f"{kind}-{name}.parquet", table)
        records = pd.DataFrame([rec for rec, _ in results])
        files["runs"] = atomic_write_table(
            self.parts / f"runs-{name}.parquet", pa.Table.from_pandas(records, preserve_index=False)
        )
        failed = int((records["status"] != "ok").sum())
        record = {"fingerprint": fp, "runs": len(records), "failed": failed, "files": files}
        if inputs:
            record["data_files"] = inputs
        atomic_write_bytes(self._record_path(name), json.dumps(record).encode())
        self.good[name] = record
        return failed

    def read_runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All verified run records (or some columns of them), in plan order."""
        names = sorted(self.good)
        if not names:
            return pd.DataFrame()
        return pd.concat(
            [read_parquet(self.parts / f"runs-{n}.parquet", columns=columns) for n in names],
            ignore_index=True,
        )

    def counts(self) -> tuple[int, int]:
        """(runs stored and verified, of which failed), from the batch records."""
        records = self.good.values()
        return sum(r["runs"] for r in records), sum(r["failed"] for r in records)

    def batches_summary(self) -> dict[str, dict[str, Any]]:
        """Runs and checksums of every verified batch, for the manifest."""
        return {
            name: {"runs": r["runs"], "failed": r["failed"], "sha256": r["files"]}
            for name, r in sorted(self.good.items())
        }

    # --- consolidation -----------------------------------------------------------------------

    def _verified_parts(self, kind: str) -> list[Path]:
        files = [self.parts / f"{kind}-{n}.parquet" for n in sorted(self.good)]
        return [f for f in files if kind in self.good[f.stem.split("-", 1)[1]]["files"]]

    def _aligned(self, kind: str) -> Iterator[tuple[pa.Schema, pa.Table]]:
        """The verified parts of ``kind``, in plan order, cast to one schema."""
        files = self._verified_parts(kind)
        schemas = []
        for f in files:
            with open(f, "rb") as fh:
                schemas.append(pq.read_schema(fh))
        if not schemas:
            return
        schema = pa.unify_schemas(schemas, promote_options="permissive").remove_metadata()
        for f in files:
            with open(f, "rb") as fh:
                table = pq.read_table(fh).replace_schema_metadata(None)
            for name in schema.names:
                if name not in table.column_names:
                    table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
            yield schema, table.select(schema.names).cast(schema)

    def table(self, kind: str) -> pd.DataFrame:
        """A consolidated table built in memory from the verified parts (nothing is written)."""
        tables = [table for _, table in self._aligned(kind)]
        return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()

    def consolidate(self) -> dict[str, str]:
        """Write the consolidated tables from the verified parts; return their SHA-256.

        A table with no verified part is left as it is (never deleted): the manifest's
        checksums of the outputs say whether it can be trusted.
        """
        digests = {}
        for kind, target in (("runs", "runs.parquet"), *TABLES.items()):
            tmp = self.out / f".{target}.tmp-{os.getpid()}"
            writer = None
            try:
                with open(tmp, "wb") as fh:
                    for schema, table in self._aligned(kind):
                        writer = writer or pq.ParquetWriter(fh, schema)
                        writer.write_table(table)
                    if writer is None:
                        continue
                    writer.close()
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.out / target)
            finally:
                tmp.unlink(missing_ok=True)
            digests[target] = sha256(self.out / target)
        return digests

    def outputs_intact(self, manifest: dict[str, Any]) -> bool:
        """Whether the consolidated tables match the checksums the manifest recorded."""
        recorded = manifest.get("outputs") or {}
        if not recorded:
            return False
        try:
            return all(sha256(self.out / name) == digest for name, digest in recorded.items())
        except (OSError, ConfigError):
            return False


def _manifest_problem(manifest: Any) -> str | None:
    """What makes ``manifest`` not of a manifest's shape (None: it is one)."""
    if not isinstance(manifest, dict):
        return f"a JSON {type(manifest).__name__}, not an object"
    shapes = {
        "config": dict,
        "fingerprint": str,
        "status": str,
        "runs": dict,
        "sessions": list,
        "batches": dict,
        "outputs": dict,
        "data_files": dict,
        "rounds": int,
    }
    for key, kind in shapes.items():
        if key in manifest and not isinstance(manifest[key], kind):
            return f"{key} is a JSON {type(manifest[key]).__name__}"
    if "config" not in manifest:
        return "no config"
    runs = manifest.get("runs", {})
    for key in ("planned", "done", "failed"):
        if not isinstance(runs.get(key, 0), int) or isinstance(runs.get(key, 0), bool):
            return f"runs.{key} is not a count"
    if isinstance(manifest.get("rounds"), bool) or manifest.get("rounds", 1) < 0:
        return "rounds is not a count"
    if not all(isinstance(s, dict) for s in manifest.get("sessions", [])):
        return "a session is not an object"
    if not all(isinstance(v, str) for v in manifest.get("outputs", {}).values()):
        return "an output checksum is not text"
    return None


def _record_problem(record: Any) -> str | None:
    """What makes ``record`` not of a batch record's shape (None: it is one)."""
    if not isinstance(record, dict):
        return "not an object"
    if not isinstance(record.get("fingerprint"), str):
        return "no fingerprint"
    for key in ("runs", "failed"):
        if not isinstance(record.get(key), int) or isinstance(record.get(key), bool):
            return f"{key} is not a count"
    files = record.get("files")
    if not isinstance(files, dict) or not all(
        kind in ("runs", *TABLES) and isinstance(digest, str) for kind, digest in files.items()
    ):
        return "files is not a map of parts to checksums"
    return None
