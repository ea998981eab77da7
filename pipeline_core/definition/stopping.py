"""Early stopping as each boosting library does it, and the same rounds fitted again on every row.

A configuration that stops early holds a share of its fit's rows aside and stops when their loss stops improving:
right for choosing the number of rounds inside a CV fold, wrong for the model that is saved, which would leave that
share unseen (issue 20 point 4: refit on all rows). So the folds' stopped rounds are recorded during CV and the
refit fits their mean on every row with stopping off, as AutoGluon's ``refit_full`` does (the mean of its bagged
models' rounds, not scaled). Measured on the suite's hotel_rates table (CatBoost, up to 10,000 rounds with a patience
of 300): the folds stopped at 4,229-7,222 rounds (mean 5,390); the refit that held a tenth aside stopped at 7,541 and
scored R² 0.9655 on the test rows, 5,390 rounds on every row 0.9667 (x1.25: 0.9669; the five fold models averaged:
0.9663).

One :class:`EarlyStopping` per family that can stop early, in its registry entry; the rounds are each library's
count of the rounds its fitted model predicts with, deterministic under the seed, so a re-run refits the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _on(value: Any) -> bool:
    """Whether a stopping parameter asks to stop: ``True`` or a positive number (not scikit-learn's ``"auto"``,
    which stops only from 10,000 rows, nor ``None``/``False``/0)."""
    return value is True or (isinstance(value, int | float) and not isinstance(value, bool) and value > 0)


@dataclass(frozen=True)
class EarlyStopping:
    """How one family stops early: ``rounds`` names the parameter that counts its rounds (a ceiling while it stops),
    ``off`` the parameters that ask for stopping with the values that turn it off (``None``: leave the parameter
    out), and ``stopped`` reads a fitted model's rounds when its fit stopped early (else ``None``)."""

    rounds: str
    off: dict[str, Any]
    stopped: Callable[[Any], int | None]

    def asked(self, params: dict[str, Any]) -> bool:
        """Whether ``params`` ask for stopping whatever the rows (every switch in ``off`` on)."""
        return all(_on(params.get(name)) for name in self.off)

    def fixed(self, params: dict[str, Any], rounds: int) -> dict[str, Any]:
        """``params`` fitting exactly ``rounds`` rounds on every row, holding none aside."""
        merged = {**params, **self.off, self.rounds: int(rounds)}
        return {name: value for name, value in merged.items() if value is not None}


# the readers are written into the standalone script as they are (``artifacts.codegen``): builtins only

def _hist_rounds(model: object) -> int | None:
    # ``n_iter_`` counts the rounds fitted, the patience's included: scikit-learn keeps them all and predicts with all
    return int(model.n_iter_) if getattr(model, "do_early_stopping_", False) else None


def _lightgbm_rounds(model: object) -> int | None:
    # ``best_iteration_`` is the round it predicts with; 0 when nothing was watched
    stopping = getattr(model, "validation_fraction", None) and getattr(model, "n_iter_no_change", None)
    return int(model.best_iteration_) if stopping and model.best_iteration_ else None


def _catboost_rounds(model: object) -> int | None:
    # with rows to watch CatBoost keeps the best round's trees (``use_best_model``): ``tree_count_`` is what it uses
    return int(model.tree_count_) if model.get_best_iteration() is not None else None


HIST_STOPPING = EarlyStopping("max_iter", {"early_stopping": False}, _hist_rounds)
LIGHTGBM_STOPPING = EarlyStopping("n_estimators", {"validation_fraction": None, "n_iter_no_change": None},
                                  _lightgbm_rounds)
CATBOOST_STOPPING = EarlyStopping("iterations", {"eval_fraction": None, "early_stopping_rounds": None},
                                  _catboost_rounds)
