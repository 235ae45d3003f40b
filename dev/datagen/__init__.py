"""Dev- and test-only data generators (tests, bench/, examples/); never part of the shipped package."""
