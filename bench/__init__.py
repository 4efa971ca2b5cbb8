"""Benchmarks of pillow-web against references; run with ``python -m bench`` (see README.md)."""
