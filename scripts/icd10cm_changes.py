"""Write the ICD-10-CM changes between two releases, for the scrubber's date-of-service check.

simple-icd-10-cm carries one release. A claim for a visit before that release came into force
may carry a code the release has since deleted (valid then) or a code it added (not valid
then). This script compares the release the pinned package carries with an earlier one, taken
from the package's earlier wheel (e.g. `pip download --no-deps simple-icd-10-cm==1.4.0`), and
writes `src/medoffice/coding/data/icd10cm_changes.tsv`:

    python scripts/icd10cm_changes.py OLD_WHEEL --since 2025-10-01

Each row: `added`, `deleted` or `expanded` (billable before, a category with more specific
codes under it now), the code (with its dot), whether it is billable, and its description in
the release that has it (the older one for `deleted` and `expanded`). `--since` is the day the newer release's fiscal year
began (the day the added codes came into force and the deleted ones left).
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import simple_icd_10_cm as icd  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parent.parent / "src/medoffice/coding/data/icd10cm_changes.tsv"


def _codes() -> dict[str, tuple[bool, str]]:
    """The release loaded now: each code (chapters and blocks left out) -> (billable, text)."""
    return {
        code: (icd.is_leaf(code), icd.get_description(code))
        for code in icd.get_all_codes(with_dots=True)
        if not icd.is_chapter_or_block(code)
    }


def _release_files(folder: Path) -> tuple[str, str]:
    data = folder / "simple_icd_10_cm" / "data"
    codes = next(data.glob("code-list-*.txt"), None) or next(data.glob("*order*.txt"))
    tabular = next(data.glob("*tabular*.xml"))
    return str(codes), str(tabular)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_wheel", type=Path)
    parser.add_argument("--since", required=True, help="YYYY-MM-DD the newer release began")
    args = parser.parse_args()
    new = _codes()
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(args.old_wheel).extractall(folder)
        icd.change_version(*_release_files(Path(folder)), suppress_warnings=True)
        old = _codes()
    icd.change_version()
    rows = [("added", code, *new[code]) for code in sorted(new.keys() - old.keys())]
    rows += [("deleted", code, *old[code]) for code in sorted(old.keys() - new.keys())]
    rows += [
        ("expanded", code, *old[code])
        for code in sorted(old.keys() & new.keys())
        if old[code][0] and not new[code][0]
    ]
    with OUT.open("w", encoding="utf-8") as out:
        out.write(f"# ICD-10-CM changes in force from {args.since}: {args.old_wheel.name} -> ")
        out.write("the release simple-icd-10-cm carries; written by scripts/icd10cm_changes.py\n")
        out.write("change\tcode\tbillable\tdescription\n")
        for change, code, billable, text in rows:
            out.write(f"{change}\t{code}\t{'yes' if billable else 'no'}\t{text}\n")
    print(f"{len(rows)} changes written to {OUT}")


if __name__ == "__main__":
    main()
