"""Render every plugin and role of the collection with ansible-doc; fail on any error, warning or plugin ansible-doc skips.

`ansible-doc --list` silently leaves out a plugin whose documentation does not load, so the list is cross-checked against the
files in plugins/ and roles/.

Usage: python -m tests.tools.check_docs exchange_dr.recovery
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# plugins/<folder> → ansible-doc plugin type. Action plugins are documented by the module of the same name.
PLUGIN_FOLDERS = {
    "modules": "module",
    "callback": "callback",
    "filter": "filter",
    "test": "test",
    "lookup": "lookup",
    "inventory": "inventory",
    "connection": "connection",
    "vars": "vars",
}
NOT_PLUGINS = {"__init__"}


def expected_plugins(plugin_type_folder: Path) -> set[str]:
    names = {p.stem for p in plugin_type_folder.glob("*") if p.suffix in {".py", ".ps1", ".yml"} and not p.stem.startswith("_")}
    return names - NOT_PLUGINS


def ansible_doc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "1"}
    return subprocess.run(["ansible-doc", *args], capture_output=True, text=True, env=env, check=False)


def check(collection: str) -> list[str]:
    problems: list[str] = []
    rendered = 0
    targets: list[tuple[str, str]] = []
    for folder, plugin_type in PLUGIN_FOLDERS.items():
        path = ROOT / "plugins" / folder
        if not path.is_dir():
            continue
        listing = ansible_doc("-t", plugin_type, "--list", "--json", collection)
        listed = {name.rsplit(".", 1)[-1] for name in json.loads(listing.stdout or "{}")} if listing.returncode == 0 else set()
        for missing in sorted(expected_plugins(path) - listed):
            problems.append(f"{plugin_type} {collection}.{missing}: present in plugins/{folder} but ansible-doc does not list it")
        targets.extend((plugin_type, f"{collection}.{name}") for name in sorted(listed))
    roles = ROOT / "roles"
    if roles.is_dir():
        targets.extend(("role", f"{collection}.{r.name}") for r in sorted(roles.iterdir()) if (r / "meta" / "argument_specs.yml").is_file())
    for plugin_type, name in targets:
        result = ansible_doc("-t", plugin_type, name)
        rendered += 1
        noise = [line for line in result.stderr.splitlines() if "[WARNING]" in line or "[ERROR]" in line or "ERROR!" in line]
        if result.returncode != 0 or noise or not result.stdout.strip():
            detail = "; ".join(noise) or result.stderr.strip() or "empty output"
            problems.append(f"{plugin_type} {name}: ansible-doc failed (rc={result.returncode}): {detail}")
    print(f"check_docs: rendered {rendered} plugin(s)/role(s) of {collection}", file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    found = check(args[0] if args else "exchange_dr.recovery")
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
