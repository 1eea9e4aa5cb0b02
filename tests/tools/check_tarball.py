"""Check a built collection tarball: what must be in it is there, and no development or test state leaked into it.

Usage: python -m tests.tools.check_tarball exchange_dr-recovery-X.Y.Z.tar.gz
"""

from __future__ import annotations

import fnmatch
import sys
import tarfile
from pathlib import Path

REQUIRED = ["MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml", "changelogs/changelog.yaml"]

# Patterns of files that belong to a developer's machine or a test run, never to what users install.
FORBIDDEN = [
    ".venv/*",
    ".collections/*",
    ".work/*",
    ".cache/*",
    ".git/*",
    ".ci/*",
    "*/__pycache__/*",
    "*.pyc",
    ".pytest_cache/*",
    ".ruff_cache/*",
    "ansible.cfg",
    "constraints.txt",
    "tests/output/*",
    "tests/integration/inventory.*",
    "reports/*",
    # simulator state folders: generated CA keys, per-host state, pid files, inventories of a running estate
    "*/state.json",
    "*/server.pid",
    "*/control.json",
    "*.key",
    "*.tar.gz",
    "changelogs/.plugin-cache.yaml",
]


def problems(tarball: Path) -> tuple[list[str], list[str]]:
    with tarfile.open(tarball) as archive:
        names = [m.name.removeprefix("./") for m in archive.getmembers() if m.isfile()]
    missing = [f"missing {required}" for required in REQUIRED if required not in names]
    leaked = [f"must not ship {name} (matches {pattern})" for name in names for pattern in FORBIDDEN if fnmatch.fnmatch(name, pattern)]
    return missing + leaked, names


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    tarball = Path(args[0])
    found, names = problems(tarball)
    for problem in found:
        print(f"{tarball.name}: {problem}")
    print(f"check_tarball: {tarball.name}: {len(names)} files, {tarball.stat().st_size} bytes, {len(found)} problem(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
