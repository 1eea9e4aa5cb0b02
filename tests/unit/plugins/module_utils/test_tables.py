"""One source of truth: the tables a module_util must carry as PowerShell (it cannot import Python) equal the controller's.

The controller's tables (plugin_utils) are the truth; the twins import them, and these tests hold the PowerShell copies
equal, so a key location or a state name changed in one place fails here until the other follows.
"""

from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import SERVICE_STATE_NAMES
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import (
    SETUP_REGISTRY_LOCATIONS,
    SETUP_UNINSTALL_CODES,
    UNINSTALL_ROOT,
)

UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"


def assignment(text: str, name: str) -> str:
    """The right-hand side of `$script:<name> = @(...)` / `@{...}` up to its closing bracket."""
    match = re.search(rf"^\$script:{name} = (@[({{])", text, re.MULTILINE)
    assert match, f"$script:{name} not found"
    opening = match.group(1)[1]
    closing = {"(": ")", "{": "}"}[opening]
    depth, start = 0, match.end() - 1
    for i in range(start, len(text)):
        depth += {opening: 1, closing: -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i]
    raise AssertionError(f"$script:{name} is not closed")


def test_exchange_state_setup_keys_are_the_controllers() -> None:
    text = (UTILS / "_ExchangeState.psm1").read_text()
    rows = re.findall(r"@\{ Version = '([^']+)'; Setup = '([^']+)'; Roles = '([^']+)' \}", assignment(text, "SetupKeys"))
    assert tuple(rows) == SETUP_REGISTRY_LOCATIONS
    assert tuple(re.findall(r"'([^']+)'", assignment(text, "UninstallCodes"))) == SETUP_UNINSTALL_CODES
    assert re.search(rf"^\$script:UninstallRoot = '{re.escape(UNINSTALL_ROOT)}'$", text, re.MULTILINE)


def test_the_2007_role_keys_are_under_v8_0_and_its_setup_key_is_exchange_setup() -> None:
    assert SETUP_REGISTRY_LOCATIONS[-1] == ("v8", r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup", r"HKLM:\SOFTWARE\Microsoft\Exchange\v8.0")


def test_service_state_names_are_the_controllers() -> None:
    text = (UTILS / "_Windows.psm1").read_text()
    pairs = dict(re.findall(r"^\s+(\w+) = '(\w+)'$", assignment(text, "ServiceStateNames"), re.MULTILINE))
    assert pairs == SERVICE_STATE_NAMES


def test_no_module_keeps_its_own_copy() -> None:
    """The Setup key read lives in _ExchangeState.psm1 only; state names in _Windows.psm1 only."""
    modules = Path(__file__).resolve().parents[4] / "plugins" / "modules"
    for script in [*modules.glob("*.ps1"), *UTILS.glob("*.psm1")]:
        text = script.read_text()
        if script.name != "_ExchangeState.psm1":
            assert "MsiInstallPath" not in text, f"{script.name} reads the Exchange Setup key itself"
        if script.name != "_Windows.psm1":
            assert not re.search(r"StartPending'?\s*=|'Start Pending'", text), f"{script.name} names service states itself"
