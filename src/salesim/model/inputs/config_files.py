"""Reading config files: safe YAML, ``extends:`` and dotted ``KEY=VALUE`` overrides.

The YAML is read as a hostile user may have written it: Python tags never run, a key given twice is
an error (PyYAML keeps the last silently), and the file's size, its aliases' expansion and its
nesting are limited before anything is built. ``1e5`` is a number, as in YAML 1.2. Nothing here
knows the schema; ``salesim.experiments.config`` validates what these functions return. One
convention is read here: a key ending in ``_file`` (also a dotted one in a scenario) holds a path
relative to the config file that names it, so an ``extends:`` chain can spread data files across
folders; such paths are made absolute before the files are merged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from salesim.model.inputs.params import ConfigError

#: Largest config file read, in bytes (the shipped ones are a few kB).
MAX_CONFIG_BYTES = 1_000_000
#: Most YAML nodes once aliases are expanded, and deepest nesting: an alias "bomb" of a few
#: hundred bytes otherwise expands to billions of values after it has been parsed.
MAX_YAML_NODES = 200_000
MAX_YAML_DEPTH = 40

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml also caps nesting


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping names the same key twice (PyYAML would keep the last silently)."""


class SafeLoader(_BASE):  # type: ignore[misc, valid-type]
    """``yaml.safe_load``'s loader, refusing duplicate keys and reading ``1e5`` as a number."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Build a mapping; a key given twice (not via a ``<<`` merge) is an error."""
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # unhashable: the base class says so
                continue
            if first is not key_node:
                raise _DuplicateKey(
                    f"first on line {first.start_mark.line + 1}",
                    first.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 reads 1e5 and 2E-3 as numbers; PyYAML (YAML 1.1) reads them as strings.
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _check_size(root: yaml.Node) -> None:
    """Refuse a node graph whose expansion (aliases copied out) is too large or too deep."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, closing = stack.pop()
        key = id(node)
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
            if isinstance(node, yaml.SequenceNode)
            else []
        )
        if closing:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise ConfigError(
                    f"aliases expand to more than {MAX_YAML_NODES:,} values (the limit)"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ConfigError("an alias refers to the node that contains it (a cycle)")
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"nested more than {MAX_YAML_DEPTH} levels deep (the limit)")
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text safely; every problem is a one-line ConfigError starting with ``where``.

    ``where`` names the source (a file, or ``--set KEY``); parser errors add the line number.
    """
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _check_size(node)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"{where}:{mark.line + 1}: {exc.problem} ({exc.context}); give each key once"
        ) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        at = f"{where}:{mark.line + 1}" if mark else where
        found = re.search(r"for the tag '([^']*)'", exc.problem or "")
        if found is None:  # e.g. "found unhashable key": malformed, not a tag
            raise ConfigError(f"{at}: malformed YAML: {exc.problem}") from None
        tag = found.group(1).replace("tag:yaml.org,2002:", "!!", 1)
        raise ConfigError(f"{at}: YAML tag {tag!r} is not allowed; use plain values") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{at}: malformed YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely (size, aliases, duplicate keys checked), errors in one line."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            # Read one byte past the limit, never the whole of a huge file or a device.
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; expected a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError:  # e.g. a NUL byte in the name
        raise ConfigError(f"{str(path)!r}: not a valid file name") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes, the limit for a config file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_yaml(text, str(path))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=VALUE`` -> (["a", "b", "c"], value parsed as YAML scalar or list)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. model.staff.sales_staff=40")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"--set {text!r}: empty part in the dotted key")
    value = parse_yaml(raw, f"--set {key}") if raw.strip() else ""
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
