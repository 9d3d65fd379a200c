"""Counts of hostile inputs tried in this test run, reported by conftest's
terminal summary ("fuzzed N scenes, M corpus inputs, ...")."""

from collections import Counter

COUNTS: Counter = Counter()
