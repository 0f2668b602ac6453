"""Write the test Forge's prompt styles file: two styles, one with a {prompt} placeholder.

Test tooling only (standard library). Forge reads ``styles.csv`` from its data folder (the Forge
checkout, unless ``--data-dir``; or ``--styles-file``) with columns ``name, prompt,
negative_prompt`` (``modules/styles.py``). A style whose prompt contains ``{prompt}`` has the
user's prompt put in its place; the others are appended after a comma.

    python3 tests/forge_env/make_styles.py $FORGE_DIR/styles.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

# name, prompt, negative prompt. The names are what the styles dropdown shows.
STYLES = (
    ("test style appended", "oil painting, warm colours", "blurry, lowres"),
    ("test style wrapping", "a photo of {prompt}, studio light", "watermark"),
)


def write_styles(path: Path) -> None:
    """Write STYLES to `path` (atomically: a half-written file would lose styles in Forge)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(("name", "prompt", "negative_prompt"))
        writer.writerows(STYLES)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path, help="where to write the .csv file")
    args = ap.parse_args(argv)
    write_styles(args.output)
    print(f"wrote {args.output} ({len(STYLES)} styles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
