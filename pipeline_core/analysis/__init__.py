"""Looking at data without training: profiles, quality rules, target leakage and drift."""
