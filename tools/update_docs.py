"""Regenerate the scene reference pages under docs/reference/ from schemas/scene.schema.json.

    python tools/update_docs.py          # rewrite docs/reference/
    python tools/update_docs.py --check  # exit 1 if docs/reference/ is stale

Run it after every schema change (tests/test_docs.py and tests/test_contract.py fail until then).
The scene reference used to sit in README.md (tools/update_readme.py, now a wrapper of this).
"""

from __future__ import annotations

import sys
from pathlib import Path

from scenerender.docs import reference_pages

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"


def stale() -> list[str]:
    """Pages that differ from the schema's, are missing, or are no longer generated."""
    pages = reference_pages()
    found = {p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*.md")} if REFERENCE.is_dir() else set()
    wrong = [name for name, text in pages.items()
             if not (REFERENCE / name).is_file() or (REFERENCE / name).read_text(encoding="utf-8") != text]
    return sorted(set(wrong) | (found - set(pages)))


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        if bad:
            print(f"docs/reference is stale ({', '.join(bad)}); run: python tools/update_docs.py", file=sys.stderr)
            return 1
        return 0
    pages = reference_pages()
    for old in REFERENCE.rglob("*.md") if REFERENCE.is_dir() else []:
        if old.relative_to(REFERENCE).as_posix() not in pages:
            old.unlink()
    for name, text in pages.items():
        (REFERENCE / name).parent.mkdir(parents=True, exist_ok=True)
        (REFERENCE / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
