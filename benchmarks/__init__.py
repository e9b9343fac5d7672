"""Benchmark harness: a load generator for chat-server, with a raw IRC mode for ngIRCd.

Run `python -m benchmarks.run --help`; see benchmarks/README.md.
"""
