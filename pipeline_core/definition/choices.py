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
# How a regression model sees its target (``compiler.target``): "auto" takes the model's registry choice for a
# positive, right-skewed target and "none" otherwise; predictions are always in the target's own units.
TargetTransform = Literal["auto", "none", "log", "yeo_johnson"]
# How histogram boosting sees the labels a one-hot step encodes (``definition.steps.OneHot.boosting``): "auto" gives
# it one code column per label for regression and for classification from 500,000 training rows; "large" only from
# 500,000 rows whatever the task (what "auto" meant before schema 6); "one_hot" and "codes" always one way.
OneHotBoosting = Literal["auto", "large", "one_hot", "codes"]
# Which boosting model the preselected set holds when a TF-IDF step feeds the models (schema 7): "sparse" gives the
# slot to a model that takes TF-IDF's sparse columns as they are (LightGBM for histogram gradient boosting, its
# registry entry's ``with_text``); "preselected" keeps the set as it is (what a definition saved before meant).
TextModels = Literal["sparse", "preselected"]
# How the refit treats a model that stopped its rounds early in CV (schema 8, ``training.rounds``): "folds" fits the
# folds' mean rounds on every row, holding none aside; "stopping" stops again on a share of the refit's own rows
# (what a definition saved before meant).
RefitRounds = Literal["folds", "stopping"]
