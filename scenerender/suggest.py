"""Suggestions for misspelt names ("did you mean ...?"), used by every stage's messages.

A leaf module: it imports nothing from scenerender, so any stage may use it.
"""

from __future__ import annotations

import difflib


def did_you_mean(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` when ``word`` is close to one of ``choices``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
