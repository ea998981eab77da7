"""Charts and reports without a UI: the Plotly figures the pages and the model report share, and the
self-contained HTML model report (plotly.js inlined, every value escaped, no network)."""
