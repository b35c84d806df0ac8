"""Reading config files: safe YAML, ``extends:`` and dotted ``KEY=VALUE`` overrides.

The YAML is read as a hostile user may have written it: Python tags never run, a key given twice is
an error (PyYAML keeps the last silently), the file must be a regular file (a FIFO would block),
and its size, its aliases' expansion and its nesting are limited before anything is built. Plain
values are typed by YAML 1.2, not 1.1 (``off`` is text, ``1e5`` a number, ``030`` refused).
Nothing here knows the schema; ``salesim.experiments.config`` validates what they return. One
convention is read here: a key ending in ``_file`` (also a dotted one in a scenario) holds a path
relative to the config file that names it, so an ``extends:`` chain can spread data files across
folders; such paths are made absolute before the files are merged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from salesim.model.inputs.files import cut, read_capped, resolved
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
    """``yaml.safe_load``'s loader, refusing duplicate keys, with YAML 1.2's implicit types."""

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


class _Ambiguous(yaml.YAMLError):
    """A plain scalar that YAML 1.1 and YAML 1.2 read differently (``030``, ``1:30``, ``0x10``)."""

    def __init__(self, text: str, mark: yaml.Mark) -> None:
        super().__init__(text)
        self.text, self.problem_mark = text, mark


def _refuse_ambiguous(loader: SafeLoader, node: yaml.ScalarNode) -> None:
    text = node.value
    try:
        old = yaml.safe_load(text)  # what YAML 1.1 (PyYAML, and so many tools) makes of it
    except yaml.YAMLError:
        old = text
    new: Any = text  # YAML 1.2: text, except 0x and 0o numbers and decimals with leading zeros
    if re.fullmatch(r"[-+]?0[xXoO][0-9a-fA-F]+", text):
        new = int(text, 0)
    elif re.fullmatch(r"[-+]?0[0-9]+", text):
        new = int(text, 10)
    number = next((v for v in (new, old) if isinstance(v, int | float)), None)
    raise _Ambiguous(
        f"{cut(text)} is read as {cut(repr(old))} by YAML 1.1 and as {cut(repr(new))} by YAML "
        f"1.2; write {'the number ' + repr(number) if number is not None else 'a decimal number'}"
        f", or '{cut(text)}' in quotes for text",
        node.start_mark,
    )


#: Implicit types by YAML 1.2's core schema: only true/false are booleans (``on``, ``no``,
#: ``off`` are text), no timestamps, ``1e5`` is a number. Integers YAML 1.1 reads otherwise
#: (leading zeros as octal, ``1:30`` as base 60, ``0x10``, ``1_000``) are refused, not guessed.
_AMBIGUOUS = "tag:salesim,2025:ambiguous"
_RESOLVERS = (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("tag:yaml.org,2002:int", r"[-+]?(?:0|[1-9][0-9]*)", list("-+0123456789")),
    (
        _AMBIGUOUS,
        r"[-+]?0[0-9_]+|[-+]?0[xXoObB][0-9a-fA-F_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
        r"|[-+]?[0-9][0-9]*_[0-9_]*(?:\.[0-9_]*)?",
        list("-+0123456789"),
    ),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+0123456789."),
    ),
)
SafeLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:merge"]
    for key, resolvers in _BASE.yaml_implicit_resolvers.items()
    if any(tag == "tag:yaml.org,2002:merge" for tag, _ in resolvers)
}
for _tag, _pattern, _first in _RESOLVERS:
    SafeLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _first)
SafeLoader.add_constructor(_AMBIGUOUS, _refuse_ambiguous)


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
    except _Ambiguous as exc:
        raise ConfigError(f"{where}:{exc.problem_mark.line + 1}: {exc.text}") from None
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
    """Parse a YAML file safely (file type, size, aliases, duplicate keys checked), in one line."""
    data = read_capped(path, MAX_CONFIG_BYTES, "a config file")
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
                value = str(resolved(folder / Path(value.strip()).expanduser(), f"{key}: {value}"))
            out[key] = resolve_file_keys(value, folder)
        return out
    if isinstance(data, list):
        return [resolve_file_keys(item, folder) for item in data]
    return data


def read_config_data(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """A config file's mapping, with ``extends: OTHER.yaml`` (relative to it) merged underneath."""
    path = Path(path)
    chain = _chain or (resolved(path),)
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
        raise ConfigError(f"{path}: extends: expected a file name, got {cut(repr(parent))}")
    base_path = resolved(path.parent / parent, f"{path}: extends: {parent}")
    if base_path in chain:
        names = " -> ".join(p.name for p in (*chain, base_path))
        what = "extends itself" if base_path == chain[-1] else "closes a cycle"
        raise ConfigError(f"{path}: extends: {parent} {what} ({names})")
    return deep_merge(read_config_data(base_path, (*chain, base_path)), data)


def config_chain(path: str | Path) -> list[Path]:
    """The files a config reads: itself and its ``extends:`` chain, resolved (for --out checks)."""
    chain, path = [], resolved(path)
    while path not in chain:
        chain.append(path)
        parent = (read_yaml(path) or {}).get("extends") if path.is_file() else None
        if not isinstance(parent, str):
            break
        path = resolved(path.parent / parent)
    return chain
