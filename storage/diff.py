"""Readable differences between two pipeline definitions.

The output starts with one line per changed path (``step 2.strategy: 'mean' → 'median'``, items counted
from 1 as the pages number them),
which is what a person scanning a version history wants, followed by a unified diff of the
indented, key-sorted JSON for the full picture. Lists are aligned by content, so inserting
a step reads as one added step rather than every later step "changed".
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from storage.models import PipelineVersion

_MAX_VALUE_CHARS = 80


def _definition_and_label(item: PipelineVersion | Mapping[str, Any], fallback: str) -> tuple[dict[str, Any], str]:
    if isinstance(item, PipelineVersion):
        return item.definition, f"version {item.version}"
    return dict(item), fallback


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_ITEM_NAMES = {"steps": "step", "rules": "rule", "models": "model"}


def _join(path: str, key: str | int) -> str:
    """``step 12.strategy``: list items are counted from 1, as the pages number steps, rules and models."""
    if isinstance(key, int):
        head, _, last = path.rpartition(".")
        item = f"{_ITEM_NAMES[last]} {key + 1}" if last in _ITEM_NAMES else f"{last} item {key + 1}"
        return f"{head}.{item}" if head else item
    return f"{path}.{key}" if path else key


def _dict_changes(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> Iterator[str]:
    for key in sorted(set(old) | set(new)):
        where = _join(path, key)
        if key not in old:
            yield f"{where}: added {_show(new[key])}"
        elif key not in new:
            yield f"{where}: removed (was {_show(old[key])})"
        else:
            yield from _changes(old[key], new[key], where)


def _list_changes(old: list[Any], new: list[Any], path: str) -> Iterator[str]:
    matcher = difflib.SequenceMatcher(a=[_canonical(v) for v in old], b=[_canonical(v) for v in new], autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(a1 - a0, b1 - b0)
        for offset in range(paired):
            yield from _changes(old[a0 + offset], new[b0 + offset], _join(path, b0 + offset))
        for index in range(b0 + paired, b1):
            yield f"{_join(path, index)}: added {_show(new[index])}"
        for index in range(a0 + paired, a1):
            yield f"{_join(path, index)}: removed (was {_show(old[index])})"


def _changes(old: Any, new: Any, path: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _dict_changes(old, new, path)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _list_changes(old, new, path)
    elif _canonical(old) != _canonical(new):
        yield f"{path or '(whole definition)'}: {_show(old)} → {_show(new)}"


def summarize_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per changed path, e.g. ``step 2.strategy: 'mean' → 'median'``."""
    return list(_changes(dict(old), dict(new), ""))


def diff_versions(
    a: PipelineVersion | Mapping[str, Any], b: PipelineVersion | Mapping[str, Any], *, context: int = 3
) -> list[str]:
    """What changed from ``a`` to ``b``: path-level summary, a blank line, then a unified JSON diff.

    Accepts versions or plain definitions; returns ``[]`` when the two are identical.
    """
    old, old_label = _definition_and_label(a, "a")
    new, new_label = _definition_and_label(b, "b")
    summary = summarize_changes(old, new)
    if not summary:
        return []
    old_lines = json.dumps(old, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    new_lines = json.dumps(new, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    unified = difflib.unified_diff(old_lines, new_lines, fromfile=old_label, tofile=new_label, lineterm="", n=context)
    return [*summary, "", *unified]
