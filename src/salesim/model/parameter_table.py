"""Every model parameter as a row: dotted name, default, unit, allowed values and meaning.

Read from the pydantic sections in ``salesim.model.inputs.params`` (the one place defaults, units
and bounds live), so ``salesim params`` and the parameter table in ``docs/model.md`` cannot drift
from the code. Every dotted name is a valid ``--set`` key.
"""

from __future__ import annotations

import shutil
import textwrap
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from salesim.model.inputs.params import ConfigError, ModelConfig


@dataclass(frozen=True)
class Row:
    """One parameter."""

    path: str
    default: str
    unit: str
    allowed: str
    description: str

    @property
    def section(self) -> str:
        """The dotted name of the section holding the parameter."""
        return self.path.rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        """The parameter's name within its section."""
        return self.path.rsplit(".", 1)[1]


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def show_value(value: Any) -> str:
    """A default as a person reads it (the YAML spelling for booleans and none)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, BaseModel):
        data = value.model_dump()
        if set(data) == {"distribution", "mean_hours", "cv"}:  # a ServiceTime
            cv = f" (cv {_number(data['cv'])})" if data["distribution"] == "lognormal" else ""
            return f"{data['distribution']} {_number(data['mean_hours'])} h{cv}"
        return ", ".join(f"{k} {show_value(v)}" for k, v in data.items())
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v) for v in value)
    return str(value)


def _bounds(metadata: list[Any]) -> str:
    low = high = None
    low_open = high_open = False
    items = []
    for m in metadata:
        if isinstance(m, at.Ge):
            low = m.ge
        elif isinstance(m, at.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, at.Le):
            high = m.le
        elif isinstance(m, at.Lt):
            high, high_open = m.lt, True
        elif isinstance(m, at.MinLen):
            items.append(f"at least {m.min_length} items")
        elif isinstance(m, at.MaxLen):
            items.append(f"at most {m.max_length} items")
    if low is not None and high is not None:
        text = (
            f"{'(' if low_open else '['}{_number(low)}, {_number(high)}{')' if high_open else ']'}"
        )
    elif low is not None:
        text = f"{'>' if low_open else '>='} {_number(low)}"
    elif high is not None:
        text = f"{'<' if high_open else '<='} {_number(high)}"
    else:
        text = ""
    return "; ".join([t for t in (text, *items) if t])


def _allowed(name: str, field: FieldInfo) -> str:
    """Allowed values: bounds, choices, or the keys a mapping takes."""
    annotation = field.annotation
    args = typing.get_args(annotation)
    optional = type(None) in args
    if name == "design":
        from salesim.model.inputs.registry import registered_designs

        return " | ".join(registered_designs())
    if typing.get_origin(annotation) is Literal:
        return " | ".join(str(a) for a in args)
    if annotation is bool:
        return "true | false"
    if typing.get_origin(annotation) is dict:
        return "a value per key shown"
    text = _bounds(field.metadata)
    if optional:
        return f"none, or {text}" if text else "none, or a value"
    return text


def _section_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _walk(section: BaseModel, prefix: str) -> list[Row]:
    """Rows of a section instance (its values are the defaults, nested ones included)."""
    rows: list[Row] = []
    for name, field in type(section).model_fields.items():
        path = f"{prefix}.{name}"
        value = getattr(section, name)
        if _section_class(field.annotation) is not None:
            rows.extend(_walk(value, path))
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        rows.append(
            Row(
                path=path,
                default=show_value(value),
                unit=str(extra.get("unit", "")),
                allowed=_allowed(name, field),
                description=field.description or "",
            )
        )
    return rows


def all_rows() -> list[Row]:
    """Every model parameter, in the order of the config file's sections."""
    return _walk(ModelConfig(), "model")


def section_classes() -> dict[str, type[BaseModel]]:
    """Dotted section name -> its class, nested sections included."""
    classes: dict[str, type[BaseModel]] = {}

    def visit(section: type[BaseModel], prefix: str) -> None:
        classes[prefix] = section
        for name, field in section.model_fields.items():
            inner = _section_class(field.annotation)
            if inner is not None:
                visit(inner, f"{prefix}.{name}")

    visit(ModelConfig, "model")
    return classes


