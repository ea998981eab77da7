"""The default memory budget for a parsed table, importable without pandas (the CLI reads it at start-up).

The caller chooses the budget (the app from its settings, the CLI from ``--memory-budget-mb``); the core
reads no environment variable.
"""

DEFAULT_MEMORY_BUDGET_MB = 4096
DEFAULT_MEMORY_BUDGET_BYTES = DEFAULT_MEMORY_BUDGET_MB * 2**20
