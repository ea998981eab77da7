"""Browser tests; a package so its module names (test_journey) cannot clash with tests/pages."""
