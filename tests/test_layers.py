"""The package tree is the layer diagram: folders are layers and imports point down.

The folders are found by a glob, so a new folder fails here until it is given a place in
``LAYERS``; every import counts, at the top of a file, inside a function or under
``TYPE_CHECKING``. A package's ``__init__.py`` is its face: it may import the folders below it
(``salesim/model/__init__.py`` registers the built-in designs and mechanisms that way).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "salesim"

#: Folders of ``src/salesim``, the lowest layer first: what one replication is given, a
#: company's own files, the model's engine, the monthly mechanisms (plug-ins of the engine),
#: the experiment engine, the report, the browser page, and the command line at the top.
LAYERS = (
    "model/inputs",
    "model/own_data",
    "model",
    "model/mechanisms",
    "experiments",
    "report",
    "viz",
    ".",
)


def folder(path: Path) -> str:
    return path.parent.relative_to(SRC).as_posix()


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = modules()


def resolved(module: str, name: str) -> str:
    """What ``from module import name`` imports: a submodule if there is one, else ``module``."""
    return f"{module}.{name}" if f"{module}.{name}" in MODULES else module


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module imported) for every salesim import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, resolved(node.module, a.name)) for a in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "salesim"]


def rank(path: Path) -> int:
    return LAYERS.index(folder(path))


def test_every_folder_has_a_layer():
    folders = {folder(p) for p in SRC.rglob("*.py")}
    assert folders <= set(LAYERS), f"give these folders a place in LAYERS: {folders - set(LAYERS)}"
    assert set(LAYERS) <= folders, f"LAYERS names folders that are gone: {set(LAYERS) - folders}"


@pytest.mark.parametrize("name", sorted(MODULES), ids=sorted(MODULES))
def test_imports_point_down(name):
    path = MODULES[name]
    face = path.name == "__init__.py"
    up = []
    for line, target in imports(path):
        to = MODULES.get(target)
        assert to is not None, f"{name}:{line} imports {target}, which is not a module"
        below_its_face = face and folder(to).startswith(folder(path).rstrip(".") or "")
        if rank(to) > rank(path) and not below_its_face:
            up.append(f"{line}: {target} ({folder(to)})")
    assert not up, f"{name} ({folder(path)}) imports a higher layer: {up}"


def test_no_import_circle_between_files_at_run_time():
    """Imports that run (not TYPE_CHECKING) form no circle: each file builds on what it needs."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        typing_only = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for stmt in node.body
            for n in ast.walk(stmt)
        }
        graph[name] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [resolved(node.module, a.name) for a in node.names]
                if node.module and node.level == 0
                else []
            )
            graph[name] |= {n for n in names if n in MODULES and n != name}
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not circles, "\n".join(" -> ".join(c) for c in circles)
