"""Benchmarks, the load test and the fault tests (docs/performance.md); never run by `make test`."""
