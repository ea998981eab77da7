"""How many threads one model fit inside training may start: one.

Training already runs one fold per single-threaded Dask worker (one per core), and tuning and the final refit
share those cores with other jobs. Histogram gradient boosting and LightGBM start an OpenMP team of every core
for each fit, and BLAS does the same for linear models, so two parallel folds on two cores ran four busy
threads; OpenMP teams spin while they wait, and on a busy machine one boosting fold took 36.7 s against 0.56 s
for logistic regression (issue 20 point 7). Every fit in ``training`` runs inside :func:`fit_threads`.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

FIT_THREADS = 1


def fit_threads() -> threadpool_limits:
    """A context limiting OpenMP and BLAS in the calling thread's fits to :data:`FIT_THREADS`.

    Made per fit, not once: threadpoolctl finds the libraries loaded at that moment, and LightGBM brings its
    own OpenMP runtime when its model is first used.
    """
    return threadpool_limits(limits=FIT_THREADS)
