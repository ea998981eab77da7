"""Pipeline Studio core: pipeline definitions that compile to scikit-learn.

Nothing here imports Streamlit or a database layer; the UI, the CLI and the job
runner all call the same functions.
"""

import warnings

# ydata-profiling warns at import that it is deprecated; users cannot act on it.
warnings.filterwarnings("ignore", message=".*ydata-profiling.*", category=Warning)
warnings.filterwarnings("ignore", module="ydata_profiling")

__version__ = "0.1.0"
