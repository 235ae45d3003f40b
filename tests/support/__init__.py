"""Helpers shared by the tests: seeding topics, reading them back, the reference oracle."""
