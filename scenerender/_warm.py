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

from .workers import warm_imports


def _quiet_exit(signum, _frame) -> None:
    os._exit(128 + signum)


signal.signal(signal.SIGINT, _quiet_exit)
signal.signal(signal.SIGTERM, _quiet_exit)

warm_imports()
