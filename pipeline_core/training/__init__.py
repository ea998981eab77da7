"""Fitting compiled pipelines: cross-validation, tuning, hold-out evaluation and clustering.

Every fitted step is fitted inside each fold, because the whole compiled pipeline is the estimator.
"""
