"""The README.md inside a model bundle: what the person who receives the zip reads first.

It is written from the bundle's own schema, rules and pins, so it cannot drift from what the zip holds:
how to install, load and predict, which columns the model reads, which rules the data should meet.
"""

from __future__ import annotations

from typing import Any

from pipeline_core.artifacts.bundle_schema import BundleSchema
from pipeline_core.definition.registry import ENSEMBLE_KINDS
from pipeline_core.definition.rules import parse_rules
from pipeline_core.errors import SpecError

MAX_LEVELS_SHOWN = 12


def bundle_readme(schema: BundleSchema, rules: list[dict[str, Any]], requirements: list[str],
                  metadata: dict[str, Any]) -> str:
    """Markdown for the bundle's README.md."""
    what = _what_it_predicts(schema, metadata)
    lines = [
        f"# {metadata.get('model') or 'Model'} from Pipeline Studio", "",
        what, "",
        "## Files", "",
        "- `model.skops`: the fitted scikit-learn pipeline (every preparation step and the model), saved with skops,",
        "  which loads only trusted types and never runs code from the file.",
        "- `schema.json`: the columns the model reads (name, type, dtype, allowed levels) and five example rows.",
        "- `rules.json`: the data-quality rules the pipeline's definition states.",
        "- `reference.json`: statistics of the training data (bins, counts, percentiles) for drift checks.",
        "- `metadata.json`: how the model was trained (definition, scores, versions).",
        "- `requirements.txt`: the exact package versions it was saved with.", "",
        "## Install", "",
        "Use Python 3.11 or later and a fresh virtual environment. The model loads only with the scikit-learn",
        "version it was saved with, so install the pinned versions:", "",
        "```bash",
        "python -m venv .venv && . .venv/bin/activate",
        "pip install /path/to/pipeline-studio        # the Pipeline Studio project (its repository or wheel)",
        "pip install -r requirements.txt",
        "```", "",
        "## Load and predict", "",
        "```python",
        "import pandas as pd",
        "from pipeline_core.artifacts.bundle import load_bundle",
        "",
        'bundle = load_bundle("this-bundle.zip")',
        'rows = pd.read_csv("new.csv")              # the columns below; extra columns are ignored',
        "predictions = bundle.pipeline.predict(rows)",
        *(["probabilities = bundle.pipeline.predict_proba(rows)   # one column per class, in bundle.schema.classes"]
          if schema.task == "classification" else []),
        "print(bundle.pipeline.predict(bundle.schema.example_frame()))   # the five example rows",
        "```", "",
        "From the command line: `python -m pipeline_core predict this-bundle.zip new.csv --out predictions.csv`.", "",
        "To see whether new data has moved away from the training data:", "",
        "```python",
        "from pipeline_core.analysis.drift import drift_from_reference",
        "",
        "print(drift_from_reference(bundle.reference, rows))   # PSI and KS per column, drifted flag",
        "```", "",
        "## Columns", "",
        "| column | type | dtype | allowed levels |",
        "| --- | --- | --- | --- |",
        *(f"| {_cell(c.name)} | {c.type} | {c.dtype or ''} | {_levels(c.levels)} |" for c in schema.columns), "",
        "## Quality rules", "",
        *([f"- {_rule(r)}" for r in rules] or ["The definition states no quality rules."]), "",
        "## Pinned requirements", "",
        "```", *requirements, "```", "",
    ]
    return "\n".join(lines)


def _what_it_predicts(schema: BundleSchema, metadata: dict[str, Any]) -> str:
    rows = metadata.get("training_rows")
    trained = f" It was trained on {rows:,} rows" if isinstance(rows, int) else " It was trained"
    trained += f" with scikit-learn {metadata['sklearn_version']}." if metadata.get("sklearn_version") else "."
    refit = metadata.get("refit_rows")
    if isinstance(refit, int):
        trained += (f" After its hold-out score it was refitted on all {refit:,} rows (training and hold-out), so "
                    "its hold-out scores describe the same configuration trained on fewer rows.")
    rounds = metadata.get("refit_rounds")
    if isinstance(rounds, int):
        trained += (f" Its rounds stopped early in cross-validation on rows each fold held aside; the saved model "
                    f"fits their mean, {rounds:,} rounds, on every row it was trained on.")
    trained += _members(metadata)
    if schema.task == "classification":
        classes = ", ".join(f"`{c}`" for c in schema.classes or [])
        return f"A classifier that predicts `{schema.target}` ({classes}) from {len(schema.columns)} columns." + trained
    if schema.task == "regression":
        return f"A regression model that predicts `{schema.target}` from {len(schema.columns)} columns." + trained
    return f"A {schema.task or 'clustering'} model over {len(schema.columns)} columns." + trained


def _levels(levels: list[str] | None) -> str:
    if not levels:
        return ""
    shown = ", ".join(_cell(v) for v in levels[:MAX_LEVELS_SHOWN])
    return shown + (f", … ({len(levels)} in all, see schema.json)" if len(levels) > MAX_LEVELS_SHOWN else "")


def _rule(rule: dict[str, Any]) -> str:
    """``column``: how the app words the rule, then its exact fields (as rules.json has them)."""
    params = ", ".join(f"{k}={v!r}" for k, v in rule.items() if k not in ("kind", "column"))
    try:
        described = parse_rules([rule])[0].describe()
    except SpecError:
        described = ""
    head = f"`{rule.get('column', '?')}`: " + (f"{described} — " if described else "")
    return head + f"{rule.get('kind', 'rule')}" + (f" ({params})" if params else "")


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _members(metadata: dict[str, Any]) -> str:
    """For an ensemble: the models it combines, with their weights (greedy selection's pick counts)."""
    members = (metadata.get("params") or {}).get("members") if metadata.get("model") in ENSEMBLE_KINDS else None
    if not members:
        return ""
    if isinstance(members, dict):
        listed = ", ".join(f"`{kind}` ×{count}" for kind, count in members.items())
        return f" It averages {len(members)} models' predictions, weighted by how often each was picked: {listed}."
    listed = ", ".join(f"`{kind}`" for kind in members)
    return f" It stacks {len(members)} models' predictions with a linear model: {listed}."
