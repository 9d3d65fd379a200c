"""The scene reference moved from README.md to docs/reference/ (one page per section and kind):
this runs tools/update_docs.py, so the old instruction still regenerates it.

    python tools/update_readme.py          # = python tools/update_docs.py
    python tools/update_readme.py --check  # = python tools/update_docs.py --check
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.argv[0] = str(Path(__file__).with_name("update_docs.py"))
    runpy.run_path(sys.argv[0], run_name="__main__")
