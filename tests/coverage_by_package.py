"""Print branch coverage per package from a coverage data file (run by `make coverage`).

Usage: python tests/coverage_by_package.py [PACKAGE_DIR ...]
Without arguments, every directory holding measured files is listed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


def branch_totals(report: dict[str, object]) -> dict[str, tuple[int, int]]:
    """Covered and total branches per directory of the measured files."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    files = report["files"]
    assert isinstance(files, dict)
    for path, entry in files.items():
        summary = entry["summary"]
        package = str(Path(path).parent)
        totals[package][0] += summary["covered_branches"]
        totals[package][1] += summary["num_branches"]
    return {package: (covered, total) for package, (covered, total) in totals.items()}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "coverage.json"
        subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(out)], check=True)
        totals = branch_totals(json.loads(out.read_text()))
    wanted = argv or sorted(totals)
    print(f"{'package':<28} {'branches':>9} {'covered':>8} {'branch %':>9}")
    for package in wanted:
        covered, total = totals.get(package.rstrip("/"), (0, 0))
        share = f"{100 * covered / total:.1f}" if total else "-"
        print(f"{package:<28} {total:>9} {covered:>8} {share:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
