"""Regenerate the README's generated tables (between `<!-- NAME:start -->` and `<!-- NAME:end -->`).

    python scripts/render_readme.py          # rewrite README.md
    python scripts/render_readme.py --check  # exit 1 if README.md is stale

The tables come from the code that enforces them (settings specs, the permission
list, the operation catalog), so the README cannot drift from behaviour.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.docs_tables import SECTIONS  # noqa: E402

README = ROOT / "README.md"


def render(text: str, sections: dict[str, Callable[[], str]]) -> str:
    for name, build in sections.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- {name}:start --> marker")
        replacement = r"\g<1>" + build().replace("\\", r"\\") + "\n" + r"\g<2>"
        text = pattern.sub(replacement, text)
    return text


def main(argv: list[str]) -> int:
    current = README.read_text()
    fresh = render(current, SECTIONS)
    if "--check" in argv:
        if fresh != current:
            print("README.md is stale: run `python scripts/render_readme.py`")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