def section_titles() -> dict[str, str]:
    """Dotted section name -> the first line of its docstring."""
    return {
        path: (cls.__doc__ or "").strip().splitlines()[0] for path, cls in section_classes().items()
    }


def rows(selection: str | None = None) -> list[Row]:
    """The parameters under ``selection`` (``staff``, ``model.staff`` or one parameter).

    Raises:
        ConfigError: when ``selection`` names no section or parameter.
    """
    everything = all_rows()
    if not selection:
        return everything
    key = selection if selection.split(".")[0] == "model" else f"model.{selection}"
    chosen = [r for r in everything if r.path == key or r.path.startswith(key + ".")]
    if not chosen:
        top = [
            name
            for name in ModelConfig.model_fields
            if _section_class(ModelConfig.model_fields[name].annotation)
        ]
        raise ConfigError(
            f"params: {selection!r} names no section or parameter; sections: {', '.join(top)}"
        )
    return chosen


# --- output -----------------------------------------------------------------------------------

COLUMNS = ("parameter", "default", "unit", "allowed")
#: Widest a column may grow before its text wraps.
MAX_WIDTH = {"parameter": 34, "default": 32, "unit": 16, "allowed": 22}
#: Narrower than this, the description goes on its own lines under the parameter.
MIN_DESCRIPTION = 36


def _grouped(selected: list[Row]) -> dict[str, list[Row]]:
    """Rows by section; a ServiceTime's fields stay with the section holding it.

    A nested section that declares ``own_table`` (a design's own staff) is a group of its own.
    """
    classes = section_classes()
    groups: dict[str, list[Row]] = {}
    for row in selected:
        section = row.section
        parent = section.rsplit(".", 1)[0]
        own = getattr(classes.get(section), "own_table", False)
        if parent != "model" and parent in classes and not own:  # e.g. model.requests.pm_service
            section = parent
        groups.setdefault(section, []).append(row)
    return groups


def _text_default(row: Row) -> str:
    # A mapping reads best one entry a line.
    return row.default.replace(", ", "\n") if ": " in row.default else row.default


def _wrap(text: str, width: int) -> list[str]:
    lines = [part for line in text.split("\n") for part in textwrap.wrap(line, width) or [""]]
    return lines or [""]


def text_table(selected: list[Row], width: int | None = None) -> str:
    """Aligned columns per section; long cells wrap, the description fills what is left."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    titles = section_titles()
    out: list[str] = []
    for section, group in _grouped(selected).items():
        cells = [
            {
                "parameter": r.path[len(section) + 1 :],
                "default": _text_default(r),
                "unit": r.unit,
                "allowed": r.allowed,
                "description": r.description,
            }
            for r in group
        ]
        widths = {
            c: min(MAX_WIDTH[c], max(len(c), *(max(map(len, x[c].split("\n"))) for x in cells)))
            for c in COLUMNS
        }
        room = width - (sum(widths.values()) + 2 * len(widths) + 2)
        inline = room >= MIN_DESCRIPTION
        columns = (*COLUMNS, "description") if inline else COLUMNS
        widths["description"] = room if inline else max(20, width - 6)
        if out:
            out.append("")
        out.append(f"{section}: {titles.get(section, '')}")
        header = {c: c for c in columns}
        for cell in [header, *cells]:
            wrapped = {c: _wrap(cell[c], widths[c]) for c in columns}
            for i in range(max(map(len, wrapped.values()))):
                parts = [
                    (wrapped[c][i] if i < len(wrapped[c]) else "").ljust(widths[c]) for c in columns
                ]
                out.append(("  " + "  ".join(parts)).rstrip())
            if not inline and cell is not header and cell["description"]:
                out.extend(
                    "      " + line for line in _wrap(cell["description"], widths["description"])
                )
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(selected: list[Row]) -> str:
    """One Markdown table per section, dotted names in full (for ``docs/model.md``)."""
    titles = section_titles()
    out: list[str] = []
    for section, group in _grouped(selected).items():
        if out:
            out.append("")
        out.append(f"**`{section}`**: {titles.get(section, '')}")
        out.append("")
        out.append("| parameter | default | unit | allowed | description |")
        out.append("| --- | --- | --- | --- | --- |")
        for r in group:
            cells = (f"`{r.path}`", r.default, r.unit, r.allowed, r.description)
            out.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(out)
