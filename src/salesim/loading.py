"""Reading config files: safe YAML, ``extends:`` and dotted ``KEY=VALUE`` overrides.

Nothing here knows the schema; ``salesim.config`` validates what these functions return. One
convention is read here: a key ending in ``_file`` (also a dotted one in a scenario) holds a
path relative to the config file that names it, so an ``extends:`` chain can spread data files
across folders; such paths are made absolute before the files are merged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from salesim.params import ConfigError


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely, turning parser errors into one line with file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        found = re.search(r"for the tag '([^']*)'", exc.problem or "")
        if found is None:  # e.g. "found unhashable key": malformed, not a tag
            raise ConfigError(f"{where}: malformed YAML: {exc.problem}") from None
        tag = found.group(1).replace("tag:yaml.org,2002:", "!!", 1)
        raise ConfigError(f"{where}: YAML tag {tag!r} is not allowed; use plain values") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=VALUE`` -> (["a", "b", "c"], value parsed as YAML scalar or list)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. model.staff.sales_staff=40")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"--set {text!r}: empty part in the dotted key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}") from None
    return parts, value


def apply_overrides(data: dict, overrides: list[str] | dict[str, Any] | None) -> dict:
    """Return a copy of ``data`` with dotted overrides applied (strings ``k=v`` or a dict)."""
    import copy

    data = copy.deepcopy(data) if data else {}
    items = (
        [parse_override(o) for o in overrides]
        if isinstance(overrides, list)
        else [(k.split("."), v) for k, v in (overrides or {}).items()]
    )
    for parts, value in items:
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {'.'.join(parts)}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def deep_merge(base: dict, top: dict) -> dict:
    """``top`` over ``base``, section by section."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_file_keys(data: Any, folder: Path) -> Any:
    """``data`` with every relative path under a ``*_file`` key made absolute from ``folder``."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if str(key).endswith("_file") and isinstance(value, str) and value.strip():
                value = str((folder / Path(value.strip()).expanduser()).resolve())
            out[key] = resolve_file_keys(value, folder)
        return out
    if isinstance(data, list):
        return [resolve_file_keys(item, folder) for item in data]
    return data


def read_config_data(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config file's mapping, with ``extends: OTHER.yaml`` (relative to it) merged underneath."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        raise ConfigError(f"{path}: the file is empty; expected a mapping with a 'model:' section")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    data = resolve_file_keys(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if base_path in _seen:
        raise ConfigError(f"{path}: extends: {parent} extends itself (a cycle)")
    return deep_merge(read_config_data(base_path, (*_seen, base_path)), data)
