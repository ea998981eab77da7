"""The definition's closed choices as ``Literal`` types, in a module that imports nothing heavy.

:mod:`pipeline_core.definition.spec` types its fields with them; the pages and the CLI offer
``typing.get_args`` of them, so a new task or tuning method appears everywhere at once. They live
apart from ``spec`` because the CLI builds its parser from them and must start without scikit-learn.
"""

from __future__ import annotations

from typing import Literal

Task = Literal["auto", "classification", "regression", "clustering"]
TuningMethod = Literal["none", "grid", "random", "halving", "optuna"]
ThresholdMetric = Literal["balanced_accuracy", "f1_macro"]  # label-free: right whichever class is "positive"
