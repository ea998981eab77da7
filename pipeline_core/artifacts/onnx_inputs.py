"""What an exported ONNX graph takes: one input per raw column the model reads, each with a documented type.

The graph does what the pipeline's first step (``prepare``) does to a column wherever ONNX can:
numbers that are infinite or beyond float32's range count as missing inside the graph, as in
training. What a graph cannot do is parse text, so the caller hands each column over as a typed
tensor of shape ``[rows, 1]``:

- numeric columns: ``tensor(double)``, NaN where missing;
- date columns: ``tensor(double)``, seconds since 1970-01-01 00:00:00 of the wall-clock time
  (time zone dropped, fractions of a second dropped), NaN where missing or unparsable;
- every other column: ``tensor(string)``, ``""`` where missing.

:func:`onnx_inputs` describes them (names, types, an example feed); :func:`input_feed` turns raw rows
into that feed with the very parsing the pipeline applies, which is what :func:`predict_onnx` uses.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

RESERVED = frozenset({"label", "probabilities", "variable"})  # the graph's output names
KIND_TYPES = {"numeric": "tensor(double)", "datetime": "tensor(double)"}
KIND_MEANING = {
    "numeric": "a number; NaN when missing (infinite values count as missing)",
    "datetime": "seconds since 1970-01-01 00:00:00 of the wall-clock date-time (time zone and fractions of a "
                "second dropped); NaN when missing",
}
TEXT_MEANING = "text; an empty string when missing"


@dataclass(frozen=True)
class OnnxInput:
    """One graph input: its name in the graph, the raw column it carries, its ONNX type and what a value means."""

    name: str
    column: str
    kind: str  # the column's type in the pipeline: numeric, datetime, categorical or text
    onnx_type: str  # tensor(double) or tensor(string), always of shape [rows, 1]
    meaning: str
    example: list[Any]  # a few values as the graph takes them (NaN written as null)


def onnx_inputs(pipeline: Any, sample: pd.DataFrame | None = None) -> list[OnnxInput]:
    """The inputs of the graph :func:`~pipeline_core.artifacts.onnx_export.to_onnx` writes for ``pipeline``.

    Examples come from the first rows of ``sample`` (raw rows) when given, else one typical value each.
    """
    prepare = pipeline[0]
    feed = input_feed(prepare, sample.head(2)) if sample is not None and len(sample) else None
    out = []
    for (column, kind), name in zip(prepare.types.items(), input_names(prepare), strict=True):
        if feed is not None:
            example = [None if isinstance(v, float) and np.isnan(v) else v for v in feed[name].ravel().tolist()]
        else:
            example = [{"numeric": 0.0, "datetime": 1_704_067_200.0}.get(kind, "")]
        out.append(OnnxInput(name, raw_name(prepare, column), kind, KIND_TYPES.get(kind, "tensor(string)"),
                             KIND_MEANING.get(kind, TEXT_MEANING), example))
    return out


def raw_name(prepare: Any, column: str) -> str:
    """The name the column has in the user's file (``prepare`` renames raw columns)."""
    back = {new: old for old, new in (prepare.rename or {}).items()}
    return str(back.get(column, column))


def input_names(prepare: Any) -> list[str]:
    """Graph input names, from the raw column names: ASCII letters, digits and ``_``, unique, not an output name.

    skl2onnx rewrites other names on its own, so the graph would not match what this says.
    """
    names, taken = [], set(RESERVED)
    for column in prepare.types:
        words = re.sub(r"\W+", "_", raw_name(prepare, column), flags=re.ASCII).strip("_") or "column"
        base = f"_{words}" if words[0].isdigit() else words
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names.append(name)
    return names


def input_feed(prepare: Any, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw rows as the graph's feed: ``prepare`` selects and casts them, dates become epoch seconds."""
    prepared = prepare.transform(frame)
    feed = {}
    for name, (column, kind) in zip(input_names(prepare), prepare.types.items(), strict=True):
        values = prepared[column]
        if kind == "numeric":
            feed[name] = values.to_numpy(dtype=np.float64).reshape(-1, 1)
        elif kind == "datetime":
            feed[name] = epoch_seconds(values).reshape(-1, 1)
        else:
            strings = values.astype(object).where(values.notna(), "").astype(str)
            feed[name] = strings.to_numpy(dtype=object).reshape(-1, 1)
    return feed


def epoch_seconds(values: pd.Series) -> np.ndarray:
    """Date-times (or text parsed as the date-parts step parses it) as float64 whole seconds since 1970; NaN if
    missing. Time-zone-aware values keep their wall-clock time, as their calendar parts do in pandas."""
    from pipeline_core.transformers import to_datetime

    stamps = to_datetime(values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    seconds = (stamps - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype=np.float64, na_value=np.nan)


def describe(inputs: list[OnnxInput]) -> str:
    """The inputs as Markdown for a person: a table, then an example feed in JSON."""
    lines = ["| input | column | type | value |", "|---|---|---|---|"]
    lines += [f"| `{i.name}` | {_cell(i.column)} | `{i.onnx_type}` [rows, 1] | {i.meaning} |" for i in inputs]
    feed = [f" {json.dumps(i.name)}: {json.dumps([[v] for v in i.example], default=str)}" for i in inputs]
    title = "Example feed (one list per input, one row per inner list; null stands for NaN):"
    return "\n".join([*lines, "", title, "", "```json", "{", ",\n".join(feed), "}", "```"])


def as_json(inputs: list[OnnxInput]) -> str:
    return json.dumps([asdict(i) for i in inputs], default=str)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def add_prepare_nodes(onnx_model: Any, inputs: list[OnnxInput], max_magnitude: float) -> None:
    """Make numeric inputs beyond ``max_magnitude`` (and infinities) NaN before anything reads them, as
    ``prepare`` does in memory. The graph input keeps its name; its readers read the cleaned value."""
    from onnx import TensorProto, helper

    graph = onnx_model.graph
    used = {n for node in graph.node for n in (*node.input, *node.output)}
    used |= {i.name for i in (*graph.initializer, *graph.input, *graph.output)}
    limit, missing = _fresh("max_magnitude", used), _fresh("not_a_number", used)
    added = []
    for item in (i for i in inputs if i.kind == "numeric"):
        clean, size, beyond = (_fresh(f"{item.name}_{s}", used) for s in ("prepared", "size", "beyond"))
        for node in graph.node:
            node.input[:] = [clean if n == item.name else n for n in node.input]
        added += [helper.make_node("Abs", [item.name], [size]),
                  helper.make_node("Greater", [size, limit], [beyond]),
                  helper.make_node("Where", [beyond, missing, item.name], [clean])]
    if not added:
        return
    graph.initializer.extend([helper.make_tensor(limit, TensorProto.DOUBLE, [], [max_magnitude]),
                              helper.make_tensor(missing, TensorProto.DOUBLE, [], [float("nan")])])
    nodes = [*added, *graph.node]  # first: nodes must be in an order that runs
    del graph.node[:]
    graph.node.extend(nodes)


def _fresh(base: str, used: set[str]) -> str:
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name
