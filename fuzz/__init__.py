"""Fuzzing ktrdump: structure-aware mutations of real traces (``python -m fuzz.run``)."""
