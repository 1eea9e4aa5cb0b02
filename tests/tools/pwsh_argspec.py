"""A `pwsh` stand-in for one job only: ansible-test validate-modules' argument-spec extraction of PowerShell modules.

validate-modules runs `pwsh ps_argspec.ps1 <manifest json>` to load a module up to AnsibleModule.Create() and print the
merged argument spec as JSON. No PowerShell can run here, so this prints the same spec evaluated statically by
tests/tools/pscheck.py (the module's `$spec` literal merged with the shared specs it passes to Create()). Any other use of
`pwsh` fails loudly: this is not a PowerShell.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.tools import pscheck


def main(argv: list[str]) -> int:
    if len(argv) != 2 or Path(argv[0]).name != "ps_argspec.ps1":
        print(f"pwsh stand-in: only validate-modules' ps_argspec.ps1 is supported, not {' '.join(argv)!r}", file=sys.stderr)
        return 1
    manifest = json.loads(argv[1])
    script = pscheck.parse_script(Path(manifest["module_path"]))
    errors = pscheck.syntax_findings(script)
    if errors:
        print("\n".join(map(str, errors)), file=sys.stderr)
        return 1
    try:
        spec = pscheck.module_spec(script)[0]
    except pscheck.SpecError as error:
        print(f"{script.path}:{error.line}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
