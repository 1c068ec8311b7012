"""Test code shared by tests, scripts and benchmarks that is not a fixture."""
