"""The model's plug-ins by name: organisation designs and the monthly mechanisms of each slot.

The schema validates a name against these registries without importing any implementation;
the plug-ins fill them as they are imported (``@register`` in ``salesim.model.designs``,
``@register_mechanism`` in ``salesim.model.cycle``), and importing anything of
``salesim.model`` imports the built-in ones first (``salesim/model/__init__.py``), so a name is
known whenever a config can be read. A user's own design registers the same way.
"""

from __future__ import annotations

from typing import Any

#: Slots of the monthly cycle in the order they run: month-end slots, then month-start slots.
END_SLOTS = ("sales", "satisfaction", "field_work", "wallet", "churn", "channel", "newcomers")
START_SLOTS = ("declarations", "planning")
SLOTS = END_SLOTS + START_SLOTS

_DESIGNS: dict[str, Any] = {}
_MECHANISMS: dict[str, dict[str, Any]] = {slot: {} for slot in SLOTS}


def add_design(name: str, cls: Any) -> None:
    """Make ``cls`` the design called ``name``."""
    _DESIGNS[name] = cls


def remove_design(name: str) -> None:
    """Forget the design ``name`` (a notebook's or a test's own; absent names are ignored)."""
    _DESIGNS.pop(name, None)


def registered_designs() -> list[str]:
    """Names of the registered designs."""
    return sorted(_DESIGNS)


def unknown_design(name: object) -> str | None:
    """None for a registered design's name; otherwise what is wrong, with the allowed names.

    The one check of a design name: the schema, the experiment and ``make_design`` all ask it.
    """
    if isinstance(name, str) and name in _DESIGNS:
        return None
    return f"unknown design {name!r}; allowed: {', '.join(registered_designs())}"


def check_design(name: str) -> str:
    """``name`` if it is a registered design, else a ValueError naming the allowed ones."""
    problem = unknown_design(name)
    if problem:
        raise ValueError(problem)
    return name


def design_class(name: str) -> Any:
    """The class registered as design ``name`` (``unknown_design`` first: a KeyError here)."""
    return _DESIGNS[name]


def design_label(name: str) -> str:
    """A design's label for readers (its ``label``; the name if it has none or is unknown)."""
    cls = _DESIGNS.get(name)
    return getattr(cls, "label", "") or name


def add_mechanism(slot: str, name: str, cls: Any) -> None:
    """Make ``cls`` the mechanism ``name`` of ``slot``; a ValueError for an unknown slot."""
    if slot not in _MECHANISMS:
        raise ValueError(f"unknown slot {slot!r}; slots: {', '.join(SLOTS)}")
    _MECHANISMS[slot][name] = cls


def registered_mechanisms(slot: str) -> list[str]:
    """Names registered for ``slot``."""
    return sorted(_MECHANISMS[slot])


def unknown_mechanism(slot: str, name: object) -> str | None:
    """None for a mechanism registered in ``slot``; otherwise what is wrong, with the names."""
    if isinstance(name, str) and name in _MECHANISMS[slot]:
        return None
    allowed = ", ".join(registered_mechanisms(slot))
    return f"unknown mechanism {name!r}; allowed: {allowed}"


def mechanism_class(slot: str, name: str) -> Any:
    """The class registered as ``name`` in ``slot``."""
    return _MECHANISMS[slot][name]
