"""Stop a script that starts worker processes from its top level without a ``__main__`` guard.

Each worker of a process pool (forkserver, as spawn) imports the script that started it again;
without ``if __name__ == "__main__":`` the script's top level then starts a study in every
worker, and the pool dies with "a worker process died" and a forkserver traceback. The check
reads the script once, before any worker starts, and says in one line what to add.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ADVICE = (
    'put the call under `if __name__ == "__main__":` (each worker process imports the script '
    "again), or pass executor='sequential'"
)


def _is_main_test(node: ast.If) -> bool:
    test = node.test
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def _called_from_top_of(main_globals: dict) -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals is main_globals and frame.f_code.co_name == "<module>":
            return True
        frame = frame.f_back
    return False


def unguarded_script() -> str | None:
    """The path of the script running us from its top level with no ``__main__`` guard."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    # `python -m ...` (a spec) and notebooks or the REPL (no file) are not imported again.
    if main is None or not path or getattr(main, "__spec__", None) is not None:
        return None
    if not _called_from_top_of(vars(main)):
        return None
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    if any(isinstance(n, ast.If) and _is_main_test(n) for n in ast.walk(tree)):
        return None
    return path


def check_main_guard() -> None:
    """Exit at once with one line if worker processes would re-run an unguarded script."""
    path = unguarded_script()
    if path is not None:
        where = f"salesim: {path} starts worker processes at its top level"
        print(f"{where}: {ADVICE}", file=sys.stderr)
        raise SystemExit(2)
