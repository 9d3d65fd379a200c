"""Imported once by the render workers' fork server (:mod:`scenerender.workers`):
the heavy modules every worker needs, so each forked worker starts with them.

It also makes SIGINT and SIGTERM end a worker at once and silently: the
parent (which owns the outputs and cleans them up) reports an interruption in
one line, and a worker's Python traceback (KeyboardInterrupt raised wherever
it happened to be, even while the fork server was still starting it) must not
follow it on stderr. The fork server restores these handlers in every child.
"""

import os
import signal
import sys
import traceback

from .workers import warm_imports


def _quiet_exit(signum, _frame) -> None:
    os._exit(128 + signum)


def _quiet_when_orphaned(kind, value, tb) -> None:
    """A worker whose parent was interrupted before the worker had started finds the parent's
    pipes and semaphores gone while unpickling its start-up data: it ends, and says nothing."""
    starting = any(frame.f_code.co_name == "_main" and frame.f_code.co_filename.endswith("spawn.py")
                   for frame, _ in traceback.walk_tb(tb))
    if starting and issubclass(kind, (FileNotFoundError, EOFError, ConnectionError)):
        return
    sys.__excepthook__(kind, value, tb)


signal.signal(signal.SIGINT, _quiet_exit)
signal.signal(signal.SIGTERM, _quiet_exit)
sys.excepthook = _quiet_when_orphaned  # the fork server reports a failed start through it

warm_imports()
