"""Step order that trains but fails later: a step that needs values without gaps placed before the imputation.

A polynomial step before "Fill missing values" trains whenever the training rows happen to have no gaps
(a filter dropped them), then the model fails on the first new row with a missing value (issue 15 point 7).
The order is checked when the pipeline is edited, on the same column chains the compiler builds, and the
message says which step has to come first.
"""

from __future__ import annotations

from pipeline_core.compiler.compile import column_chains
from pipeline_core.definition import steps as st

GAP_TYPES = ("numeric", "datetime")  # the columns whose gaps reach the model as NaN (labels and text get a value)


def order_problems(steps: list[st.Step], types: dict[str, str]) -> list[str]:
    """One sentence per step that needs values without gaps but may receive some, naming what must precede it.

    ``types`` are the feature columns' semantic types. A column step is judged on each chain it sits in; a
    global step (after the column steps) on every numeric or date column.
    """
    problems: dict[int, str] = {}
    filled: set[str] = set()
    for chain, columns in column_chains(steps, types).items():
        gappy = [c for c in columns if types[c] in GAP_TYPES]
        if not gappy:
            continue
        imputed = False
        for index in chain:
            step = steps[index]
            if isinstance(step, st.Impute):
                imputed = True
            elif step.needs_filled and not imputed and index not in problems:
                problems[index] = _message(index, step, gappy)
        if imputed:
            filled.update(gappy)
    unfilled = [c for c, kind in types.items() if kind in GAP_TYPES and c not in filled]
    for index, step in enumerate(steps):
        if step.stage == "global" and step.needs_filled and unfilled:
            problems[index] = _message(index, step, unfilled)
    return [problems[i] for i in sorted(problems)]


def _message(index: int, step: st.Step, columns: list[str]) -> str:
    shown = ", ".join(columns[:4]) + (f" and {len(columns) - 4} more" if len(columns) > 4 else "")
    return (f"Step {index + 1} ({type(step).label}) needs values without gaps, but no 'Fill missing values' step "
            f"comes before it for {shown}. Add one above step {index + 1} (or move yours up): a new row with a missing "
            "value would otherwise fail at prediction, even if training never saw one.")
